// Shape arithmetic and printing.
#include "citadel/core/shape.hpp"

#include <ostream>

#include "citadel/core/error.hpp"

namespace citadel {

namespace {

// Fills dims/rank from any range, with checks; never allocates (shapes are made in
// training steps).
template <typename Range>
void assign_dims(const Range& source, std::array<int64_t, Shape::kMaxRank>& dims, int& rank) {
  CITADEL_CHECK(source.size() <= Shape::kMaxRank, ShapeError, "a shape has at most ",
                Shape::kMaxRank, " axes, got ", source.size());
  rank = 0;
  for (int64_t dim : source) {
    CITADEL_CHECK(dim >= 0, ShapeError, "shape dimension ", rank, " is negative (", dim, ")");
    dims[rank++] = dim;
  }
}

}  // namespace

Shape::Shape(std::initializer_list<int64_t> dims) { assign_dims(dims, dims_, rank_); }

Shape::Shape(const std::vector<int64_t>& dims) { assign_dims(dims, dims_, rank_); }

int64_t Shape::numel() const {
  int64_t product = 1;
  for (int i = 0; i < rank_; ++i) {
    CITADEL_CHECK(dims_[i] >= 0, ShapeError, "shape ", str(), " has a negative dimension");
    CITADEL_CHECK(!__builtin_mul_overflow(product, dims_[i], &product), ShapeError,
                  "shape ", str(), " has more elements than fit in 64 bits");
  }
  return product;
}

Shape Shape::with_batch(int64_t batch) const {
  CITADEL_CHECK(rank_ < kMaxRank, ShapeError, "cannot add a batch axis to ", str());
  CITADEL_CHECK(batch >= 0, ShapeError, "batch size is negative (", batch, ")");
  Shape result;
  result.rank_ = rank_ + 1;
  result.dims_[0] = batch;
  for (int i = 0; i < rank_; ++i) result.dims_[i + 1] = dims_[i];
  return result;
}

Shape Shape::without_batch() const {
  CITADEL_CHECK(rank_ >= 1, ShapeError, "a scalar shape has no batch axis");
  Shape result;
  result.rank_ = rank_ - 1;
  for (int i = 1; i < rank_; ++i) result.dims_[i - 1] = dims_[i];
  return result;
}

std::string Shape::str() const {
  std::string text = "(";
  for (int i = 0; i < rank_; ++i) {
    if (i > 0) text += ", ";
    text += std::to_string(dims_[i]);
  }
  if (rank_ == 1) text += ",";
  return text + ")";
}

std::string Shape::batch_str() const {
  std::string text = "(None";
  for (int i = 0; i < rank_; ++i) text += ", " + std::to_string(dims_[i]);
  return text + ")";
}

bool Shape::operator==(const Shape& other) const {
  if (rank_ != other.rank_) return false;
  for (int i = 0; i < rank_; ++i)
    if (dims_[i] != other.dims_[i]) return false;
  return true;
}

std::ostream& operator<<(std::ostream& out, const Shape& shape) { return out << shape.str(); }

}  // namespace citadel
