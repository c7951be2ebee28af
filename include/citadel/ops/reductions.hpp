// Reductions the per-example clipping of DP-SGD needs once per example and layer.
#pragma once

#include <span>

namespace citadel::ops {

// Σ v[i]², accumulated in double in eight interleaved partial sums (added in a fixed order,
// so the result does not depend on the processor): a single running sum would wait four
// cycles per element on the previous addition.
double squared_norm(std::span<const float> values);

}  // namespace citadel::ops
