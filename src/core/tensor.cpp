// Tensor storage: aligned allocation, deep copies, and views of row ranges.
#include "citadel/core/tensor.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "citadel/core/error.hpp"

namespace citadel {
namespace {

constexpr size_t kAlignment = 64;  // one cache line; also what AVX-512 loads prefer

float* allocate_aligned(int64_t count) {
  if (count == 0) count = 1;  // keep defined() true for empty tensors
  size_t bytes = static_cast<size_t>(count) * sizeof(float);
  bytes = (bytes + kAlignment - 1) / kAlignment * kAlignment;
  void* pointer = std::aligned_alloc(kAlignment, bytes);
  CITADEL_CHECK(pointer != nullptr, Error, "out of memory allocating ", bytes, " bytes");
  return static_cast<float*>(pointer);
}

Shape rows_shape(const Shape& shape, int64_t begin, int64_t end) {
  CITADEL_CHECK(shape.rank() >= 1 && 0 <= begin && begin <= end && end <= shape[0], ShapeError,
                "rows [", begin, ", ", end, ") out of range for shape ", shape);
  Shape result = shape;
  result[0] = end - begin;
  return result;
}

int64_t row_size(const Shape& shape) { return shape[0] == 0 ? 0 : shape.numel() / shape[0]; }

}  // namespace

void Tensor::AlignedFree::operator()(float* pointer) const { std::free(pointer); }

TensorView TensorView::rows(int64_t begin, int64_t end) const {
  Shape shape = rows_shape(shape_, begin, end);
  return {data_ + begin * row_size(shape_), shape};
}

std::vector<ConstTensorView> rows_of(const std::vector<ConstTensorView>& tensors, int64_t begin, int64_t end) {
  std::vector<ConstTensorView> result;
  result.reserve(tensors.size());
  for (const ConstTensorView& tensor : tensors) result.push_back(tensor.rows(begin, end));
  return result;
}

ConstTensorView ConstTensorView::rows(int64_t begin, int64_t end) const {
  Shape shape = rows_shape(shape_, begin, end);
  return {data_ + begin * row_size(shape_), shape};
}

Tensor::Tensor(const Shape& shape) : shape_(shape) {
  capacity_ = shape.numel();
  data_.reset(allocate_aligned(capacity_));
  std::fill_n(data_.get(), capacity_, 0.0f);
}

Tensor::Tensor(const Shape& shape, const std::vector<float>& values) : Tensor(shape) {
  CITADEL_CHECK(static_cast<int64_t>(values.size()) == shape.numel(), ShapeError, "shape ", shape,
                " needs ", shape.numel(), " values, got ", values.size());
  std::copy(values.begin(), values.end(), data_.get());
}

Tensor Tensor::full(const Shape& shape, float value) {
  Tensor tensor(shape);
  tensor.fill(value);
  return tensor;
}

Tensor Tensor::from(ConstTensorView view) {
  Tensor tensor(view.shape());
  std::copy_n(view.data(), view.numel(), tensor.data());
  return tensor;
}

Tensor::Tensor(const Tensor& other) : shape_(other.shape_) {
  if (!other.defined()) return;
  capacity_ = shape_.numel();
  data_.reset(allocate_aligned(capacity_));
  std::copy_n(other.data(), capacity_, data_.get());
}

Tensor& Tensor::operator=(const Tensor& other) {
  if (this == &other) return *this;
  if (!other.defined()) {
    *this = Tensor();
    return *this;
  }
  resize(other.shape_);
  std::copy_n(other.data(), shape_.numel(), data_.get());
  return *this;
}

void Tensor::resize(const Shape& shape) {
  int64_t needed = shape.numel();
  if (!defined() || needed > capacity_) {
    data_.reset(allocate_aligned(needed));
    capacity_ = needed;
  }
  shape_ = shape;
}

void Tensor::reshape(const Shape& shape) {
  CITADEL_CHECK(shape.numel() == shape_.numel(), ShapeError, "cannot reshape ", shape_, " (",
                shape_.numel(), " elements) to ", shape, " (", shape.numel(), " elements)");
  shape_ = shape;
}

void Tensor::fill(float value) { std::fill_n(data_.get(), shape_.numel(), value); }

std::vector<float> Tensor::to_vector() const {
  if (!defined()) return {};
  return {data(), data() + numel()};
}

}  // namespace citadel
