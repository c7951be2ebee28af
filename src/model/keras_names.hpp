// One naming rule for layers and identifiers, Keras's: an underscore where a lower-case
// letter meets an upper-case one, then lower case ("Conv2D" → "conv2d", "MaxPooling2D" →
// "max_pooling2d", "GlorotUniform" → "glorot_uniform").
#pragma once

#include <string>

namespace citadel::detail {

std::string keras_snake_case(const std::string& name);
// A layer name as this version writes it: before the one rule above, "Conv2D" became
// "conv2_d" and "MaxPooling2D" "max_pooling2_d"; such names (in files written then) read
// as "conv2d" and "max_pooling2d". No current name contains "2_d".
std::string current_layer_name(std::string name);

}  // namespace citadel::detail
