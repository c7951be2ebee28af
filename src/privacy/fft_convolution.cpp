// The radix-2 FFT, and convolution by it: both real inputs packed into one complex transform
// (a + i·b), their spectra separated by symmetry, multiplied, and transformed back. Twiddle
// factors are computed directly for each index (not by repeated multiplication), so rounding
// does not grow with the transform's length.
#include "fft_convolution.hpp"

#include <cmath>
#include <complex>
#include <numbers>

namespace citadel::detail {

using Complex = std::complex<double>;

void fft(std::vector<Complex>& values, bool inverse) {
  const size_t n = values.size();
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

std::vector<double> convolve(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.empty() || b.empty()) return {};
  const size_t out = a.size() + b.size() - 1;
  size_t n = 1;
  while (n < out) n <<= 1;
  std::vector<Complex> packed(n);
  for (size_t i = 0; i < a.size(); ++i) packed[i].real(a[i]);
  for (size_t i = 0; i < b.size(); ++i) packed[i].imag(b[i]);
  fft(packed, false);
  // A_k = (P_k + conj P_{n−k}) / 2, B_k = (P_k − conj P_{n−k}) / 2i; the product A_k·B_k.
  std::vector<Complex> product(n);
  for (size_t k = 0; k < n; ++k) {
    const Complex p = packed[k], q = std::conj(packed[(n - k) & (n - 1)]);
    product[k] = (p + q) * (p - q) / Complex(0, 4);
  }
  fft(product, true);
  std::vector<double> c(out);
  for (size_t k = 0; k < out; ++k) c[k] = product[k].real();
  return c;
}

}  // namespace citadel::detail
