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

// The loops read and write through local restrict pointers: through the members the compiler
// must assume every store may change γ, β or the statistics, and reloads them one element at
// a time (BatchNormalization took a fifth of W7's training time that way).
void BatchNormalization::forward(ConstTensorView x, Tensor& y, Mode mode) {
  CITADEL_ASSERT(!moving_mean_.empty(), name_, " used before the model was built");
  CITADEL_CHECK(x.rank() >= 2 && x.shape().without_batch() == input_shape_, ShapeError, name_,
                " (BatchNormalization): expected input ", input_shape_.batch_str(), ", got ", x.shape());
  const int64_t C = features_, M = x.numel() / C;
  y.resize(x.shape());
  normalized_.resize(x.shape());
  inverse_std_.resize(Shape{C});
  last_was_training_ = mode == Mode::kTrain;
  const float* __restrict in = x.data();
  float* __restrict inverse_std = inverse_std_.data();
  if (last_was_training_) {
    sums_.assign(static_cast<size_t>(C), 0.0);
    square_sums_.assign(static_cast<size_t>(C), 0.0);
    double* __restrict mean = sums_.data();
    double* __restrict squares = square_sums_.data();
    for (int64_t m = 0; m < M; ++m) {
      const float* __restrict row = in + m * C;
      for (int64_t c = 0; c < C; ++c) mean[c] += row[c];
    }
    for (int64_t c = 0; c < C; ++c) mean[c] /= static_cast<double>(M);
    for (int64_t m = 0; m < M; ++m) {
      const float* __restrict row = in + m * C;
      for (int64_t c = 0; c < C; ++c) {
        const double d = row[c] - mean[c];
        squares[c] += d * d;
      }
    }
    const float keep = options_.momentum;
    for (int64_t c = 0; c < C; ++c) {
      const double variance = squares[c] / static_cast<double>(M);  // biased, as Keras
      inverse_std[c] = static_cast<float>(1.0 / std::sqrt(variance + options_.epsilon));
      moving_mean_[c] = keep * moving_mean_[c] + (1.0f - keep) * static_cast<float>(mean[c]);
      moving_variance_[c] = keep * moving_variance_[c] + (1.0f - keep) * static_cast<float>(variance);
    }
  } else {
    sums_.resize(static_cast<size_t>(C));
    for (int64_t c = 0; c < C; ++c) {
      sums_[c] = moving_mean_[c];
      inverse_std[c] = 1.0f / std::sqrt(moving_variance_[c] + options_.epsilon);
    }
  }
  const double* __restrict mean = sums_.data();
  const bool scaled = !gamma_.empty(), centered = !beta_.empty();
  const float* __restrict gamma = scaled ? gamma_.data() : nullptr;
  const float* __restrict beta = centered ? beta_.data() : nullptr;
  float* __restrict out = y.data();
  float* __restrict normalized = normalized_.data();
  for (int64_t m = 0; m < M; ++m) {
    const int64_t at = m * C;
    for (int64_t c = 0; c < C; ++c) {
      const float value = static_cast<float>(in[at + c] - mean[c]) * inverse_std[c];
      normalized[at + c] = value;
      out[at + c] = value * (scaled ? gamma[c] : 1.0f) + (centered ? beta[c] : 0.0f);
    }
  }
}

void BatchNormalization::backward(ConstTensorView dy, Tensor& dx) {
  CITADEL_CHECK(dy.shape() == normalized_.shape(), ShapeError, name_, " (BatchNormalization): gradient shape ",
                dy.shape(), " does not match output shape ", normalized_.shape());
  const int64_t C = features_, M = dy.numel() / C;
  dx.resize(dy.shape());
  const float* __restrict grad = dy.data();
  const float* __restrict normalized = normalized_.data();
  const float* __restrict inverse_std = inverse_std_.data();
  float* __restrict out = dx.data();
  // Σ dy and Σ dy·x̂ per feature: the parameter gradients, and the training-mode terms.
  sums_.assign(static_cast<size_t>(C), 0.0);
  square_sums_.assign(static_cast<size_t>(C), 0.0);
  double* __restrict sum_dy = sums_.data();
  double* __restrict sum_dy_xhat = square_sums_.data();
  for (int64_t m = 0; m < M; ++m) {
    const int64_t at = m * C;
    for (int64_t c = 0; c < C; ++c) {
      sum_dy[c] += grad[at + c];
      sum_dy_xhat[c] += double(grad[at + c]) * normalized[at + c];
    }
  }
  for (int64_t c = 0; c < C; ++c) {
    if (!dgamma_.empty()) dgamma_[c] += static_cast<float>(sum_dy_xhat[c]);
    if (!dbeta_.empty()) dbeta_[c] += static_cast<float>(sum_dy[c]);
  }
  const bool scaled = !gamma_.empty();
  const float* __restrict gamma = scaled ? gamma_.data() : nullptr;
  if (!last_was_training_) {  // the moving statistics are constants
    for (int64_t m = 0; m < M; ++m) {
      const int64_t at = m * C;
      for (int64_t c = 0; c < C; ++c) out[at + c] = grad[at + c] * ((scaled ? gamma[c] : 1.0f) * inverse_std[c]);
    }
    return;
  }
  // The sums become means, once per feature rather than once per element.
  for (int64_t c = 0; c < C; ++c) {
    sum_dy[c] /= static_cast<double>(M);
    sum_dy_xhat[c] /= static_cast<double>(M);
  }
  const double* __restrict mean_dy = sum_dy;
  const double* __restrict mean_dy_xhat = sum_dy_xhat;
  // dx = γ/σ · (dy − mean(dy) − x̂·mean(dy·x̂))
  for (int64_t m = 0; m < M; ++m) {
    const int64_t at = m * C;
    for (int64_t c = 0; c < C; ++c) {
      const float scale = (scaled ? gamma[c] : 1.0f) * inverse_std[c];
      out[at + c] = scale * static_cast<float>(grad[at + c] - mean_dy[c] - normalized[at + c] * mean_dy_xhat[c]);
    }
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
