// One naming rule for layers and identifiers, Keras's: an underscore where a lower-case
// letter meets an upper-case one, then lower case ("Conv2D" → "conv2d", "MaxPooling2D" →
// "max_pooling2d", "GlorotUniform" → "glorot_uniform").
#pragma once

#include <string>

namespace citadel::detail {

std::string keras_snake_case(const std::string& name);

}  // namespace citadel::detail
