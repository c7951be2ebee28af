// DP-SGD's Gaussian noise: its tails against the normal distribution over 10⁸ draws, how
// far the sampler can reach at all, and the noise's dependence on the key alone.
#include "citadel/ops/noise.hpp"

#include "citadel/core/threads.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

namespace noise_test {

using namespace citadel;

namespace {

// P(|Z| > t) for a standard normal.
double two_sided_tail(double t) { return std::erfc(t / std::sqrt(2.0)); }

}  // namespace

TEST(GaussianNoise, TailsMatchTheNormalDistributionOver1e8Draws) {
  SecureRng rng = SecureRng::from_os();
  const std::vector<double> thresholds{2.0, 3.0, 4.0, 4.5, 5.0, 6.0};
  std::vector<int64_t> beyond(thresholds.size(), 0);
  std::vector<float> values(10'000'000);
  const int64_t rounds = 10;
  double sum = 0, squares = 0;
  for (int64_t round = 0; round < rounds; ++round) {
    std::fill(values.begin(), values.end(), 0.0f);
    ops::add_gaussian_noise(values, 1.0, rng);
    for (float v : values) {
      const double magnitude = std::fabs(double(v));
      sum += v;
      squares += double(v) * v;
      for (size_t t = 0; t < thresholds.size(); ++t) beyond[t] += magnitude > thresholds[t];
    }
  }
  const double draws = double(rounds) * double(values.size());
  EXPECT_NEAR(sum / draws, 0.0, 5.0 / std::sqrt(draws));
  EXPECT_NEAR(squares / draws, 1.0, 5.0 * std::sqrt(2.0 / draws));
  for (size_t t = 0; t < thresholds.size(); ++t) {
    const double expected = draws * two_sided_tail(thresholds[t]);  // 6σ: 0.2 expected
    const double allowed = 5.0 * std::sqrt(expected) + 3.0;         // 5 Poisson standard deviations
    EXPECT_NEAR(double(beyond[t]), expected, allowed) << "beyond " << thresholds[t] << "σ";
    std::printf("beyond %.1f sigma: %lld of %.0f draws (normal: %.1f)\n", thresholds[t],
                static_cast<long long>(beyond[t]), draws, expected);
  }
}

// Float Box-Muller over 24-bit uniforms stops at 5.77σ; the ziggurat's exact tail algorithm
// over 53-bit uniforms reaches about 12σ, so no tail that matters against δ is cut off.
TEST(GaussianNoise, TailAlgorithmReachesFarIntoTheTails) {
  double z = 0;
  const uint64_t smallest = 0, largest = ~uint64_t{0};  // u = 2^-53 and u = 1
  ASSERT_TRUE(ops::gaussian_tail_step(uint64_t{1} << 11 << 30, smallest, z));  // u1 = 2^-23: x ≈ 4.4
  EXPECT_GT(z, 3.65 + 4.3);
  EXPECT_FALSE(ops::gaussian_tail_step(smallest, largest, z));  // x ≈ 10 needs y ≥ 50: rejected
  // Near the farthest a 53-bit word can reach (x²/2 = 53·ln 2 at x ≈ 8.57): x = 8.4, z ≈ 12σ.
  const uint64_t far = uint64_t(std::exp(-8.4 * 3.6541528853610088) * 0x1p53) << 11;
  ASSERT_TRUE(ops::gaussian_tail_step(far, smallest, z));
  EXPECT_GT(z, 11.9);
}

TEST(GaussianNoise, SameKeySameNoiseOtherKeyOtherNoise) {
  std::vector<float> a(50'000, 0.0f), b(50'000, 0.0f), c(50'000, 0.0f);
  SecureRng first = SecureRng::from_seed(1, 2), again = SecureRng::from_seed(1, 2), other = SecureRng::from_os();
  ops::add_gaussian_noise(a, 2.0, first);
  ops::add_gaussian_noise(b, 2.0, again);
  ops::add_gaussian_noise(c, 2.0, other);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_FALSE(first.reproducible() == other.reproducible());
}

namespace {

// The ziggurat written again from Marsaglia and Tsang (2000), one value at a time with no
// fast path, over the keystream words of the chunks' nonces (16,384 values per nonce,
// nonces from 0 for a fresh stream): what add_gaussian_noise must equal bit for bit,
// whichever path (AVX-512 or scalar) and thread count computed it.
std::vector<float> plain_ziggurat_noise(SecureRng& twin, size_t count, double stddev) {
  constexpr int kLayers = 256;
  constexpr double r = 3.6541528853610088, area = 4.92867323399e-3;
  auto f = [](double x) { return std::exp(-0.5 * x * x); };
  std::vector<double> x(kLayers + 1), fx(kLayers + 1);
  x[0] = area / f(r), x[1] = r, x[kLayers] = 0;
  for (int i = 1; i < kLayers - 1; ++i) x[i + 1] = std::sqrt(-2.0 * std::log(area / x[i] + f(x[i])));
  for (int i = 0; i <= kLayers; ++i) fx[i] = f(x[i]);
  std::vector<float> values(count, 0.0f);
  const size_t chunk = 16384;
  for (size_t c = 0; c * chunk < count; ++c) {
    Keystream stream = twin.open_keystream(c, 0);
    auto next = [&stream] {
      uint64_t word;
      stream.read(std::span<uint64_t>(&word, 1));
      return word;
    };
    for (size_t i = c * chunk; i < std::min(count, (c + 1) * chunk); ++i) {
      double z = 0;
      while (true) {
        const uint64_t word = next();
        const int layer = static_cast<int>(word & 0xFF);
        const bool negative = (word >> 8) & 1;
        const double u = static_cast<double>(word >> 11) * 0x1.0p-53, candidate = u * x[layer];
        if (candidate < x[layer + 1]) {
          z = negative ? -candidate : candidate;
          break;
        }
        if (layer == 0) {
          double tail = 0;
          while (true) {
            const uint64_t a = next(), b = next();
            if (ops::gaussian_tail_step(a, b, tail)) break;
          }
          z = negative ? -tail : tail;
          break;
        }
        const double y = fx[layer] + static_cast<double>(next() >> 11) * 0x1.0p-53 * (fx[layer + 1] - fx[layer]);
        if (y < f(candidate)) {
          z = negative ? -candidate : candidate;
          break;
        }
      }
      values[i] += static_cast<float>(stddev * z);
    }
  }
  return values;
}

}  // namespace

TEST(GaussianNoise, EqualsThePlainZigguratOnTheKeystreamAtOneAndTwoThreads) {
  const size_t count = 3 * 16384 + 1234;  // a last chunk that is not whole
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    SecureRng rng = SecureRng::from_seed(21, 8), twin = SecureRng::from_seed(21, 8);
    std::vector<float> values(count, 0.0f);
    ops::add_gaussian_noise(values, 1.7, rng);
    const std::vector<float> expected = plain_ziggurat_noise(twin, count, 1.7);
    const auto differ = std::mismatch(values.begin(), values.end(), expected.begin());
    EXPECT_TRUE(differ.first == values.end()) << threads << " threads: value " << (differ.first - values.begin())
                                              << " is " << *differ.first << ", the plain loop's " << *differ.second;
  }
}

}  // namespace noise_test
