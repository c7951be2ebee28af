// The standard normal distribution's tails, as the privacy accountants and audits integrate them.
#pragma once

#include <cmath>

namespace citadel {

// P[N(0,1) ≥ z], by erfc so that far tails keep their relative precision.
inline double normal_upper_tail(double z) { return 0.5 * std::erfc(z / std::sqrt(2.0)); }
// P[N(0,1) ≤ z].
inline double normal_lower_tail(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }

}  // namespace citadel
