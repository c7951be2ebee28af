// Convolution by the FFT (citadel/core/fft.hpp): both real inputs packed into one complex
// transform (a + i·b), their spectra separated by symmetry, multiplied, and transformed back.
#include "fft_convolution.hpp"

#include <cmath>
#include <complex>

#include "citadel/core/fft.hpp"

namespace citadel::detail {

using Complex = std::complex<double>;

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
    const Complex sum = p + q, difference = p - q;  // 2·A_k and 2i·B_k
    // (sum · difference) / 4i, with the division written out: exact, and no complex divide.
    const double re = sum.real() * difference.real() - sum.imag() * difference.imag();
    const double im = sum.real() * difference.imag() + sum.imag() * difference.real();
    product[k] = Complex(im / 4, -re / 4);
  }
  fft(product, true);
  std::vector<double> c(out);
  for (size_t k = 0; k < out; ++k) c[k] = product[k].real();
  return c;
}

}  // namespace citadel::detail
