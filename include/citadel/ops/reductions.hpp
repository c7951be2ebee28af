// Row reductions in double: the per-example clipping of DP-SGD's norms, LayerNormalization's
// mean and variance. Each runs eight interleaved partial sums added in a fixed order (so the
// result does not depend on the processor): a single running sum would wait four cycles per
// element on the previous addition.
#pragma once

#include <span>

namespace citadel::ops {

// Σ v[i]².
double squared_norm(std::span<const float> values);
// Σ v[i].
double sum(std::span<const float> values);
// Σ (v[i] − center)².
double squared_deviation(std::span<const float> values, double center);

}  // namespace citadel::ops
