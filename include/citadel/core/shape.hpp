// Shape: the dimensions of a tensor, stored inline (no heap) so that passing shapes
// and views around in a training step never allocates.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <string>
#include <vector>

namespace citadel {

class Shape {
 public:
  static constexpr int kMaxRank = 8;

  Shape() = default;
  Shape(std::initializer_list<int64_t> dims);
  explicit Shape(const std::vector<int64_t>& dims);

  int rank() const { return rank_; }
  int64_t operator[](int axis) const { return dims_[axis]; }
  int64_t& operator[](int axis) { return dims_[axis]; }
  // Product of the dimensions; throws ShapeError on overflow or a negative dimension.
  int64_t numel() const;
  std::vector<int64_t> dims() const { return {dims_.begin(), dims_.begin() + rank_}; }
  // The shape with `batch` prepended: (batch, dims...).
  Shape with_batch(int64_t batch) const;
  // The shape without its first axis.
  Shape without_batch() const;
  std::string str() const;  // "(3, 4)"
  // With a leading batch axis of unknown size, as Keras prints it: "(None, 3, 4)".
  std::string batch_str() const;

  bool operator==(const Shape& other) const;
  bool operator!=(const Shape& other) const { return !(*this == other); }

 private:
  std::array<int64_t, kMaxRank> dims_{};
  int rank_ = 0;
};

std::ostream& operator<<(std::ostream& out, const Shape& shape);

}  // namespace citadel
