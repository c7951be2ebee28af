// Batch normalization (Ioffe and Szegedy 2015). Statistics are accumulated in double so
// that large batches of large activations keep their precision.
#include "citadel/layers/batch_normalization.hpp"

#include <cmath>

#include "citadel/core/error.hpp"
#include "citadel/layers/layer_config.hpp"
#include "citadel/layers/initializers.hpp"

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

void BatchNormalization::forward(ConstTensorView x, Tensor& y, Mode mode) {
  CITADEL_ASSERT(!moving_mean_.empty(), name_, " used before the model was built");
  CITADEL_CHECK(x.rank() >= 2 && x.shape().without_batch() == input_shape_, ShapeError, name_,
                " (BatchNormalization): expected input ", input_shape_.batch_str(), ", got ", x.shape());
  const int64_t C = features_, M = x.numel() / C;
  y.resize(x.shape());
  normalized_.resize(x.shape());
  inverse_std_.resize(Shape{C});
  last_was_training_ = mode == Mode::kTrain;
  if (last_was_training_) {
    sums_.assign(static_cast<size_t>(C), 0.0);
    square_sums_.assign(static_cast<size_t>(C), 0.0);
    for (int64_t m = 0; m < M; ++m)
      for (int64_t c = 0; c < C; ++c) sums_[c] += x[m * C + c];
    for (int64_t c = 0; c < C; ++c) sums_[c] /= static_cast<double>(M);  // now the mean
    for (int64_t m = 0; m < M; ++m)
      for (int64_t c = 0; c < C; ++c) {
        const double d = x[m * C + c] - sums_[c];
        square_sums_[c] += d * d;
      }
    const float keep = options_.momentum;
    for (int64_t c = 0; c < C; ++c) {
      const double variance = square_sums_[c] / static_cast<double>(M);  // biased, as Keras
      inverse_std_[c] = static_cast<float>(1.0 / std::sqrt(variance + options_.epsilon));
      moving_mean_[c] = keep * moving_mean_[c] + (1.0f - keep) * static_cast<float>(sums_[c]);
      moving_variance_[c] = keep * moving_variance_[c] + (1.0f - keep) * static_cast<float>(variance);
    }
  } else {
    sums_.resize(static_cast<size_t>(C));
    for (int64_t c = 0; c < C; ++c) {
      sums_[c] = moving_mean_[c];
      inverse_std_[c] = 1.0f / std::sqrt(moving_variance_[c] + options_.epsilon);
    }
  }
  for (int64_t m = 0; m < M; ++m)
    for (int64_t c = 0; c < C; ++c) {
      const float normalized = static_cast<float>(x[m * C + c] - sums_[c]) * inverse_std_[c];
      normalized_[m * C + c] = normalized;
      y[m * C + c] = normalized * (gamma_.empty() ? 1.0f : gamma_[c]) + (beta_.empty() ? 0.0f : beta_[c]);
    }
}

void BatchNormalization::backward(ConstTensorView dy, Tensor& dx) {
  CITADEL_CHECK(dy.shape() == normalized_.shape(), ShapeError, name_, " (BatchNormalization): gradient shape ",
                dy.shape(), " does not match output shape ", normalized_.shape());
  const int64_t C = features_, M = dy.numel() / C;
  dx.resize(dy.shape());
  // Σ dy and Σ dy·x̂ per feature: the parameter gradients, and the training-mode terms.
  sums_.assign(static_cast<size_t>(C), 0.0);
  square_sums_.assign(static_cast<size_t>(C), 0.0);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t c = 0; c < C; ++c) {
      sums_[c] += dy[m * C + c];
      square_sums_[c] += double(dy[m * C + c]) * normalized_[m * C + c];
    }
  for (int64_t c = 0; c < C; ++c) {
    if (!dgamma_.empty()) dgamma_[c] += static_cast<float>(square_sums_[c]);
    if (!dbeta_.empty()) dbeta_[c] += static_cast<float>(sums_[c]);
  }
  for (int64_t m = 0; m < M; ++m)
    for (int64_t c = 0; c < C; ++c) {
      const float scale = (gamma_.empty() ? 1.0f : gamma_[c]) * inverse_std_[c];
      if (!last_was_training_) {  // the moving statistics are constants
        dx[m * C + c] = dy[m * C + c] * scale;
        continue;
      }
      // dx = γ/σ · (dy − mean(dy) − x̂·mean(dy·x̂))
      const double mean_dy = sums_[c] / static_cast<double>(M);
      const double mean_dy_xhat = square_sums_[c] / static_cast<double>(M);
      dx[m * C + c] = scale * static_cast<float>(dy[m * C + c] - mean_dy - normalized_[m * C + c] * mean_dy_xhat);
    }
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
