// What train, attack and audit share about protecting models: attack settings from the
// command line, and the valid input range of the data an attack may move inputs within.
#pragma once

#include <vector>

#include "citadel/attacks/adversarial.hpp"
#include "citadel/privacy/private_fit.hpp"
#include "pipeline.hpp"
#include "settings.hpp"

namespace citadel::cli {

// --eps as numbers ("0.05,0.1"); each >= 0.
std::vector<double> epsilon_list(const std::string& text, const char* option);
// The attack --method/--norm/--steps/... describe, for inputs like `x`: pixels stay in
// [0, 1]; CSV features (as the model sees them, after scaling) stay within the range
// observed in `range_rows`.
AttackOptions attack_options(const Settings& settings, const PreparedData& data, const Tensor& range_rows);
// train --dp: the plan (sampling rate, steps, noise) for this run.
DPSGDOptions dp_options(const Settings& settings);

}  // namespace citadel::cli
