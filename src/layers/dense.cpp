// Dense layer: shape checks and parameter bookkeeping around ops::dense_* kernels.
#include "citadel/layers/dense.hpp"

#include "citadel/core/error.hpp"
#include "citadel/layers/layer_config.hpp"
#include "citadel/layers/activations.hpp"
#include "citadel/layers/initializers.hpp"
#include "citadel/ops/dense.hpp"
#include "citadel/ops/reductions.hpp"
#include "kernel_settings.hpp"

namespace citadel {

Dense::Dense(int64_t units, const DenseOptions& options)
    : units_(units), options_(options), activation_(activation_from_name(options.activation)) {
  CITADEL_CHECK(units > 0, ValueError, "Dense: units must be positive, got ", units);
  CITADEL_CHECK(options.input_dim >= 0, ValueError, "Dense: input_dim must be positive, got ",
                options.input_dim);
  CITADEL_CHECK(options.input_dim == 0 || options.input_shape.empty() ||
                    options.input_shape == std::vector<int64_t>{options.input_dim},
                ValueError, "Dense: input_dim and input_shape disagree");
  check_initializer_name(options.kernel_initializer);
  check_initializer_name(options.bias_initializer);
}

std::optional<Shape> Dense::declared_input_shape() const {
  if (options_.input_dim > 0) return Shape{options_.input_dim};
  if (!options_.input_shape.empty()) return Shape(options_.input_shape);
  return std::nullopt;
}

Shape Dense::build(const Shape& input_shape, ParameterStore& params) {
  CITADEL_CHECK(input_shape.rank() == 1, ShapeError, name_,
                " (Dense): expected a flat input (features,), got ", input_shape,
                "; flatten the input first");
  if (auto declared = declared_input_shape())
    CITADEL_CHECK(*declared == input_shape, ShapeError, name_, " (Dense): declared input shape ",
                  *declared, " but the previous layer gives ", input_shape);
  in_features_ = input_shape[0];
  CITADEL_CHECK(in_features_ > 0, ShapeError, name_, " (Dense): input has no features");
  kernel_id_ = params.declare(name_ + "/kernel", Shape{in_features_, units_},
                              options_.kernel_initializer, options_.kernel_regularizer);
  if (options_.use_bias)
    bias_id_ = params.declare(name_ + "/bias", Shape{units_}, options_.bias_initializer,
                              options_.bias_regularizer);
  return Shape{units_};
}

void Dense::bind(ParameterStore& params) {
  kernel_ = params.value(kernel_id_);
  dkernel_ = params.grad(kernel_id_);
  if (bias_id_ >= 0) {
    bias_ = params.value(bias_id_);
    dbias_ = params.grad(bias_id_);
  }
}

int64_t Dense::parameter_count() const {
  return in_features_ * units_ + (options_.use_bias ? units_ : 0);
}

void Dense::forward(ConstTensorView x, Tensor& y, Mode) {
  CITADEL_ASSERT(!kernel_.empty(), name_, " used before the model was built");
  CITADEL_CHECK(x.rank() == 2 && x.shape(1) == in_features_, ShapeError, name_,
                " (Dense): expected input (N, ", in_features_, "), got ", x.shape());
  x_ = x;
  ops::dense_forward(x, kernel_, bias_, activation_.linear_output(y, Shape{x.shape(0), units_}));
  activation_.apply(y);
}

ConstTensorView Dense::pre_activation() const { return activation_.pre_activation(); }

void Dense::backward(ConstTensorView dy, Tensor& dx) {
  CITADEL_ASSERT(!x_.empty(), name_, ": backward() called before forward()");
  CITADEL_CHECK(dy.shape() == activation_.output().shape(), ShapeError, name_, " (Dense): gradient shape ",
                dy.shape(), " does not match output shape ", activation_.output().shape());
  backward_from_pre_activation(activation_.pre_activation_gradient(dy), dx);
}

void Dense::backward_from_pre_activation(ConstTensorView dz, Tensor& dx) {
  if (per_example_norms_needed_) record_per_example_norms(dz);
  const TensorView dkernel = parameter_gradients_needed_ ? dkernel_ : TensorView();
  const TensorView dbias = parameter_gradients_needed_ ? dbias_ : TensorView();
  if (!input_gradient_needed_) {
    ops::dense_backward(x_, kernel_, dz, TensorView(), dkernel, dbias);
    return;
  }
  dx.resize(x_.shape());
  ops::dense_backward(x_, kernel_, dz, dx, dkernel, dbias);
}


void Dense::record_per_example_norms(ConstTensorView dz) {
  const int64_t N = x_.shape(0), D = in_features_, U = units_;
  if (!gradient_sink_.empty()) {  // a shared layer: this call's per-example gradients, added
    CITADEL_ASSERT(gradient_sink_.shape(0) == N && gradient_sink_.shape(1) == parameter_count(), name_,
                   ": the per-example gradient sink does not fit the batch");
    for (int64_t n = 0; n < N; ++n) {
      float* row = gradient_sink_.data() + n * parameter_count();
      for (int64_t d = 0; d < D; ++d)
        for (int64_t u = 0; u < U; ++u) row[d * U + u] += x_[n * D + d] * dz[n * U + u];
      if (options_.use_bias)
        for (int64_t u = 0; u < U; ++u) row[D * U + u] += dz[n * U + u];
    }
    return;
  }
  example_squared_norms_.assign(static_cast<size_t>(N), 0.0);
  for (int64_t n = 0; n < N; ++n) {
    const double input = ops::squared_norm({x_.data() + n * D, size_t(D)});
    const double output = ops::squared_norm({dz.data() + n * U, size_t(U)});
    // The kernel's per-example gradient is the outer product x_i ⊗ dz_i.
    example_squared_norms_[static_cast<size_t>(n)] = input * output + (options_.use_bias ? output : 0.0);
  }
}

std::unique_ptr<Layer> Dense::from_config(const LayerConfigReader& config) {
  config.check_keys({"units", "activation", "use_bias", "kernel_initializer", "bias_initializer",
                     "kernel_regularizer", "bias_regularizer", "input_dim"});
  DenseOptions options;
  options.input_shape = config.input_shape();
  detail::read_kernel_settings(config, options);
  return std::make_unique<Dense>(config.integer("units", 1, config.limits().max_units), options);
}

void Dense::get_config(LayerConfigWriter& config) const {
  config.set_integer("units", units_);
  detail::write_kernel_settings(config, options_, activation_name(activation()));
}

}  // namespace citadel
