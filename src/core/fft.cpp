// The radix-2 FFT. Twiddle factors are computed directly for each index (not by repeated
// multiplication), so rounding does not grow with the transform's length; they are kept per
// thread for the last length used, since callers transform many arrays of one length (the
// frames of a spectrogram, an accountant's compositions).
#include "citadel/core/fft.hpp"

#include <cmath>
#include <numbers>

#include "citadel/core/error.hpp"

namespace citadel {
namespace {

using Complex = std::complex<double>;

// exp(−2πik/n) for k < n/2.
const std::vector<Complex>& forward_twiddles(size_t n) {
  thread_local std::vector<Complex> twiddles;
  thread_local size_t length = 0;
  if (length != n) {
    twiddles.resize(n / 2);
    for (size_t k = 0; k < n / 2; ++k) {
      const double angle = -2 * std::numbers::pi * double(k) / double(n);
      twiddles[k] = Complex(std::cos(angle), std::sin(angle));
    }
    length = n;
  }
  return twiddles;
}

}  // namespace

void fft(std::vector<Complex>& values, bool inverse) {
  const size_t n = values.size();
  CITADEL_CHECK((n & (n - 1)) == 0, ValueError, "fft: the length must be a power of two, got ", n);
  for (size_t i = 1, j = 0; i < n; ++i) {  // bit-reversal permutation
    size_t bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) std::swap(values[i], values[j]);
  }
  const std::vector<Complex>& twiddles = forward_twiddles(n);
  const double sign = inverse ? -1.0 : 1.0;  // the inverse transform's twiddles are the conjugates
  // Real arithmetic: std::complex's operator* checks every product for NaN (C99 Annex G).
  for (size_t length = 2; length <= n; length <<= 1) {
    const size_t half = length / 2, stride = n / length;
    for (size_t start = 0; start < n; start += length)
      for (size_t k = 0; k < half; ++k) {
        const double wr = twiddles[k * stride].real(), wi = sign * twiddles[k * stride].imag();
        Complex& even = values[start + k];
        Complex& odd = values[start + k + half];
        const double odd_r = odd.real() * wr - odd.imag() * wi, odd_i = odd.real() * wi + odd.imag() * wr;
        const double even_r = even.real(), even_i = even.imag();
        even = Complex(even_r + odd_r, even_i + odd_i);
        odd = Complex(even_r - odd_r, even_i - odd_i);
      }
  }
  if (inverse)
    for (Complex& value : values) value /= double(n);
}

}  // namespace citadel
