// Shared validation of targets against predictions, with messages that say what to use.
// The loss is named only in a message: a check that passes allocates nothing (train_on_batch
// runs them on every batch).
#pragma once

#include <string>

#include "citadel/core/tensor.hpp"
#include "citadel/losses/loss.hpp"

namespace citadel::loss_checks {

// Targets shaped like the predictions; (N) is accepted for predictions (N, 1).
void same_shape(const Loss& loss, const Shape& predictions, const Shape& targets);
// Every value is finite.
void finite(const Loss& loss, ConstTensorView targets);
// Every value lies in [0, 1].
void probabilities(const Loss& loss, ConstTensorView targets);

}  // namespace citadel::loss_checks
