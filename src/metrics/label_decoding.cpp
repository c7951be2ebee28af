// Class decisions for the metrics.
#include "label_decoding.hpp"

namespace citadel::labels {

int64_t argmax(const float* row, int64_t C) {
  int64_t best = 0;
  for (int64_t c = 1; c < C; ++c)
    if (row[c] > row[best]) best = c;
  return best;
}

int64_t target_class(ConstTensorView targets, int64_t n, int64_t C, LabelKind kind) {
  if (kind == LabelKind::kSparse) return static_cast<int64_t>(targets[n]);
  return argmax(targets.data() + n * C, C);
}

}  // namespace citadel::labels
