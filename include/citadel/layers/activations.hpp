// Activation names as in Keras ("relu", "sigmoid", ...) and their kernels' kinds.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "citadel/ops/activations.hpp"

namespace citadel {

// Throws ValueError listing the known names when `name` is unknown. "" means linear.
ops::ActivationKind activation_from_name(std::string_view name);
std::string activation_name(ops::ActivationKind kind);
const std::vector<std::string>& known_activations();

}  // namespace citadel
