// Shared validation of targets against predictions, with messages that say what to use.
#pragma once

#include <string>

#include "citadel/core/tensor.hpp"

namespace citadel::loss_checks {

// Targets shaped like the predictions; (N) is accepted for predictions (N, 1).
void same_shape(const std::string& loss, const Shape& predictions, const Shape& targets);
// Every value is finite.
void finite(const std::string& loss, ConstTensorView targets);
// Every value lies in [0, 1].
void probabilities(const std::string& loss, ConstTensorView targets);

}  // namespace citadel::loss_checks
