// Tensor: dense float32 storage, row-major and batch-first, 64-byte aligned. Copying a
// Tensor copies its data; TensorView and ConstTensorView pass data without copying.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "citadel/core/shape.hpp"

namespace citadel {

class Tensor;

// A non-owning, writable window on contiguous float data.
class TensorView {
 public:
  TensorView() = default;
  TensorView(float* data, const Shape& shape) : data_(data), shape_(shape) {}
  TensorView(Tensor& tensor);  // NOLINT(google-explicit-constructor): views are cheap

  float* data() const { return data_; }
  const Shape& shape() const { return shape_; }
  int64_t shape(int axis) const { return shape_[axis]; }
  int rank() const { return shape_.rank(); }
  int64_t numel() const { return shape_.numel(); }
  bool empty() const { return data_ == nullptr; }
  float& operator[](int64_t index) const { return data_[index]; }
  // Rows [begin, end) of the first axis.
  TensorView rows(int64_t begin, int64_t end) const;

 private:
  float* data_ = nullptr;
  Shape shape_;
};

// A non-owning, read-only window on contiguous float data.
class ConstTensorView {
 public:
  ConstTensorView() = default;
  ConstTensorView(const float* data, const Shape& shape) : data_(data), shape_(shape) {}
  ConstTensorView(const Tensor& tensor);     // NOLINT(google-explicit-constructor)
  ConstTensorView(const TensorView& view)    // NOLINT(google-explicit-constructor)
      : data_(view.data()), shape_(view.shape()) {}

  const float* data() const { return data_; }
  const Shape& shape() const { return shape_; }
  int64_t shape(int axis) const { return shape_[axis]; }
  int rank() const { return shape_.rank(); }
  int64_t numel() const { return shape_.numel(); }
  bool empty() const { return data_ == nullptr; }
  float operator[](int64_t index) const { return data_[index]; }
  ConstTensorView rows(int64_t begin, int64_t end) const;

 private:
  const float* data_ = nullptr;
  Shape shape_;
};

class Tensor {
 public:
  Tensor() = default;
  // A zero-filled tensor.
  explicit Tensor(const Shape& shape);
  // A tensor holding `values` (row-major); their count must match the shape.
  Tensor(const Shape& shape, const std::vector<float>& values);
  static Tensor full(const Shape& shape, float value);
  static Tensor from(ConstTensorView view);

  Tensor(const Tensor& other);
  Tensor& operator=(const Tensor& other);
  Tensor(Tensor&& other) noexcept = default;
  Tensor& operator=(Tensor&& other) noexcept = default;
  ~Tensor() = default;

  bool defined() const { return data_ != nullptr; }
  const Shape& shape() const { return shape_; }
  int64_t shape(int axis) const { return shape_[axis]; }
  int rank() const { return shape_.rank(); }
  int64_t numel() const { return shape_.numel(); }
  float* data() { return data_.get(); }
  const float* data() const { return data_.get(); }
  float& operator[](int64_t index) { return data_[index]; }
  float operator[](int64_t index) const { return data_[index]; }
  // Element (row, col) of a rank-2 tensor.
  float& at(int64_t row, int64_t col) { return data_[row * shape_[1] + col]; }
  float at(int64_t row, int64_t col) const { return data_[row * shape_[1] + col]; }

  // Changes the shape; keeps the storage (contents unspecified) when it is large
  // enough, so buffers reused across batches allocate only when they grow.
  void resize(const Shape& shape);
  // Same data, new shape with the same element count.
  void reshape(const Shape& shape);
  void fill(float value);
  std::vector<float> to_vector() const;

  TensorView view() { return {data(), shape_}; }
  ConstTensorView view() const { return {data(), shape_}; }
  TensorView rows(int64_t begin, int64_t end) { return view().rows(begin, end); }
  ConstTensorView rows(int64_t begin, int64_t end) const { return view().rows(begin, end); }

 private:
  struct AlignedFree {
    void operator()(float* pointer) const;
  };
  Shape shape_;
  std::unique_ptr<float[], AlignedFree> data_;
  int64_t capacity_ = 0;
};

// Rows [begin, end) of each of several tensors (a model's inputs, or its targets): a batch.
std::vector<ConstTensorView> rows_of(const std::vector<ConstTensorView>& tensors, int64_t begin, int64_t end);

inline TensorView::TensorView(Tensor& tensor) : data_(tensor.data()), shape_(tensor.shape()) {}
inline ConstTensorView::ConstTensorView(const Tensor& tensor)
    : data_(tensor.data()), shape_(tensor.shape()) {}

}  // namespace citadel
