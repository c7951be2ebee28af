// The ROC region an (ε, δ)-DP model allows any membership attack (Kairouz, Oh and Viswanath
// 2015, the hypothesis-testing view of DP): TPR ≤ e^ε·FPR + δ and TNR ≤ e^ε·FNR + δ, that is
//   TPR ≤ min(1, e^ε·FPR + δ, 1 − e^−ε·(1 − δ − FPR)).
// `citadel audit` draws it beside the attacks' ROC when the audited model was trained with DP.
#pragma once

#include <cstdint>
#include <vector>

#include "citadel/metrics/curves.hpp"

namespace citadel {

// The largest true-positive rate an (ε, δ)-DP mechanism allows at this false-positive rate.
double dp_true_positive_rate_bound(double false_positive_rate, double epsilon, double delta);

struct DpRocBound {
  std::vector<double> false_positive_rate, true_positive_rate;  // increasing FPR
};
// The bound as a curve to draw: its corners (0, δ), ((1 − δ)/(1 + e^ε), ·), (1 − δ, 1), (1, 1),
// which make it exact on a linear axis, and `points_per_decade` log-spaced points from
// smallest_fpr (> 0) up, where e^ε·FPR + δ bends on a log axis.
DpRocBound dp_roc_bound(double epsilon, double delta, double smallest_fpr = 1e-4, int points_per_decade = 8);

// The points of a measured ROC strictly above the bound. A raw count: with few rows a point
// crosses it by chance (one member of 300 at FPR 0 is TPR 0.0033 > δ), so the verdict on an
// attack is its epsilon lower bound (with its confidence) against ε, not this count.
int64_t roc_points_above_dp_bound(const RocCurve& roc, double epsilon, double delta);

}  // namespace citadel
