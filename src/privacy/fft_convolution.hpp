// The linear convolution of two real sequences through the FFT (citadel/core/fft.hpp): both
// privacy-loss-distribution computations (the accountant's upper bound and the audit's lower
// bound) compose steps with it. Private to src/privacy/.
#pragma once

#include <vector>

namespace citadel::detail {

// c[k] = Σ_i a[i] · b[k − i], k in [0, a.size() + b.size() − 1). Absolute error about
// 1e-16 × the largest entries; negative results of rounding are left as they are.
std::vector<double> convolve(const std::vector<double>& a, const std::vector<double>& b);

}  // namespace citadel::detail
