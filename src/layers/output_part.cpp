// OutputPart: copies its part out of the owner's packed rows, and its gradient back into
// an otherwise zero packed gradient (the graph adds the parts' gradients together).
#include "citadel/layers/output_part.hpp"

#include <algorithm>

#include "citadel/core/error.hpp"

namespace citadel {

OutputPart::OutputPart(int index, int64_t offset, const Shape& shape, bool keeps_mask)
    : index_(index), offset_(offset), shape_(shape), keeps_mask_(keeps_mask) {}

Shape OutputPart::build(const Shape& input_shape, ParameterStore&) {
  CITADEL_CHECK(input_shape.rank() == 1 && offset_ + shape_.numel() <= input_shape[0], ShapeError, name_,
                " (OutputPart): part ", index_, " of shape ", shape_, " at ", offset_, " does not fit a packed output ",
                input_shape);
  packed_width_ = input_shape[0];
  return shape_;
}

Layer::MaskRule OutputPart::output_mask_rule(std::span<const bool> inputs_masked) const {
  const bool masked = !inputs_masked.empty() && inputs_masked[0];
  return masked && keeps_mask_ ? MaskRule::kSameAsInput : MaskRule::kNone;
}

void OutputPart::forward(ConstTensorView x, Tensor& y, Mode) {
  CITADEL_CHECK(x.rank() == 2 && x.shape(1) == packed_width_, ShapeError, name_, " (OutputPart): expected (N, ",
                packed_width_, "), got ", x.shape());
  const int64_t N = x.shape(0), width = shape_.numel();
  y.resize(shape_.with_batch(N));
  for (int64_t n = 0; n < N; ++n) std::copy_n(x.data() + n * packed_width_ + offset_, width, y.data() + n * width);
}

void OutputPart::backward(ConstTensorView dy, Tensor& dx) {
  const int64_t N = dy.shape(0), width = shape_.numel();
  dx.resize(Shape{N, packed_width_});
  dx.fill(0.0f);
  for (int64_t n = 0; n < N; ++n) std::copy_n(dy.data() + n * width, width, dx.data() + n * packed_width_ + offset_);
}

}  // namespace citadel
