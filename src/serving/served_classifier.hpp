// What the per-row defences of `serve` (--smoothing, --strip) both need of a served model: a
// saved classifier (its schema names the classes they answer with or read) of one
// classification output and one real-valued input.
#pragma once

#include <string>

#include "citadel/serving/inference_protocol.hpp"

namespace citadel::serving {

// Throws a ValueError that begins with `where` (the flag and model) and says what `feature`
// needs, for a model that is not one.
void check_served_classifier(const ServedModel& served, const std::string& where, const std::string& feature);

}  // namespace citadel::serving
