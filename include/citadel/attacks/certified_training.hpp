// Certified training by interval bound propagation (Gowal et al. 2018, "On the effectiveness
// of interval bound propagation for training verifiably robust models").
//
// Each step descends κ·L(f(x), y) + (1 − κ)·L(z̃, y), where z̃ are the worst-case logits IBP
// bounds over the ℓ∞ box of radius ε around x (the label's lower bound, every other class's
// upper bound). Training starts clean; over a ramp ε grows linearly from 0 to its target and κ
// falls from 1 to its final value, since bounds of a network far from robust are too loose to
// learn from. A model trained so has verified accuracy (citadel/attacks/interval_bounds.hpp)
// where a normally trained one has none.
#pragma once

#include <cstdint>
#include <limits>

#include "citadel/model/model.hpp"

namespace citadel {

struct CertifiedTrainingOptions {
  double epsilon = 0.1;  // the ℓ∞ radius trained for (Gowal et al. train at 1.1 × the one they verify)
  float clip_min = -std::numeric_limits<float>::infinity();  // the valid input range
  float clip_max = std::numeric_limits<float>::infinity();
  double final_kappa = 0.5;   // the clean loss's weight after the ramp (1 before it)
  int64_t warmup_steps = 0;   // clean steps first
  int64_t ramp_steps = 0;     // steps over which ε and κ move to their targets (0: at once)
};

struct CertifiedTrainingSchedule {
  double epsilon = 0;
  double kappa = 1;
};
// ε and κ at step `step` (0-based) of training.
CertifiedTrainingSchedule certified_training_schedule(const CertifiedTrainingOptions& options, int64_t step);

// The FitOptions::gradient_step of IBP training for a classifier whose last layer (or last
// Activation layer) is a softmax (categorical cross-entropy on the worst-case logits) or one
// sigmoid unit (binary cross-entropy on the worst-case logit). The compiled loss is the clean
// part; weight penalties count in full. Steps are counted across fit() calls of one returned
// function. The model must be one IntervalPropagation takes.
GradientStep certified_training(const CertifiedTrainingOptions& options);

// The robust part alone, for tests: the mean cross-entropy of the worst-case logits of
// (x, y) at radius ε; when `gradient_weight` is nonzero, adds that multiple of its gradient to
// the model's parameter gradients.
double worst_case_loss(Model& model, ConstTensorView x, ConstTensorView y, const CertifiedTrainingOptions& box,
                       double epsilon, double gradient_weight);

}  // namespace citadel
