// Reshape: a copy with a new shape (the data is contiguous, row-major).
#include "citadel/layers/reshape.hpp"

#include <algorithm>

#include "citadel/core/error.hpp"
#include "citadel/layers/layer_config.hpp"

namespace citadel {

Reshape::Reshape(std::vector<int64_t> target_shape, const ReshapeOptions& options)
    : target_shape_(std::move(target_shape)), options_(options) {
  CITADEL_CHECK(!target_shape_.empty() && target_shape_.size() < static_cast<size_t>(Shape::kMaxRank), ValueError,
                "Reshape: target_shape needs 1 to ", Shape::kMaxRank - 1, " dimensions, got ", target_shape_.size());
  CITADEL_CHECK(std::count(target_shape_.begin(), target_shape_.end(), -1) <= 1, ValueError,
                "Reshape: at most one dimension of target_shape may be -1");
  for (int64_t dim : target_shape_)
    CITADEL_CHECK(dim > 0 || dim == -1, ValueError, "Reshape: dimensions of target_shape must be positive or -1, got ",
                  dim);
}

std::optional<Shape> Reshape::declared_input_shape() const {
  if (options_.input_shape.empty()) return std::nullopt;
  return Shape(options_.input_shape);
}

Shape Reshape::build(const Shape& input_shape, ParameterStore&) {
  if (auto declared = declared_input_shape())
    CITADEL_CHECK(*declared == input_shape, ShapeError, name_, " (Reshape): declared input shape ", *declared,
                  " but the previous layer gives ", input_shape);
  int64_t known = 1;
  for (int64_t dim : target_shape_)
    if (dim != -1) known *= dim;
  std::vector<int64_t> dims = target_shape_;
  const auto unknown = std::find(dims.begin(), dims.end(), -1);
  if (unknown != dims.end()) {
    CITADEL_CHECK(input_shape.numel() % known == 0, ShapeError, name_, " (Reshape): cannot reshape ",
                  input_shape.batch_str(), " (", input_shape.numel(), " values) to a multiple of ", known);
    *unknown = input_shape.numel() / known;
    known *= *unknown;
  }
  CITADEL_CHECK(known == input_shape.numel(), ShapeError, name_, " (Reshape): cannot reshape ",
                input_shape.batch_str(), " (", input_shape.numel(), " values) to ", Shape(dims).batch_str(), " (",
                known, " values)");
  input_shape_ = input_shape;
  output_shape_ = Shape(dims);
  return output_shape_;
}

void Reshape::forward(ConstTensorView x, Tensor& y, Mode) {
  CITADEL_CHECK(x.rank() >= 2 && x.shape().without_batch() == input_shape_, ShapeError, name_,
                " (Reshape): expected input ", input_shape_.batch_str(), ", got ", x.shape());
  y.resize(output_shape_.with_batch(x.shape(0)));
  std::copy_n(x.data(), x.numel(), y.data());
}

void Reshape::backward(ConstTensorView dy, Tensor& dx) {
  dx.resize(input_shape_.with_batch(dy.shape(0)));
  std::copy_n(dy.data(), dy.numel(), dx.data());
}

std::unique_ptr<Layer> Reshape::from_config(const LayerConfigReader& config) {
  config.check_keys({"target_shape"});
  std::vector<int64_t> target_shape = config.dimensions("target_shape");
  return std::make_unique<Reshape>(std::move(target_shape), ReshapeOptions{config.input_shape()});
}

void Reshape::get_config(LayerConfigWriter& config) const { config.set_list("target_shape", target_shape_); }

}  // namespace citadel
