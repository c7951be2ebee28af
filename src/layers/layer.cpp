// Defaults of the Layer interface.
#include "citadel/layers/layer.hpp"

#include <algorithm>

#include "citadel/core/error.hpp"

namespace citadel {

Shape Layer::build_inputs(const std::vector<Shape>& input_shapes, ParameterStore& params) {
  CITADEL_CHECK(input_shapes.size() == 1, ValueError, name_, " (", type(), "): takes one input, got ",
                input_shapes.size());
  return build(input_shapes[0], params);
}

bool Layer::accepts_input_count(size_t count) const {
  const int wanted = input_count();
  return wanted == kAnyNumber ? count >= 2 : count == size_t(wanted);
}

void Layer::set_trainable(bool trainable) {
  trainable_ = trainable;
  if (calls_.layer && calls_.layer.get() != this) calls_.layer->trainable_ = trainable;
}

void Layer::forward_inputs(std::span<const ConstTensorView> inputs, Tensor& y, Mode mode) {
  CITADEL_ASSERT(inputs.size() == 1, name_, ": one input expected");
  forward(inputs[0], y, mode);
}

void Layer::backward_inputs(ConstTensorView dy, std::span<Tensor* const> dx) {
  CITADEL_ASSERT(dx.size() == 1, name_, ": one input gradient expected");
  Tensor unused;
  const bool wanted = dx[0] != nullptr;
  const bool was_needed = input_gradient_needed_;
  if (!wanted) input_gradient_needed_ = false;
  backward(dy, wanted ? *dx[0] : unused);
  input_gradient_needed_ = was_needed;
}

Layer::MaskRule Layer::output_mask_rule(std::span<const bool> inputs_masked) const {
  if (!supports_masking() || inputs_masked.size() != 1 || !inputs_masked[0]) return MaskRule::kNone;
  return MaskRule::kSameAsInput;
}

void Layer::compute_mask(std::span<const ConstTensorView>, std::span<const ConstTensorView>, Tensor&) const {
  throw NotImplementedError(name_ + " (" + type() + ") computes no mask of its own");
}

ConstTensorView Layer::pre_activation() const {
  throw NotImplementedError(name_ + " (" + type() + ") has no fusable output activation");
}

void Layer::backward_from_pre_activation(ConstTensorView, Tensor&) {
  throw NotImplementedError(name_ + " (" + type() + ") has no fusable output activation");
}

void Layer::add_per_example_squared_norms(std::span<double>) {
  if (parameter_count() > 0)
    throw NotImplementedError(name_ + " (" + type() +
                              "): per-example gradient norms, needed for private training, are not implemented "
                              "for this layer type (Dense and Conv2D have them)");
}

void Layer::add_recorded_norms(std::span<double> squared_norms) const {
  CITADEL_ASSERT(!example_squared_norms_.empty(), name_, ": per-example norms asked before a backward() that records them");
  CITADEL_CHECK(squared_norms.size() == example_squared_norms_.size(), ShapeError, name_, ": ", squared_norms.size(),
                " norms for a batch of ", example_squared_norms_.size());
  for (size_t n = 0; n < squared_norms.size(); ++n) squared_norms[n] += example_squared_norms_[n];
}

void Layer::backward_sequence_and_states(ConstTensorView dy, std::span<Tensor* const> dx,
                                         const std::function<ConstTensorView(int)>& state_gradient) {
  CITADEL_ASSERT(accepts_input_count(dx.size()), name_, ": ", dx.size(), " input gradients");
  Tensor unused;
  const bool was_needed = input_gradient_needed_;
  if (dx[0] == nullptr) input_gradient_needed_ = false;
  backward(dy, dx[0] != nullptr ? *dx[0] : unused);
  input_gradient_needed_ = was_needed;
  for (size_t k = 1; k < dx.size(); ++k) {
    if (dx[k] == nullptr) continue;
    const ConstTensorView state = state_gradient(int(k - 1));
    dx[k]->resize(state.shape());
    std::copy_n(state.data(), state.numel(), dx[k]->data());
  }
}

}  // namespace citadel
