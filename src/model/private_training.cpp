// DP-SGD's step (Abadi et al. 2016) with per-example clipping done by reweighting: a first
// backward pass leaves each layer's input and output gradient, from which every example's
// gradient norm follows (for Dense ‖x_i‖²·‖dz_i‖², Goodfellow 2015's trick); a second pass
// backpropagates the loss gradient with each example's row scaled by its clipping factor,
// which yields the sum of the clipped per-example gradients directly.
#include <algorithm>
#include <cmath>

#include "citadel/core/error.hpp"
#include "citadel/data/split.hpp"
#include "citadel/ops/noise.hpp"
#include "sequential_state.hpp"

namespace citadel {

int64_t steps_per_epoch(int64_t rows, int64_t batch_size, bool poisson_sampling) {
  if (!poisson_sampling) return (rows + batch_size - 1) / batch_size;
  return std::max<int64_t>(1, std::llround(double(rows) / double(batch_size)));
}

double Sequential::State::private_step(ConstTensorView x, ConstTensorView y, const PrivateTraining& privacy,
                                       SecureRng& noise, double expected_batch) {
  const double loss = private_gradient(x, y, privacy);
  add_private_noise(privacy, noise);
  if (privacy.observe_noisy_sum) privacy.observe_noisy_sum(params.trainable_grads());
  private_update(expected_batch);
  return loss;
}

double Sequential::State::private_gradient(ConstTensorView x, ConstTensorView y, const PrivateTraining& privacy) {
  const int64_t batch = x.shape(0);
  params.zero_grad();
  if (batch == 0) return 0;
  forward(x, Mode::kTrain);
  const double loss = loss_value(y, true);  // may be infinite: each example's gradient is bounded below
  // Both backward passes in float32: bf16-rounded inputs to the clipped sum would let an
  // example's contribution exceed l2_norm_clip, which the guarantee rests on.
  struct Float32Gradients {
    bool& flag;
    explicit Float32Gradients(bool& f) : flag(f) { flag = true; }
    ~Float32Gradients() { flag = false; }
  } float32_gradients_scope{float32_gradients};
  // Output gradients only (the norms need no parameter gradients); each layer records its
  // norms during this pass, while its output gradient is still valid.
  {
    struct RecordNorms {  // on for this pass only, whatever it throws
      std::vector<std::unique_ptr<Layer>>& layers;
      explicit RecordNorms(std::vector<std::unique_ptr<Layer>>& all) : layers(all) { set(true); }
      ~RecordNorms() { set(false); }
      void set(bool needed) {
        for (auto& layer : layers) layer->set_per_example_norms_needed(needed);
      }
    } record{layers};
    backward(false, false, false);
  }
  example_norms.assign(static_cast<size_t>(batch), 0.0);
  for (auto& layer : layers) layer->add_per_example_squared_norms(example_norms);
  // An example whose gradient is not finite (an overflowing feature or label) would make
  // the whole sum NaN even with its row scaled by zero (0 · ∞ in its cached input): it is
  // left out and the batch recomputed without it, so its share of the sum is exactly 0.
  if (!std::all_of(example_norms.begin(), example_norms.end(), [](double n) { return std::isfinite(n); })) {
    std::vector<int64_t> finite;
    for (int64_t i = 0; i < batch; ++i)
      if (std::isfinite(example_norms[static_cast<size_t>(i)])) finite.push_back(i);
    if (finite.empty()) {
      params.zero_grad();
      return loss;
    }
    Tensor kept_x = take_rows(x, finite), kept_y = take_rows(y, finite);  // a rare path: allocating is fine
    const double kept_loss = private_gradient(kept_x, kept_y, privacy);
    forward(x, Mode::kTrain);  // the outputs fit's metrics read are the whole batch's again
    return kept_loss;
  }
  // loss_gradient holds ∇ℓ_i / batch per row: scale row i by batch · min(1, C / ‖∇ℓ_i‖).
  const int64_t width = loss_gradient.numel() / batch;
  for (int64_t i = 0; i < batch; ++i) {
    const double norm = double(batch) * std::sqrt(example_norms[static_cast<size_t>(i)]);
    const double factor = double(batch) * std::min(1.0, double(privacy.l2_norm_clip) / std::max(norm, 1e-30));
    float* row = loss_gradient.data() + i * width;
    for (int64_t k = 0; k < width; ++k) row[k] = static_cast<float>(row[k] * factor);
  }
  params.zero_grad();
  backward(false, false);  // parameters' gradients: Σ_i clipped ∇ℓ_i
  return loss;
}

void Sequential::State::add_private_noise(const PrivateTraining& privacy, SecureRng& noise) {
  const double sigma = double(privacy.noise_multiplier) * privacy.l2_norm_clip;
  if (sigma > 0) ops::add_gaussian_noise(params.trainable_grads(), sigma, noise);
}

void Sequential::State::private_update(double expected_batch) {
  const float scale = static_cast<float>(1.0 / expected_batch);
  for (float& g : params.trainable_grads()) g *= scale;
  if (regularized) params.add_regularization_gradient();  // data-independent: outside the privacy mechanism
  optimizer->step(params);
}

Tensor Sequential::input_gradient(ConstTensorView x, ConstTensorView y) {
  State& s = *state_;
  CITADEL_CHECK(s.compiled, ValueError, "input_gradient() called before compile()");
  CITADEL_CHECK(x.rank() >= 2 && y.rank() >= 1 && y.shape(0) == x.shape(0) && x.shape(0) > 0, ShapeError,
                "input_gradient: x ", x.shape(), " and y ", y.shape(), " need the same number of rows");
  build(x.shape().without_batch());
  s.check_inputs(x, "input_gradient");
  s.loss->check_targets(s.output_shapes.back().with_batch(x.shape(0)), y);
  s.forward(x, Mode::kInfer);
  s.loss_value(y, true);
  s.params.zero_grad();
  s.backward(true, false);
  Tensor gradient(x.shape());
  std::copy_n(s.input_gradient().data(), gradient.numel(), gradient.data());
  return gradient;
}

Tensor Sequential::per_example_loss(ConstTensorView x, ConstTensorView y, int64_t batch_size) {
  State& s = *state_;
  CITADEL_CHECK(s.compiled, ValueError, "per_example_loss() called before compile()");
  CITADEL_CHECK(x.rank() >= 2 && y.rank() >= 1 && y.shape(0) == x.shape(0), ShapeError, "per_example_loss: x ",
                x.shape(), " and y ", y.shape(), " need the same number of rows");
  build(x.shape().without_batch());
  s.check_inputs(x, "per_example_loss");
  const int64_t rows = x.shape(0);
  Tensor losses(Shape{rows});
  for (int64_t begin = 0; begin < rows; begin += batch_size) {
    const int64_t end = std::min(begin + batch_size, rows);
    s.forward(x.rows(begin, end), Mode::kInfer);
    const ConstTensorView predictions = s.fused_output ? s.layers.back()->pre_activation() : s.output();
    for (int64_t i = begin; i < end; ++i)
      losses[i] = static_cast<float>(
          s.training_loss->compute(predictions.rows(i - begin, i - begin + 1), y.rows(i, i + 1), TensorView()));
  }
  return losses;
}

}  // namespace citadel
