// Conv2D layer: argument and shape checks around the ops::conv2d_* kernels.
#include "citadel/layers/conv2d.hpp"

#include "citadel/core/error.hpp"
#include "citadel/layers/layer_config.hpp"
#include "citadel/layers/activations.hpp"
#include "citadel/layers/initializers.hpp"
#include "citadel/ops/gemm.hpp"
#include "citadel/ops/precision.hpp"
#include "kernel_settings.hpp"

namespace citadel {

namespace {

void check_padding(const std::string& layer, const std::string& padding) {
  CITADEL_CHECK(padding == "valid" || padding == "same", ValueError, layer,
                ": padding must be \"valid\" or \"same\", got \"", padding, "\"");
}

}  // namespace

Conv2D::Conv2D(int64_t filters, std::array<int64_t, 2> kernel_size, const Conv2DOptions& options)
    : filters_(filters),
      kernel_size_(kernel_size),
      options_(options),
      activation_(activation_from_name(options.activation)) {
  CITADEL_CHECK(filters > 0, ValueError, "Conv2D: filters must be positive, got ", filters);
  for (int axis = 0; axis < 2; ++axis) {
    CITADEL_CHECK(kernel_size[axis] > 0, ValueError, "Conv2D: kernel_size must be positive, got (",
                  kernel_size[0], ", ", kernel_size[1], ")");
    CITADEL_CHECK(options.strides[axis] > 0, ValueError, "Conv2D: strides must be positive, got (",
                  options.strides[0], ", ", options.strides[1], ")");
    CITADEL_CHECK(options.dilation_rate[axis] > 0, ValueError,
                  "Conv2D: dilation_rate must be positive, got (", options.dilation_rate[0], ", ",
                  options.dilation_rate[1], ")");
  }
  const bool strided = options.strides[0] > 1 || options.strides[1] > 1;
  const bool dilated = options.dilation_rate[0] > 1 || options.dilation_rate[1] > 1;
  CITADEL_CHECK(!(strided && dilated), ValueError,
                "Conv2D: strides > 1 cannot be combined with dilation_rate > 1 (as in Keras)");
  check_padding("Conv2D", options.padding);
  check_initializer_name(options.kernel_initializer);
  check_initializer_name(options.bias_initializer);
}

std::optional<Shape> Conv2D::declared_input_shape() const {
  if (options_.input_shape.empty()) return std::nullopt;
  return Shape(options_.input_shape);
}

Shape Conv2D::build(const Shape& input_shape, ParameterStore& params) {
  CITADEL_CHECK(input_shape.rank() == 3, ShapeError, name_,
                " (Conv2D): expected images (height, width, channels), got ", input_shape.batch_str(),
                "; give input_shape={H, W, C} or add a Reshape layer");
  if (auto declared = declared_input_shape())
    CITADEL_CHECK(*declared == input_shape, ShapeError, name_, " (Conv2D): declared input shape ",
                  *declared, " but the previous layer gives ", input_shape);
  const bool same = options_.padding == "same";
  const auto rows = ops::axis_geometry(input_shape[0], kernel_size_[0], options_.strides[0],
                                       options_.dilation_rate[0], same);
  const auto cols = ops::axis_geometry(input_shape[1], kernel_size_[1], options_.strides[1],
                                       options_.dilation_rate[1], same);
  CITADEL_CHECK(rows.out > 0 && cols.out > 0, ShapeError, name_, " (Conv2D): a ", kernel_size_[0], "x",
                kernel_size_[1], " kernel (dilation ", options_.dilation_rate[0], "x",
                options_.dilation_rate[1], ") does not fit in a ", input_shape[0], "x", input_shape[1],
                " input with padding \"valid\"");
  geometry_ = {.in_h = input_shape[0], .in_w = input_shape[1], .in_c = input_shape[2],
               .kernel_h = kernel_size_[0], .kernel_w = kernel_size_[1],
               .stride_h = options_.strides[0], .stride_w = options_.strides[1],
               .dilation_h = options_.dilation_rate[0], .dilation_w = options_.dilation_rate[1],
               .pad_top = rows.pad_before, .pad_left = cols.pad_before,
               .out_h = rows.out, .out_w = cols.out, .filters = filters_};
  kernel_id_ = params.declare(name_ + "/kernel", Shape{kernel_size_[0], kernel_size_[1], input_shape[2], filters_},
                              options_.kernel_initializer, options_.kernel_regularizer);
  if (options_.use_bias)
    bias_id_ = params.declare(name_ + "/bias", Shape{filters_}, options_.bias_initializer,
                              options_.bias_regularizer);
  return Shape{rows.out, cols.out, filters_};
}

void Conv2D::bind(ParameterStore& params) {
  kernel_ = params.value(kernel_id_);
  dkernel_ = params.grad(kernel_id_);
  if (bias_id_ >= 0) {
    bias_ = params.value(bias_id_);
    dbias_ = params.grad(bias_id_);
  }
}

int64_t Conv2D::parameter_count() const {
  return geometry_.patch() * filters_ + (options_.use_bias ? filters_ : 0);
}

void Conv2D::forward(ConstTensorView x, Tensor& y, Mode) {
  CITADEL_ASSERT(!kernel_.empty(), name_, " used before the model was built");
  const Shape expected{geometry_.in_h, geometry_.in_w, geometry_.in_c};
  CITADEL_CHECK(x.rank() == 4 && x.shape().without_batch() == expected, ShapeError, name_,
                " (Conv2D): expected input ", expected.batch_str(), ", got ", x.shape());
  geometry_.batch = x.shape(0);
  x_ = x;
  const Shape out{geometry_.batch, geometry_.out_h, geometry_.out_w, filters_};
  // The bf16 products work on the unfolded input; float32 convolves directly.
  unfolded_ = ops::current_precision() == ops::Precision::kMixedBFloat16;
  if (unfolded_)
    ops::conv2d_forward(x, kernel_, bias_, geometry_, cols_, activation_.linear_output(y, out));
  else
    ops::conv2d_direct_forward(x, kernel_, bias_, geometry_, activation_.linear_output(y, out));
  cols_current_ = unfolded_;
  activation_.apply(y);
}

ConstTensorView Conv2D::pre_activation() const { return activation_.pre_activation(); }

void Conv2D::backward(ConstTensorView dy, Tensor& dx) {
  CITADEL_ASSERT(!activation_.output().empty(), name_, ": backward() called before forward()");
  CITADEL_CHECK(dy.shape() == activation_.output().shape(), ShapeError, name_, " (Conv2D): gradient shape ",
                dy.shape(), " does not match output shape ", activation_.output().shape());
  backward_from_pre_activation(activation_.pre_activation_gradient(dy), dx);
}

void Conv2D::backward_from_pre_activation(ConstTensorView dz, Tensor& dx) {
  if (per_example_norms_needed_) {
    if (!cols_current_) {  // the direct forward made no unfolded input: the per-example products need it
      cols_.resize(Shape{geometry_.rows(), geometry_.patch()});
      ops::im2col(x_.data(), geometry_, cols_.data());
      cols_current_ = true;
    }
    record_per_example_norms(dz);
  }
  const TensorView dkernel = parameter_gradients_needed_ ? dkernel_ : TensorView();
  const TensorView dbias = parameter_gradients_needed_ ? dbias_ : TensorView();
  TensorView input_gradient;
  if (input_gradient_needed_) {
    dx.resize(Shape{geometry_.batch, geometry_.in_h, geometry_.in_w, geometry_.in_c});
    input_gradient = dx;
  }
  if (unfolded_)
    ops::conv2d_backward(cols_, kernel_, dz, geometry_, dcols_, input_gradient, dkernel, dbias);
  else
    ops::conv2d_direct_backward(x_, kernel_, dz, geometry_, input_gradient, dkernel, dbias);
}


void Conv2D::record_per_example_norms(ConstTensorView dz_all) {
  example_squared_norms_.assign(static_cast<size_t>(geometry_.batch), 0.0);
  ops::conv_per_example_gradients(cols_, dz_all, geometry_, options_.use_bias, example_kernel_grad_, gradient_sink_,
                                  example_squared_norms_);
}

std::unique_ptr<Layer> Conv2D::from_config(const LayerConfigReader& config) {
  config.check_keys({"filters", "kernel_size", "strides", "padding", "dilation_rate", "activation", "use_bias",
                     "kernel_initializer", "bias_initializer", "kernel_regularizer", "bias_regularizer",
                     "data_format", "groups"});
  config.require("data_format", "channels_last");
  config.require("groups", int64_t{1});
  Conv2DOptions options;
  options.input_shape = config.input_shape();
  options.strides = config.pair("strides", {1, 1});
  options.padding = config.string("padding", "valid");
  options.dilation_rate = config.pair("dilation_rate", {1, 1});
  detail::read_kernel_settings(config, options);
  const std::array<int64_t, 2> kernel_size = config.pair("kernel_size");
  return std::make_unique<Conv2D>(config.integer("filters", 1, config.limits().max_units), kernel_size, options);
}

void Conv2D::get_config(LayerConfigWriter& config) const {
  config.set_integer("filters", filters_);
  config.set_list("kernel_size", kernel_size_);
  config.set_list("strides", options_.strides);
  config.set_string("padding", options_.padding);
  config.set_list("dilation_rate", options_.dilation_rate);
  detail::write_kernel_settings(config, options_, activation_name(activation()));
}

}  // namespace citadel
