// The (ε, δ)-DP region of ROC curves, its curve to draw, and the measured points above it.
#include "citadel/privacy/dp_roc_bound.hpp"

#include <algorithm>
#include <cmath>

#include "citadel/core/error.hpp"

namespace citadel {

double dp_true_positive_rate_bound(double fpr, double epsilon, double delta) {
  CITADEL_CHECK(epsilon >= 0 && delta >= 0 && delta < 1, ValueError, "dp_true_positive_rate_bound: needs ε ≥ 0 and "
                "0 ≤ δ < 1, got ε ", epsilon, ", δ ", delta);
  fpr = std::clamp(fpr, 0.0, 1.0);
  // The first line from TPR ≤ e^ε·FPR + δ; the second from TNR ≤ e^ε·FNR + δ, solved for TPR.
  const double bound = std::min({1.0, std::exp(epsilon) * fpr + delta, 1 - std::exp(-epsilon) * (1 - delta - fpr)});
  return std::max(bound, 0.0);
}

DpRocBound dp_roc_bound(double epsilon, double delta, double smallest_fpr, int points_per_decade) {
  CITADEL_CHECK(smallest_fpr > 0 && smallest_fpr < 1 && points_per_decade >= 1, ValueError,
                "dp_roc_bound: needs 0 < smallest_fpr < 1 and a point per decade or more, got ", smallest_fpr, " and ",
                points_per_decade);
  std::vector<double> fpr{0, (1 - delta) / (1 + std::exp(epsilon)), 1 - delta, 1};
  const double decades = -std::log10(smallest_fpr);
  const int steps = static_cast<int>(std::ceil(decades * points_per_decade));
  for (int i = 0; i <= steps; ++i) fpr.push_back(std::pow(10.0, -decades * (1 - double(i) / steps)));
  std::sort(fpr.begin(), fpr.end());
  fpr.erase(std::unique(fpr.begin(), fpr.end()), fpr.end());
  DpRocBound curve;
  for (double x : fpr) {
    curve.false_positive_rate.push_back(x);
    curve.true_positive_rate.push_back(dp_true_positive_rate_bound(x, epsilon, delta));
  }
  return curve;
}

int64_t roc_points_above_dp_bound(const RocCurve& roc, double epsilon, double delta) {
  int64_t above = 0;
  for (size_t i = 0; i < roc.false_positive_rate.size() && i < roc.true_positive_rate.size(); ++i)
    // A margin, so that a point on the bound (TPR 1 at FPR 1) is not counted for its rounding.
    if (roc.true_positive_rate[i] > dp_true_positive_rate_bound(roc.false_positive_rate[i], epsilon, delta) + 1e-12)
      ++above;
  return above;
}

}  // namespace citadel
