// The optimizer step shared by all optimizers: Keras-style clipping, then the gradient
// hooks, then the optimizer's own update over the flat buffers.
#include "citadel/optim/optimizer.hpp"

#include <algorithm>
#include <cmath>

#include "citadel/core/error.hpp"

namespace citadel {
namespace {

double squared_norm(std::span<const float> values) {
  double total = 0;
  for (float v : values) total += double(v) * v;
  return total;
}

void scale(std::span<float> values, float factor) {
  for (float& v : values) v *= factor;
}

}  // namespace

Optimizer::Optimizer(float learning_rate, const ClipSettings& clip) : clip_(clip) {
  set_learning_rate(learning_rate);
  CITADEL_CHECK(clip.clipnorm >= 0 && clip.global_clipnorm >= 0 && clip.clipvalue >= 0, ValueError,
                "optimizer: clipnorm, global_clipnorm and clipvalue must be >= 0 (0 disables)");
  CITADEL_CHECK(clip.clipnorm == 0 || clip.global_clipnorm == 0, ValueError,
                "optimizer: set clipnorm or global_clipnorm, not both");
}

void Optimizer::set_learning_rate(float learning_rate) {
  CITADEL_CHECK(std::isfinite(learning_rate) && learning_rate > 0, ValueError,
                "optimizer: learning_rate must be a positive number, got ", learning_rate);
  learning_rate_ = learning_rate;
}

void Optimizer::clip(ParameterStore& store) const {
  std::span<float> gradients = store.trainable_grads();
  if (clip_.clipnorm > 0) {
    for (const auto& parameter : store.parameters()) {
      if (!parameter.trainable) continue;
      auto part = gradients.subspan(static_cast<size_t>(parameter.offset),
                                    static_cast<size_t>(parameter.shape.numel()));
      const double norm = std::sqrt(squared_norm(part));
      if (norm > clip_.clipnorm) scale(part, static_cast<float>(clip_.clipnorm / norm));
    }
  }
  if (clip_.global_clipnorm > 0) {
    const double norm = std::sqrt(squared_norm(gradients));
    if (norm > clip_.global_clipnorm) scale(gradients, static_cast<float>(clip_.global_clipnorm / norm));
  }
  if (clip_.clipvalue > 0)
    for (float& g : gradients) g = std::clamp(g, -clip_.clipvalue, clip_.clipvalue);
}

void Optimizer::step(ParameterStore& store) {
  clip(store);
  for (const auto& hook : hooks_) hook(store);
  ++iterations_;
  update(store.trainable_values(), store.trainable_grads());
}

}  // namespace citadel
