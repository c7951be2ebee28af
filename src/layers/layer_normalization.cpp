// LayerNormalization: per-row statistics over the last axis; its backward is the usual
// x̂ projection, dx = (γ·dy − mean(γ·dy) − x̂·mean(γ·dy·x̂)) / σ.
#include "citadel/layers/layer_normalization.hpp"

#include <cmath>

#include "citadel/core/error.hpp"
#include "citadel/layers/initializers.hpp"
#include "citadel/layers/layer_config.hpp"
#include "citadel/ops/reductions.hpp"

namespace citadel {

LayerNormalization::LayerNormalization(const LayerNormalizationOptions& options) : options_(options) {
  CITADEL_CHECK(options.epsilon > 0 && std::isfinite(options.epsilon), ValueError,
                "LayerNormalization: epsilon must be positive, got ", options.epsilon);
  check_initializer_name(options.beta_initializer);
  check_initializer_name(options.gamma_initializer);
}

std::optional<Shape> LayerNormalization::declared_input_shape() const {
  if (options_.input_shape.empty()) return std::nullopt;
  return Shape(options_.input_shape);
}

Shape LayerNormalization::build(const Shape& input_shape, ParameterStore& params) {
  CITADEL_CHECK(input_shape.rank() >= 1 && input_shape.numel() > 0, ShapeError, name_,
                " (LayerNormalization): expected an input with features, got ", input_shape.batch_str());
  if (auto declared = declared_input_shape())
    CITADEL_CHECK(*declared == input_shape, ShapeError, name_, " (LayerNormalization): declared input shape ",
                  *declared, " but the previous layer gives ", input_shape);
  input_shape_ = input_shape;
  features_ = input_shape[input_shape.rank() - 1];
  // Keras's order: gamma, then beta.
  if (options_.scale)
    gamma_id_ = params.declare(name_ + "/gamma", Shape{features_}, options_.gamma_initializer, options_.gamma_regularizer);
  if (options_.center)
    beta_id_ = params.declare(name_ + "/beta", Shape{features_}, options_.beta_initializer, options_.beta_regularizer);
  return input_shape;
}

void LayerNormalization::bind(ParameterStore& params) {
  if (gamma_id_ >= 0) {
    gamma_ = params.value(gamma_id_);
    dgamma_ = params.grad(gamma_id_);
  }
  if (beta_id_ >= 0) {
    beta_ = params.value(beta_id_);
    dbeta_ = params.grad(beta_id_);
  }
}

int64_t LayerNormalization::parameter_count() const {
  return (options_.scale ? features_ : 0) + (options_.center ? features_ : 0);
}

void LayerNormalization::forward(ConstTensorView x, Tensor& y, Mode) {
  CITADEL_ASSERT(features_ > 0, name_, " used before the model was built");
  CITADEL_CHECK(x.rank() == input_shape_.rank() + 1 && x.shape().without_batch() == input_shape_, ShapeError, name_,
                " (LayerNormalization): expected input ", input_shape_.batch_str(), ", got ", x.shape());
  const int64_t D = features_, rows = x.numel() / D;
  y.resize(x.shape());
  normalized_.resize(x.shape());
  inverse_std_.resize(size_t(rows));
  for (int64_t r = 0; r < rows; ++r) {
    const float* in = x.data() + r * D;
    const double mean = ops::sum({in, size_t(D)}) / double(D);
    const double variance = ops::squared_deviation({in, size_t(D)}, mean) / double(D);
    const float inverse = float(1.0 / std::sqrt(variance + double(options_.epsilon)));
    inverse_std_[size_t(r)] = inverse;
    float* xhat = normalized_.data() + r * D;
    float* out = y.data() + r * D;
    for (int64_t d = 0; d < D; ++d) {
      xhat[d] = float(in[d] - mean) * inverse;
      out[d] = xhat[d] * (gamma_.empty() ? 1.0f : gamma_[d]) + (beta_.empty() ? 0.0f : beta_[d]);
    }
  }
}

void LayerNormalization::backward(ConstTensorView dy, Tensor& dx) {
  CITADEL_ASSERT(!inverse_std_.empty(), name_, ": backward() called before forward()");
  CITADEL_CHECK(dy.shape() == normalized_.shape(), ShapeError, name_, " (LayerNormalization): gradient shape ",
                dy.shape(), " does not match output shape ", normalized_.shape());
  const int64_t D = features_, rows = dy.numel() / D;
  if (per_example_norms_needed_) record_per_example_norms(dy);
  if (parameter_gradients_needed_)
    for (int64_t r = 0; r < rows; ++r) {
      const float* g = dy.data() + r * D;
      const float* xhat = normalized_.data() + r * D;
      for (int64_t d = 0; d < D; ++d) {
        if (!dgamma_.empty()) dgamma_[d] += g[d] * xhat[d];
        if (!dbeta_.empty()) dbeta_[d] += g[d];
      }
    }
  if (!input_gradient_needed_) return;
  dx.resize(dy.shape());
  for (int64_t r = 0; r < rows; ++r) {
    const float* g = dy.data() + r * D;
    const float* xhat = normalized_.data() + r * D;
    double mean_g = 0, mean_gx = 0;
    for (int64_t d = 0; d < D; ++d) {
      const double scaled = double(g[d]) * (gamma_.empty() ? 1.0f : gamma_[d]);
      mean_g += scaled;
      mean_gx += scaled * xhat[d];
    }
    mean_g /= double(D);
    mean_gx /= double(D);
    float* out = dx.data() + r * D;
    for (int64_t d = 0; d < D; ++d) {
      const double scaled = double(g[d]) * (gamma_.empty() ? 1.0f : gamma_[d]);
      out[d] = float((scaled - mean_g - xhat[d] * mean_gx) * inverse_std_[size_t(r)]);
    }
  }
}

void LayerNormalization::record_per_example_norms(ConstTensorView dy) {
  const int64_t N = dy.shape(0), D = features_, rows = dy.numel() / (N * D);
  const int64_t G = options_.scale ? D : 0, B = options_.center ? D : 0;
  example_squared_norms_.assign(size_t(N), 0.0);
  example_grad_.resize(size_t(G + B));
  for (int64_t n = 0; n < N; ++n) {
    std::fill(example_grad_.begin(), example_grad_.end(), 0.0);
    for (int64_t r = n * rows; r < (n + 1) * rows; ++r)
      for (int64_t d = 0; d < D; ++d) {
        if (G) example_grad_[size_t(d)] += double(dy[r * D + d]) * normalized_[r * D + d];
        if (B) example_grad_[size_t(G + d)] += dy[r * D + d];
      }
    if (!gradient_sink_.empty()) {  // a shared layer: this call's per-example gradient, added
      float* row = gradient_sink_.data() + n * gradient_sink_.shape(1);
      for (size_t i = 0; i < example_grad_.size(); ++i) row[i] += float(example_grad_[i]);
      continue;
    }
    double total = 0;
    for (const double g : example_grad_) total += g * g;
    example_squared_norms_[size_t(n)] = total;
  }
}

std::unique_ptr<Layer> LayerNormalization::from_config(const LayerConfigReader& config) {
  config.check_keys({"axis", "epsilon", "center", "scale", "rms_scaling", "beta_initializer", "gamma_initializer",
                     "beta_regularizer", "gamma_regularizer", "beta_constraint", "gamma_constraint"});
  const int64_t axis = config.axis("axis", -1);
  CITADEL_CHECK(axis == -1, NotImplementedError, config.where(), ": 'axis' ", axis,
                " is not supported (only -1, the last axis)");
  config.require("rms_scaling", false);
  config.require_null("beta_constraint");
  config.require_null("gamma_constraint");
  LayerNormalizationOptions options;
  options.input_shape = config.input_shape();
  options.epsilon = float(config.number("epsilon", 1e-3));
  options.center = config.boolean("center", true);
  options.scale = config.boolean("scale", true);
  options.beta_initializer = config.initializer("beta_initializer", "zeros");
  options.gamma_initializer = config.initializer("gamma_initializer", "ones");
  options.beta_regularizer = config.regularizer("beta_regularizer");
  options.gamma_regularizer = config.regularizer("gamma_regularizer");
  return std::make_unique<LayerNormalization>(options);
}

void LayerNormalization::get_config(LayerConfigWriter& config) const {
  config.set_integer("axis", -1);
  config.set_number("epsilon", options_.epsilon);
  config.set_boolean("center", options_.center);
  config.set_boolean("scale", options_.scale);
  config.set_boolean("rms_scaling", false);
  config.set_string("beta_initializer", options_.beta_initializer);
  config.set_string("gamma_initializer", options_.gamma_initializer);
  config.set_regularizer("beta_regularizer", options_.beta_regularizer);
  config.set_regularizer("gamma_regularizer", options_.gamma_regularizer);
}

}  // namespace citadel
