// Class decisions for the metrics.
#include "label_decoding.hpp"

#include <cmath>

#include "citadel/core/error.hpp"

namespace citadel::labels {

int64_t argmax(const float* row, int64_t C) {
  int64_t best = 0;
  for (int64_t c = 1; c < C; ++c)
    if (row[c] > row[best]) best = c;
  return best;
}

int64_t target_class(ConstTensorView targets, int64_t n, int64_t C, LabelKind kind) {
  if (kind != LabelKind::kSparse) return argmax(targets.data() + n * C, C);
  // Checked as a float before the cast: NaN, ±inf or 1e30 cast to int64 is undefined.
  const float label = targets[n];
  CITADEL_CHECK(std::isfinite(label) && label >= 0 && label < float(C) && label == std::floor(label), ValueError,
                "target at row ", n, " is ", label, "; class labels must be whole numbers in 0..", C - 1);
  return static_cast<int64_t>(label);
}

}  // namespace citadel::labels
