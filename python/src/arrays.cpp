// numpy arrays in and out without needless copies.
#include <memory>

#include "bindings.hpp"
#include <citadel/core/error.hpp>
#include <citadel/core/shape.hpp>

namespace citadel::python {

ConstTensorView view_of(const FloatArray& array, const char* argument) {
  CITADEL_CHECK(array.ndim() >= 1 && array.ndim() <= Shape::kMaxRank, ShapeError, argument, ": expected an array of 1 to ",
                Shape::kMaxRank, " dimensions, got ", array.ndim());
  std::vector<int64_t> dims(array.shape(), array.shape() + array.ndim());
  return {array.data(), Shape(dims)};
}

py::array_t<float> to_numpy(Tensor tensor) {
  auto owner = std::make_unique<Tensor>(std::move(tensor));
  const Shape& shape = owner->shape();
  std::vector<py::ssize_t> dims(static_cast<size_t>(shape.rank()));
  for (int axis = 0; axis < shape.rank(); ++axis) dims[size_t(axis)] = shape[axis];
  float* data = owner->data();
  // The capsule frees the tensor when numpy releases the array.
  py::capsule capsule(owner.get(), [](void* pointer) { delete static_cast<Tensor*>(pointer); });
  owner.release();
  return py::array_t<float>(dims, data, capsule);
}

}  // namespace citadel::python
