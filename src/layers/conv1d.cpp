// Conv1D layer: argument and shape checks, and the causal padding, around the Conv2D kernels
// (a sequence is an image of height 1; Keras's (K, C, F) kernel is the (1, K, C, F) one).
#include "citadel/layers/conv1d.hpp"

#include "citadel/core/error.hpp"
#include "citadel/layers/activations.hpp"
#include "citadel/layers/initializers.hpp"
#include "citadel/layers/layer_config.hpp"
#include "citadel/ops/gemm.hpp"
#include "kernel_settings.hpp"

namespace citadel {

Conv1D::Conv1D(int64_t filters, int64_t kernel_size, const Conv1DOptions& options)
    : filters_(filters), kernel_size_(kernel_size), options_(options), activation_(activation_from_name(options.activation)) {
  CITADEL_CHECK(filters > 0, ValueError, "Conv1D: filters must be positive, got ", filters);
  CITADEL_CHECK(kernel_size > 0, ValueError, "Conv1D: kernel_size must be positive, got ", kernel_size);
  CITADEL_CHECK(options.strides > 0, ValueError, "Conv1D: strides must be positive, got ", options.strides);
  CITADEL_CHECK(options.dilation_rate > 0, ValueError, "Conv1D: dilation_rate must be positive, got ",
                options.dilation_rate);
  CITADEL_CHECK(!(options.strides > 1 && options.dilation_rate > 1), ValueError,
                "Conv1D: strides > 1 cannot be combined with dilation_rate > 1 (as in Keras)");
  CITADEL_CHECK(options.padding == "valid" || options.padding == "same" || options.padding == "causal", ValueError,
                "Conv1D: padding must be \"valid\", \"same\" or \"causal\", got \"", options.padding, "\"");
  check_initializer_name(options.kernel_initializer);
  check_initializer_name(options.bias_initializer);
}

std::optional<Shape> Conv1D::declared_input_shape() const {
  if (options_.input_shape.empty()) return std::nullopt;
  return Shape(options_.input_shape);
}

Shape Conv1D::build(const Shape& input_shape, ParameterStore& params) {
  CITADEL_CHECK(input_shape.rank() == 2 && input_shape.numel() > 0, ShapeError, name_,
                " (Conv1D): expected sequences (steps, channels), got ", input_shape.batch_str(),
                "; give input_shape={T, C} or add a Reshape layer");
  if (auto declared = declared_input_shape())
    CITADEL_CHECK(*declared == input_shape, ShapeError, name_, " (Conv1D): declared input shape ", *declared,
                  " but the previous layer gives ", input_shape);
  const int64_t steps = input_shape[0], span = (kernel_size_ - 1) * options_.dilation_rate;
  // Causal: (K - 1)·dilation zeros before the first step, then a "valid" convolution.
  const bool causal = options_.padding == "causal";
  ops::AxisGeometry axis = ops::axis_geometry(steps + (causal ? span : 0), kernel_size_, options_.strides,
                                              options_.dilation_rate, options_.padding == "same");
  if (causal) axis.pad_before = span;
  CITADEL_CHECK(axis.out > 0, ShapeError, name_, " (Conv1D): a kernel of ", kernel_size_, " (dilation ",
                options_.dilation_rate, ") does not fit in ", steps, " steps with padding \"valid\"");
  geometry_ = {.in_h = 1, .in_w = steps, .in_c = input_shape[1], .kernel_h = 1, .kernel_w = kernel_size_,
               .stride_h = 1, .stride_w = options_.strides, .dilation_h = 1, .dilation_w = options_.dilation_rate,
               .pad_top = 0, .pad_left = axis.pad_before, .out_h = 1, .out_w = axis.out, .filters = filters_};
  kernel_id_ = params.declare(name_ + "/kernel", Shape{kernel_size_, input_shape[1], filters_},
                              options_.kernel_initializer, options_.kernel_regularizer);
  if (options_.use_bias)
    bias_id_ = params.declare(name_ + "/bias", Shape{filters_}, options_.bias_initializer, options_.bias_regularizer);
  return Shape{axis.out, filters_};
}

void Conv1D::bind(ParameterStore& params) {
  kernel_ = params.value(kernel_id_);
  dkernel_ = params.grad(kernel_id_);
  if (bias_id_ >= 0) {
    bias_ = params.value(bias_id_);
    dbias_ = params.grad(bias_id_);
  }
}

int64_t Conv1D::parameter_count() const { return geometry_.patch() * filters_ + (options_.use_bias ? filters_ : 0); }

void Conv1D::forward(ConstTensorView x, Tensor& y, Mode) {
  CITADEL_ASSERT(!kernel_.empty(), name_, " used before the model was built");
  const Shape expected{geometry_.in_w, geometry_.in_c};
  CITADEL_CHECK(x.rank() == 3 && x.shape().without_batch() == expected, ShapeError, name_,
                " (Conv1D): expected input ", expected.batch_str(), ", got ", x.shape());
  geometry_.batch = x.shape(0);
  const Shape out{geometry_.batch, geometry_.out_w, filters_};
  ops::conv2d_forward(x, kernel_, bias_, geometry_, cols_, activation_.linear_output(y, out));
  activation_.apply(y);
}

ConstTensorView Conv1D::pre_activation() const { return activation_.pre_activation(); }

void Conv1D::backward(ConstTensorView dy, Tensor& dx) {
  CITADEL_ASSERT(!activation_.output().empty(), name_, ": backward() called before forward()");
  CITADEL_CHECK(dy.shape() == activation_.output().shape(), ShapeError, name_, " (Conv1D): gradient shape ",
                dy.shape(), " does not match output shape ", activation_.output().shape());
  backward_from_pre_activation(activation_.pre_activation_gradient(dy), dx);
}

void Conv1D::backward_from_pre_activation(ConstTensorView dz, Tensor& dx) {
  if (per_example_norms_needed_) record_per_example_norms(dz);
  const TensorView dkernel = parameter_gradients_needed_ ? dkernel_ : TensorView();
  const TensorView dbias = parameter_gradients_needed_ ? dbias_ : TensorView();
  if (!input_gradient_needed_) {
    ops::conv2d_backward(cols_, kernel_, dz, geometry_, dcols_, TensorView(), dkernel, dbias);
    return;
  }
  dx.resize(Shape{geometry_.batch, geometry_.in_w, geometry_.in_c});
  ops::conv2d_backward(cols_, kernel_, dz, geometry_, dcols_, dx, dkernel, dbias);
}

void Conv1D::record_per_example_norms(ConstTensorView dz_all) {
  example_squared_norms_.assign(static_cast<size_t>(geometry_.batch), 0.0);
  ops::conv_per_example_gradients(cols_, dz_all, geometry_, options_.use_bias, example_kernel_grad_, gradient_sink_,
                                  example_squared_norms_);
}

std::unique_ptr<Layer> Conv1D::from_config(const LayerConfigReader& config) {
  config.check_keys({"filters", "kernel_size", "strides", "padding", "dilation_rate", "activation", "use_bias",
                     "kernel_initializer", "bias_initializer", "kernel_regularizer", "bias_regularizer",
                     "data_format", "groups"});
  config.require("data_format", "channels_last");
  config.require("groups", int64_t{1});
  Conv1DOptions options;
  options.input_shape = config.input_shape();
  options.strides = config.single("strides", 1);
  options.padding = config.string("padding", "valid");
  options.dilation_rate = config.single("dilation_rate", 1);
  detail::read_kernel_settings(config, options);
  return std::make_unique<Conv1D>(config.integer("filters", 1, config.limits().max_units), config.single("kernel_size"),
                                  options);
}

void Conv1D::get_config(LayerConfigWriter& config) const {
  config.set_integer("filters", filters_);
  const int64_t kernel[1] = {kernel_size_}, strides[1] = {options_.strides}, dilation[1] = {options_.dilation_rate};
  config.set_list("kernel_size", kernel);
  config.set_list("strides", strides);
  config.set_string("padding", options_.padding);
  config.set_list("dilation_rate", dilation);
  detail::write_kernel_settings(config, options_, activation_name(activation()));
}

}  // namespace citadel
