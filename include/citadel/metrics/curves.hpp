// ROC and precision-recall curves of scores against binary labels, exact (one point per
// distinct score, tied scores moving together), thinned for drawing.
#pragma once

#include <cstddef>
#include <vector>

namespace citadel {

struct RocCurve {
  std::vector<double> false_positive_rate, true_positive_rate;  // from (0, 0) to (1, 1)
  double auc = 0;  // exact (roc_auc), not from the thinned points
};

struct PrecisionRecallCurve {
  std::vector<double> recall, precision;  // recall rising from 0 (precision 1 there, as scikit-learn)
  double average_precision = 0;           // Σ (R_n − R_{n−1})·P_n over every threshold
};

// Both are empty (auc / average_precision NaN) when a label class is missing or a score is
// NaN. At most `max_points` points are kept (both ends always), evenly along the sweep.
RocCurve roc_curve(const std::vector<float>& scores, const std::vector<unsigned char>& labels,
                   size_t max_points = 256);
PrecisionRecallCurve precision_recall_curve(const std::vector<float>& scores, const std::vector<unsigned char>& labels,
                                            size_t max_points = 256);

}  // namespace citadel
