// The Keras settings Dense and Conv2D share: activation, bias, initializers and
// regularizers of the kernel and the bias, read and written once for both.
#pragma once

#include <string>

#include "citadel/layers/layer_config.hpp"

namespace citadel::detail {

template <typename Options>
void read_kernel_settings(const LayerConfigReader& config, Options& options) {
  options.activation = config.string("activation", "linear");
  options.use_bias = config.boolean("use_bias", true);
  options.kernel_initializer = config.initializer("kernel_initializer", "glorot_uniform");
  options.bias_initializer = config.initializer("bias_initializer", "zeros");
  options.kernel_regularizer = config.regularizer("kernel_regularizer");
  options.bias_regularizer = config.regularizer("bias_regularizer");
}

// `activation` is the canonical name of the activation in use.
template <typename Options>
void write_kernel_settings(LayerConfigWriter& config, const Options& options, const std::string& activation) {
  config.set_string("activation", activation);
  config.set_boolean("use_bias", options.use_bias);
  config.set_string("kernel_initializer", options.kernel_initializer);
  config.set_string("bias_initializer", options.bias_initializer);
  config.set_regularizer("kernel_regularizer", options.kernel_regularizer);
  config.set_regularizer("bias_regularizer", options.bias_regularizer);
}

}  // namespace citadel::detail
