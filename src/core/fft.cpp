// The radix-2 FFT. Twiddle factors are computed directly for each index (not by repeated
// multiplication), so rounding does not grow with the transform's length.
#include "citadel/core/fft.hpp"

#include <cmath>
#include <numbers>

#include "citadel/core/error.hpp"

namespace citadel {

using Complex = std::complex<double>;

void fft(std::vector<Complex>& values, bool inverse) {
  const size_t n = values.size();
  CITADEL_CHECK((n & (n - 1)) == 0, ValueError, "fft: the length must be a power of two, got ", n);
  for (size_t i = 1, j = 0; i < n; ++i) {  // bit-reversal permutation
    size_t bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) std::swap(values[i], values[j]);
  }
  std::vector<Complex> twiddles(n / 2);
  const double sign = inverse ? 1.0 : -1.0;
  for (size_t k = 0; k < n / 2; ++k) {
    const double angle = sign * 2 * std::numbers::pi * double(k) / double(n);
    twiddles[k] = Complex(std::cos(angle), std::sin(angle));
  }
  for (size_t length = 2; length <= n; length <<= 1) {
    const size_t half = length / 2, stride = n / length;
    for (size_t start = 0; start < n; start += length)
      for (size_t k = 0; k < half; ++k) {
        const Complex even = values[start + k], odd = values[start + k + half] * twiddles[k * stride];
        values[start + k] = even + odd;
        values[start + k + half] = even - odd;
      }
  }
  if (inverse)
    for (Complex& value : values) value /= double(n);
}

}  // namespace citadel
