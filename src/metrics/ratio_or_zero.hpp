// A share whose denominator may be zero (no positives predicted, no rows of a class): Keras's and
// scikit-learn's metrics report 0 there rather than NaN, and so do citadel's.
#pragma once

namespace citadel {

inline double ratio_or_zero(double numerator, double denominator) {
  return denominator == 0 ? 0.0 : numerator / denominator;
}

}  // namespace citadel
