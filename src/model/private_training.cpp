// DP-SGD's step (Abadi et al. 2016) with per-example clipping done by reweighting: a first
// backward pass leaves each layer's input and output gradient, from which every example's
// gradient norm follows (for Dense ‖x_i‖²·‖dz_i‖², Goodfellow 2015's trick); a second pass
// backpropagates the loss gradients with each example's rows scaled by its clipping factor,
// which yields the sum of the clipped per-example gradients directly. A layer a graph calls
// more than once has as per-example gradient the sum over its calls, whose norm is not the
// sum of the calls' norms: its calls add their per-example gradients into one buffer
// instead, whose rows' norms are taken.
#include <algorithm>
#include <cmath>

#include "citadel/core/error.hpp"
#include "citadel/data/split.hpp"
#include "citadel/ops/noise.hpp"
#include "citadel/ops/reductions.hpp"
#include "model_state.hpp"

namespace citadel {

int64_t steps_per_epoch(int64_t rows, int64_t batch_size, bool poisson_sampling) {
  if (!poisson_sampling) return (rows + batch_size - 1) / batch_size;
  return std::max<int64_t>(1, std::llround(double(rows) / double(batch_size)));
}

double Model::State::private_step(std::span<const ConstTensorView> x, std::span<const ConstTensorView> y,
                                  const PrivateTraining& privacy, SecureRng& noise, double expected_batch) {
  const double loss = private_gradient(x, y, privacy);
  add_private_noise(privacy, noise);
  if (privacy.observe_noisy_sum) privacy.observe_noisy_sum(params.trainable_grads());
  private_update(expected_batch);
  return loss;
}

double Model::State::private_gradient(std::span<const ConstTensorView> x, std::span<const ConstTensorView> y,
                                      const PrivateTraining& privacy) {
  const int64_t batch = x[0].shape(0);
  params.zero_grad();
  if (batch == 0) return 0;
  forward(x, Mode::kTrain);
  const double loss = loss_value(y, true, &step_losses);  // may be infinite: each example's gradient is bounded below
  // Both backward passes in float32: bf16-rounded inputs to the clipped sum would let an
  // example's contribution exceed l2_norm_clip, which the guarantee rests on.
  struct Float32Gradients {
    bool& flag;
    explicit Float32Gradients(bool& f) : flag(f) { flag = true; }
    ~Float32Gradients() { flag = false; }
  } float32_gradients_scope{float32_gradients};
  // The calls of shared layers add their per-example gradients into one buffer per layer.
  example_gradients.resize(layers.size());
  for (size_t l = 0; l < layers.size(); ++l)
    if (shared_layer[l] && !frozen_layer[l]) {
      CITADEL_CHECK(layers[l]->parameter_count() == 0 || layers[l]->writes_per_example_gradients(),
                    NotImplementedError, layers[l]->name(), " (", layers[l]->type(),
                    "): private training of a layer called more than once needs its per-example gradients, which "
                    "this layer type does not give (Dense and Conv2D do)");
      example_gradients[l].resize(Shape{batch, layers[l]->parameter_count()});
      example_gradients[l].fill(0.0f);
    }
  // Output gradients only (the norms need no parameter gradients); each call records its
  // norms (or adds its per-example gradients) during this pass, while its output gradient
  // is still valid.
  {
    struct RecordNorms {  // on for this pass only, whatever it throws
      State& s;
      explicit RecordNorms(State& state) : s(state) { set(true); }
      ~RecordNorms() { set(false); }
      void set(bool needed) {
        for (size_t n = 0; n < s.node_layer.size(); ++n) {
          const size_t l = s.graph.nodes[n].layer;
          const bool clipped = needed && !s.frozen_layer[l];  // clipping covers the trainable weights only
          s.node_layer[n]->set_per_example_norms_needed(clipped);
          s.node_layer[n]->set_per_example_gradient_sink(clipped && s.shared_layer[l] ? TensorView(s.example_gradients[l])
                                                                                    : TensorView());
        }
      }
    } record{*this};
    backward(-1, false, false);
  }
  example_norms.assign(static_cast<size_t>(batch), 0.0);
  for (size_t l = 0; l < layers.size(); ++l) {
    if (frozen_layer[l]) continue;
    if (!shared_layer[l]) {
      layers[l]->add_per_example_squared_norms(example_norms);
      continue;
    }
    const int64_t width = example_gradients[l].shape(1);
    for (int64_t i = 0; i < batch; ++i) {
      example_norms[size_t(i)] += ops::squared_norm({example_gradients[l].data() + i * width, size_t(width)});
    }
  }
  // An example whose gradient is not finite (an overflowing feature or label) would make
  // the whole sum NaN even with its rows scaled by zero (0 · ∞ in its cached input): it is
  // left out and the batch recomputed without it, so its share of the sum is exactly 0.
  if (!std::all_of(example_norms.begin(), example_norms.end(), [](double n) { return std::isfinite(n); })) {
    std::vector<int64_t> finite;
    for (int64_t i = 0; i < batch; ++i)
      if (std::isfinite(example_norms[static_cast<size_t>(i)])) finite.push_back(i);
    if (finite.empty()) {
      params.zero_grad();
      return loss;
    }
    std::vector<Tensor> kept;  // a rare path: allocating is fine
    std::vector<ConstTensorView> kept_x, kept_y;
    for (const ConstTensorView& input : x) kept.push_back(take_rows(input, finite));
    for (const ConstTensorView& target : y) kept.push_back(take_rows(target, finite));
    for (size_t i = 0; i < x.size(); ++i) kept_x.push_back(kept[i]);
    for (size_t k = 0; k < y.size(); ++k) kept_y.push_back(kept[x.size() + k]);
    const double kept_loss = private_gradient(kept_x, kept_y, privacy);
    forward(x, Mode::kTrain);  // the outputs fit's metrics read are the whole batch's again
    return kept_loss;
  }
  // loss_gradients hold ∇ℓ_i / batch per row: scale example i's rows of every output by
  // batch · min(1, C / ‖∇ℓ_i‖).
  for (int64_t i = 0; i < batch; ++i) {
    const double norm = double(batch) * std::sqrt(example_norms[static_cast<size_t>(i)]);
    const double factor = double(batch) * std::min(1.0, double(privacy.l2_norm_clip) / std::max(norm, 1e-30));
    for (Tensor& gradient : loss_gradients) {
      const int64_t width = gradient.numel() / batch;
      float* row = gradient.data() + i * width;
      for (int64_t k = 0; k < width; ++k) row[k] = static_cast<float>(row[k] * factor);
    }
  }
  params.zero_grad();
  backward(-1, false);  // parameters' gradients: Σ_i clipped ∇ℓ_i (shared weights summed over calls)
  return loss;
}

void Model::State::add_private_noise(const PrivateTraining& privacy, SecureRng& noise) {
  const double sigma = double(privacy.noise_multiplier) * privacy.l2_norm_clip;
  if (sigma > 0) ops::add_gaussian_noise(params.trainable_grads(), sigma, noise);
}

void Model::State::private_update(double expected_batch) {
  const float scale = static_cast<float>(1.0 / expected_batch);
  for (float& g : params.trainable_grads()) g *= scale;
  if (regularized) params.add_regularization_gradient();  // data-independent: outside the privacy mechanism
  optimizer->step(params);
}

}  // namespace citadel
