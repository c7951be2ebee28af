// The FFT against the DFT computed term by term, its inverse, its refusal of lengths that
// are not powers of two, and its per-thread twiddle cache (lengths alternating, two threads).
#include "citadel/core/fft.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <random>
#include <thread>

#include "citadel/core/error.hpp"

namespace fft_test {

using namespace citadel;
using Complex = std::complex<double>;

namespace {

std::vector<Complex> random_values(size_t n, unsigned seed) {
  std::mt19937_64 engine(seed);
  std::normal_distribution<double> normal;
  std::vector<Complex> values(n);
  for (Complex& value : values) value = Complex(normal(engine), normal(engine));
  return values;
}

// X_k = Σ_j x_j exp(∓2πijk/n), in long double.
std::vector<Complex> direct_dft(const std::vector<Complex>& x, bool inverse) {
  const size_t n = x.size();
  std::vector<Complex> out(n);
  for (size_t k = 0; k < n; ++k) {
    long double re = 0, im = 0;
    for (size_t j = 0; j < n; ++j) {
      const long double angle = (inverse ? 2 : -2) * std::numbers::pi_v<long double> * ((j * k) % n) / n;
      re += x[j].real() * std::cos(angle) - x[j].imag() * std::sin(angle);
      im += x[j].real() * std::sin(angle) + x[j].imag() * std::cos(angle);
    }
    out[k] = inverse ? Complex(double(re / n), double(im / n)) : Complex(double(re), double(im));
  }
  return out;
}

double largest_difference(const std::vector<Complex>& a, const std::vector<Complex>& b) {
  double largest = 0;
  for (size_t i = 0; i < a.size(); ++i) largest = std::max(largest, std::abs(a[i] - b[i]));
  return largest;
}

}  // namespace

TEST(Fft, MatchesTheDirectDftBothWays) {
  for (size_t n : {1u, 2u, 4u, 8u, 64u, 512u}) {
    for (bool inverse : {false, true}) {
      const std::vector<Complex> x = random_values(n, unsigned(n) + inverse);
      std::vector<Complex> transformed = x;
      fft(transformed, inverse);
      EXPECT_LT(largest_difference(transformed, direct_dft(x, inverse)), 1e-12 * std::sqrt(double(n)) + 1e-14)
          << "n " << n << " inverse " << inverse;
    }
  }
}

TEST(Fft, InverseUndoesTheTransformAtLargeLengths) {
  const std::vector<Complex> x = random_values(size_t{1} << 16, 7);
  std::vector<Complex> round_trip = x;
  fft(round_trip, false);
  fft(round_trip, true);
  EXPECT_LT(largest_difference(round_trip, x), 1e-13);
}

TEST(Fft, RefusesLengthsThatAreNotPowersOfTwo) {
  std::vector<Complex> values(12);
  EXPECT_THROW(fft(values, false), ValueError);
}

// The twiddles are cached per thread for the last length: alternating lengths, and two
// threads transforming different lengths at once, must give each length its own factors.
TEST(Fft, AlternatingLengthsAndThreadsGiveTheSameResults) {
  const std::vector<Complex> small = random_values(32, 1), large = random_values(256, 2);
  std::vector<Complex> small_once = small, large_once = large;
  fft(small_once, false);
  fft(large_once, false);
  auto alternate = [&](int rounds, double* worst) {
    for (int i = 0; i < rounds; ++i) {
      std::vector<Complex> a = small, b = large;
      fft(a, false);
      fft(b, false);
      *worst = std::max({*worst, largest_difference(a, small_once), largest_difference(b, large_once)});
    }
  };
  double worst_here = 0, worst_there = 0;
  std::thread other(alternate, 200, &worst_there);
  alternate(200, &worst_here);
  other.join();
  EXPECT_EQ(worst_here, 0.0);
  EXPECT_EQ(worst_there, 0.0);
}

}  // namespace fft_test
