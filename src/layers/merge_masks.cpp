// How merge layers combine their inputs' masks, as Keras 3 does (base_merge.compute_mask
// and Concatenate.compute_mask): OR over the inputs, or concatenation along the time axis.
#include <algorithm>

#include "citadel/core/error.hpp"
#include "citadel/layers/merge.hpp"

namespace citadel {

namespace {

// The (N, T) mask of input k: its own, or all kept when it has none.
float kept(std::span<const ConstTensorView> masks, size_t k, int64_t i) {
  return masks[k].empty() ? 1.0f : masks[k][i];
}

// OR of the masks present (each (N, T)); an input without one keeps every step.
void or_masks(std::span<const ConstTensorView> inputs, std::span<const ConstTensorView> masks, Tensor& mask) {
  const int64_t N = inputs[0].shape(0), T = inputs[0].shape(1);
  mask.resize(Shape{N, T});
  for (int64_t i = 0; i < N * T; ++i) {
    float any = 0.0f;
    for (size_t k = 0; k < masks.size(); ++k) any = std::max(any, kept(masks, k, i));
    mask[i] = any;
  }
}

}  // namespace

Layer::MaskRule ElementwiseMerge::output_mask_rule(std::span<const bool> inputs_masked) const {
  const bool all = std::all_of(inputs_masked.begin(), inputs_masked.end(), [](bool masked) { return masked; });
  return all && !inputs_masked.empty() ? MaskRule::kComputed : MaskRule::kNone;
}

void ElementwiseMerge::compute_mask(std::span<const ConstTensorView> inputs, std::span<const ConstTensorView> masks,
                                    Tensor& mask) const {
  or_masks(inputs, masks, mask);
}

Layer::MaskRule Concatenate::output_mask_rule(std::span<const bool> inputs_masked) const {
  const bool any = std::any_of(inputs_masked.begin(), inputs_masked.end(), [](bool masked) { return masked; });
  return any ? MaskRule::kComputed : MaskRule::kNone;
}

void Concatenate::compute_mask(std::span<const ConstTensorView> inputs, std::span<const ConstTensorView> masks,
                               Tensor& mask) const {
  if (axis_ != 0) {
    or_masks(inputs, masks, mask);
    return;
  }
  // Along the time axis: each row's steps are the inputs' steps, one input after another.
  const int64_t N = inputs[0].shape(0), T = output_shape_[0];
  mask.resize(Shape{N, T});
  for (int64_t n = 0; n < N; ++n) {
    int64_t t = 0;
    for (size_t k = 0; k < inputs.size(); ++k) {
      const int64_t steps = inputs[k].shape(1);
      for (int64_t s = 0; s < steps; ++s) mask[n * T + t + s] = kept(masks, k, n * steps + s);
      t += steps;
    }
  }
}

}  // namespace citadel
