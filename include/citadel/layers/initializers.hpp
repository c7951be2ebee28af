// Weight initializers by their Keras names (glorot_uniform, he_normal, zeros, ...).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "citadel/core/random.hpp"
#include "citadel/core/tensor.hpp"

namespace citadel {

// Fills `weights` as Keras's initializer `name` would, with fans computed from the shape
// as Keras does: (fan_in, fan_out) for a kernel (D, U); receptive field × channels for
// convolution kernels (..., C_in, C_out).
void initialize(std::string_view name, TensorView weights, Rng& rng);
// Throws ValueError listing the known names when `name` is unknown.
void check_initializer_name(std::string_view name);
const std::vector<std::string>& known_initializers();

// Not a user-facing name: the LSTM bias with unit_forget_bias (zeros, but ones for the
// forget gate's quarter, as Keras initializes it).
inline constexpr const char* kUnitForgetBiasInitializer = "citadel:lstm_unit_forget_bias";

}  // namespace citadel
