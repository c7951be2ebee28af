// What train, attack and audit share about protecting models: attack settings from the
// command line, and the valid input range of the data an attack may move inputs within.
#pragma once

#include <vector>

#include "citadel/attacks/adversarial.hpp"
#include "citadel/attacks/certified_training.hpp"
#include "citadel/privacy/private_fit.hpp"
#include "pipeline.hpp"
#include "flags.hpp"

namespace citadel::cli {

// --eps as numbers ("0.05,0.1"); each >= 0.
std::vector<double> epsilon_list(const std::string& text, const char* option);
// The attack --method/--norm/--steps/... describe, with random starts from `seed`: pixels
// stay in [0, 1]; CSV features (as the model sees them, after scaling) stay within the
// range observed in `range_rows`.
AttackOptions attack_options(const AttackFlags& flags, uint64_t seed, const PreparedData& data,
                             const Tensor& range_rows);
// Under --dp an attack may not clip to the private rows' observed range (one row would move
// every adversarial input): the range is the declared bounds put through the preprocessing
// (one-hot features [0, 1]). ValueError naming the column when one has no declared bound.
void use_declared_range(AttackOptions& options, const PreparedData& data, const Preprocessor& preprocessor);
// The Input an attack perturbs (--attack-input NAME, needed when the model has several):
// sets options.input and keeps of the valid range the features of that Input's column group.
// ValueError naming --attack-input and the model's inputs when the name is missing or unknown.
void choose_attacked_input(AttackOptions& options, const Model& model, const PreparedData& data,
                           const std::string& name);
// --dp's options: clipping, noise (or --target-epsilon), δ, sampling.
DPSGDOptions dp_options(const PrivacyFlags& flags);

// train --certified-training ibp at radius ε: the warm-up and ramp in steps of the rows fit()
// trains on, and the input range (pixels: [0, 1]; CSV: unbounded, which is sound if loose).
CertifiedTrainingOptions certified_training_plan(const AttackFlags& flags, double epsilon, const PreparedData& data,
                                                 const FitOptions& fit);

}  // namespace citadel::cli
