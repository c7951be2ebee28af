// Batch normalization (Ioffe and Szegedy 2015). Statistics are accumulated in double so
// that large batches of large activations keep their precision.
#include "citadel/layers/batch_normalization.hpp"

#include <cmath>

#include "citadel/core/error.hpp"
#include "citadel/layers/layer_config.hpp"
#include "citadel/layers/initializers.hpp"
#include "citadel/ops/batch_normalization.hpp"

namespace citadel {

BatchNormalization::BatchNormalization(const BatchNormalizationOptions& options) : options_(options) {
  CITADEL_CHECK(options.momentum >= 0.0f && options.momentum <= 1.0f, ValueError,
                "BatchNormalization: momentum must lie in [0, 1], got ", options.momentum);
  CITADEL_CHECK(options.epsilon > 0.0f, ValueError, "BatchNormalization: epsilon must be positive, got ",
                options.epsilon);
  for (const auto* name : {&options.beta_initializer, &options.gamma_initializer,
                           &options.moving_mean_initializer, &options.moving_variance_initializer})
    check_initializer_name(*name);
}

std::optional<Shape> BatchNormalization::declared_input_shape() const {
  if (options_.input_shape.empty()) return std::nullopt;
  return Shape(options_.input_shape);
}

Shape BatchNormalization::build(const Shape& input_shape, ParameterStore& params) {
  CITADEL_CHECK(input_shape.rank() >= 1 && input_shape.numel() > 0, ShapeError, name_,
                " (BatchNormalization): needs an input with features, got ", input_shape.batch_str());
  if (auto declared = declared_input_shape())
    CITADEL_CHECK(*declared == input_shape, ShapeError, name_, " (BatchNormalization): declared input shape ",
                  *declared, " but the previous layer gives ", input_shape);
  input_shape_ = input_shape;
  features_ = input_shape[input_shape.rank() - 1];
  const Shape shape{features_};
  if (options_.scale) gamma_id_ = params.declare(name_ + "/gamma", shape, options_.gamma_initializer);
  if (options_.center) beta_id_ = params.declare(name_ + "/beta", shape, options_.beta_initializer);
  mean_id_ = params.declare(name_ + "/moving_mean", shape, options_.moving_mean_initializer, {}, false);
  variance_id_ =
      params.declare(name_ + "/moving_variance", shape, options_.moving_variance_initializer, {}, false);
  return input_shape;
}

void BatchNormalization::bind(ParameterStore& params) {
  if (gamma_id_ >= 0) gamma_ = params.value(gamma_id_), dgamma_ = params.grad(gamma_id_);
  if (beta_id_ >= 0) beta_ = params.value(beta_id_), dbeta_ = params.grad(beta_id_);
  moving_mean_ = params.value(mean_id_);
  moving_variance_ = params.value(variance_id_);
}

int64_t BatchNormalization::parameter_count() const {
  return features_ * (2 + (options_.scale ? 1 : 0) + (options_.center ? 1 : 0));
}

// The passes over the batch are ops::batch_norm_* kernels, split over the threads.
void BatchNormalization::forward(ConstTensorView x, Tensor& y, Mode mode) {
  CITADEL_ASSERT(!moving_mean_.empty(), name_, " used before the model was built");
  CITADEL_CHECK(x.rank() >= 2 && x.shape().without_batch() == input_shape_, ShapeError, name_,
                " (BatchNormalization): expected input ", input_shape_.batch_str(), ", got ", x.shape());
  const int64_t C = features_, M = x.numel() / C;
  y.resize(x.shape());
  normalized_.resize(x.shape());
  inverse_std_.resize(Shape{C});
  channel_values_.resize(Shape{3, C});
  float* mean = channel_values_.data();
  last_was_training_ = mode == Mode::kTrain && trainable_;  // frozen: inference mode, as Keras
  if (last_was_training_) {
    sums_.resize(static_cast<size_t>(C));
    square_sums_.resize(static_cast<size_t>(C));
    ops::batch_norm_statistics(x.data(), M, C, sums_.data(), square_sums_.data(), partials_);
    const float keep = options_.momentum;
    for (int64_t c = 0; c < C; ++c) {
      const double variance = square_sums_[c];  // biased, as Keras
      mean[c] = static_cast<float>(sums_[c]);
      inverse_std_[c] = static_cast<float>(1.0 / std::sqrt(variance + options_.epsilon));
      moving_mean_[c] = keep * moving_mean_[c] + (1.0f - keep) * mean[c];
      moving_variance_[c] = keep * moving_variance_[c] + (1.0f - keep) * static_cast<float>(variance);
    }
  } else {
    for (int64_t c = 0; c < C; ++c) {
      mean[c] = moving_mean_[c];
      inverse_std_[c] = 1.0f / std::sqrt(moving_variance_[c] + options_.epsilon);
    }
  }
  ops::batch_norm_apply(x.data(), M, C, mean, inverse_std_.data(), gamma_.empty() ? nullptr : gamma_.data(),
                        beta_.empty() ? nullptr : beta_.data(), normalized_.data(), y.data());
}

void BatchNormalization::backward(ConstTensorView dy, Tensor& dx) {
  CITADEL_CHECK(dy.shape() == normalized_.shape(), ShapeError, name_, " (BatchNormalization): gradient shape ",
                dy.shape(), " does not match output shape ", normalized_.shape());
  const int64_t C = features_, M = dy.numel() / C;
  dx.resize(dy.shape());
  // Σ dy and Σ dy·x̂ per feature: the parameter gradients, and the training-mode terms.
  sums_.resize(static_cast<size_t>(C));
  square_sums_.resize(static_cast<size_t>(C));
  ops::batch_norm_gradient_sums(dy.data(), normalized_.data(), M, C, sums_.data(), square_sums_.data(), partials_);
  for (int64_t c = 0; c < C; ++c) {
    if (!dgamma_.empty()) dgamma_[c] += static_cast<float>(square_sums_[c]);
    if (!dbeta_.empty()) dbeta_[c] += static_cast<float>(sums_[c]);
  }
  channel_values_.resize(Shape{3, C});
  float* scale = channel_values_.data();
  float* mean_dy = scale + C;
  float* mean_dy_normalized = scale + 2 * C;
  for (int64_t c = 0; c < C; ++c) {
    scale[c] = (gamma_.empty() ? 1.0f : gamma_[c]) * inverse_std_[c];
    mean_dy[c] = static_cast<float>(sums_[c] / static_cast<double>(M));
    mean_dy_normalized[c] = static_cast<float>(square_sums_[c] / static_cast<double>(M));
  }
  // dx = γ/σ · (dy − mean(dy) − x̂·mean(dy·x̂)); in inference the statistics were constants.
  ops::batch_norm_input_gradient(dy.data(), normalized_.data(), M, C, scale,
                                 last_was_training_ ? mean_dy : nullptr,
                                 last_was_training_ ? mean_dy_normalized : nullptr, dx.data());
}

std::unique_ptr<Layer> BatchNormalization::from_config(const LayerConfigReader& config) {
  config.check_keys({"axis", "momentum", "epsilon", "center", "scale", "beta_initializer", "gamma_initializer",
                     "moving_mean_initializer", "moving_variance_initializer", "beta_regularizer",
                     "gamma_regularizer", "beta_constraint", "gamma_constraint", "synchronized", "renorm",
                     "renorm_momentum"});  // renorm_momentum: unused while renorm is off
  config.require("axis", int64_t{-1});
  config.require("synchronized", false);
  config.require("renorm", false);
  for (const char* unsupported : {"beta_regularizer", "gamma_regularizer", "beta_constraint", "gamma_constraint"})
    config.require_null(unsupported);
  BatchNormalizationOptions options;
  options.input_shape = config.input_shape();
  options.momentum = static_cast<float>(config.number("momentum", 0.99));
  options.epsilon = static_cast<float>(config.number("epsilon", 1e-3));
  options.center = config.boolean("center", true);
  options.scale = config.boolean("scale", true);
  options.beta_initializer = config.initializer("beta_initializer", "zeros");
  options.gamma_initializer = config.initializer("gamma_initializer", "ones");
  options.moving_mean_initializer = config.initializer("moving_mean_initializer", "zeros");
  options.moving_variance_initializer = config.initializer("moving_variance_initializer", "ones");
  return std::make_unique<BatchNormalization>(options);
}

void BatchNormalization::get_config(LayerConfigWriter& config) const {
  config.set_integer("axis", -1);
  config.set_number("momentum", options_.momentum);
  config.set_number("epsilon", options_.epsilon);
  config.set_boolean("center", options_.center);
  config.set_boolean("scale", options_.scale);
  config.set_string("beta_initializer", options_.beta_initializer);
  config.set_string("gamma_initializer", options_.gamma_initializer);
  config.set_string("moving_mean_initializer", options_.moving_mean_initializer);
  config.set_string("moving_variance_initializer", options_.moving_variance_initializer);
}

}  // namespace citadel
