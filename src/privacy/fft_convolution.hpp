// A radix-2 FFT in double precision and the linear convolution of two real sequences
// through it: both privacy-loss-distribution computations (the accountant's upper bound and
// the audit's lower bound) compose steps with them. Private to src/privacy/.
#pragma once

#include <complex>
#include <vector>

namespace citadel::detail {

// In place, on a power-of-two length; `inverse` transforms back and divides by the length.
// Twiddle factors are computed for each index, so rounding does not grow with the length.
void fft(std::vector<std::complex<double>>& values, bool inverse);

// c[k] = Σ_i a[i] · b[k − i], k in [0, a.size() + b.size() − 1). Absolute error about
// 1e-16 × the largest entries; negative results of rounding are left as they are.
std::vector<double> convolve(const std::vector<double>& a, const std::vector<double>& b);

}  // namespace citadel::detail
