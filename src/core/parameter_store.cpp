// Flat parameter and gradient buffers, handed out as views by parameter id.
#include "citadel/core/parameter_store.hpp"

#include <algorithm>

#include "citadel/core/error.hpp"

namespace citadel {

int ParameterStore::declare(const std::string& name, const Shape& shape,
                            const std::string& initializer) {
  CITADEL_CHECK(!allocated_, ValueError, "parameter '", name,
                "' declared after the parameter store was allocated");
  parameters_.push_back({name, shape, size_, initializer});
  size_ += shape.numel();
  return static_cast<int>(parameters_.size()) - 1;
}

void ParameterStore::allocate() {
  values_ = Tensor(Shape{size_});
  grads_ = Tensor(Shape{size_});
  allocated_ = true;
}

TensorView ParameterStore::value(int id) {
  CITADEL_ASSERT(allocated_ && id >= 0 && id < static_cast<int>(parameters_.size()),
                 "bad parameter id ", id);
  const auto& info = parameters_[id];
  return {values_.data() + info.offset, info.shape};
}

ConstTensorView ParameterStore::value(int id) const {
  CITADEL_ASSERT(allocated_ && id >= 0 && id < static_cast<int>(parameters_.size()),
                 "bad parameter id ", id);
  const auto& info = parameters_[id];
  return {values_.data() + info.offset, info.shape};
}

TensorView ParameterStore::grad(int id) {
  CITADEL_ASSERT(allocated_ && id >= 0 && id < static_cast<int>(parameters_.size()),
                 "bad parameter id ", id);
  const auto& info = parameters_[id];
  return {grads_.data() + info.offset, info.shape};
}

void ParameterStore::zero_grad() {
  if (allocated_) std::fill_n(grads_.data(), size_, 0.0f);
}

}  // namespace citadel
