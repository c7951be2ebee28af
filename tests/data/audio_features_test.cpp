// The log-mel spectrogram against a direct computation (a DFT by its definition, the mel
// triangles written out here), a tone landing in the filter around its frequency, the
// MFCCs' orthonormal DCT preserving energy (Parseval), framing and refused options.
#include "citadel/data/audio_features.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <numbers>
#include <vector>

#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"

namespace audio_features_test {

using namespace citadel;

namespace {

// One frame's log-mel energies, computed the slow way.
std::vector<double> direct_log_mel(const std::vector<float>& x, int64_t start, const AudioFeatureOptions& o) {
  const int64_t bins = o.fft_length / 2 + 1;
  std::vector<double> power(static_cast<size_t>(bins));
  for (int64_t k = 0; k < bins; ++k) {
    std::complex<double> sum;
    for (int64_t i = 0; i < o.frame_length; ++i) {
      const double w = 0.5 * (1 - std::cos(2 * std::numbers::pi * double(i) / double(o.frame_length)));
      sum += double(x[size_t(start + i)]) * w *
             std::polar(1.0, -2 * std::numbers::pi * double(k) * double(i) / double(o.fft_length));
    }
    power[size_t(k)] = std::norm(sum);
  }
  auto mel = [](double hz) { return 1127.0 * std::log(1 + hz / 700.0); };  // = 2595·log10(1 + hz/700)
  std::vector<double> out;
  const double lo = mel(o.lower_hz), hi = mel(o.upper_hz), step = (hi - lo) / double(o.mel_bins + 1);
  for (int64_t m = 0; m < o.mel_bins; ++m) {
    const double left = lo + step * double(m), center = left + step, right = center + step;
    double energy = 0;
    for (int64_t k = 0; k < bins; ++k) {
      const double f = mel(double(k) * double(o.sample_rate) / double(o.fft_length));
      double weight = 0;
      if (f > left && f <= center) weight = (f - left) / step;
      if (f > center && f < right) weight = (right - f) / step;
      energy += weight * power[size_t(k)];
    }
    out.push_back(std::log(energy + o.log_offset));
  }
  return out;
}

}  // namespace

TEST(AudioFeatures, LogMelEqualsTheDirectComputation) {
  random::set_seed(5);
  const Tensor noise = random::uniform(Shape{2000}, -1.0f, 1.0f);
  const std::vector<float> x(noise.data(), noise.data() + noise.numel());
  const AudioFeatureOptions o;
  const Tensor got = log_mel_spectrogram(x, o);
  ASSERT_EQ(got.shape(0), 1 + (2000 - 400) / 160);
  ASSERT_EQ(got.shape(1), 40);
  for (int64_t f : {int64_t{0}, int64_t{3}, got.shape(0) - 1}) {
    const std::vector<double> expected = direct_log_mel(x, f * 160, o);
    for (int64_t m = 0; m < 40; ++m) EXPECT_NEAR(got[f * 40 + m], expected[size_t(m)], 1e-4) << "frame " << f << " bin " << m;
  }
}

TEST(AudioFeatures, AToneLandsInTheFilterAroundItsFrequency) {
  for (const double hz : {300.0, 1000.0, 3500.0}) {
    std::vector<float> x(4000);
    for (size_t i = 0; i < x.size(); ++i) x[i] = float(std::sin(2 * std::numbers::pi * hz * double(i) / 16000.0));
    const Tensor s = log_mel_spectrogram(x);
    int64_t best = 0;
    for (int64_t m = 1; m < 40; ++m) best = s[m] > s[best] ? m : best;
    // Filter m peaks at edge m + 1 of 42 mel-spaced edges from 20 to 8000 Hz.
    const double lo = hz_to_mel(20), hi = hz_to_mel(8000);
    const double center_mel = lo + (hi - lo) * double(best + 1) / 41.0;
    EXPECT_LT(std::abs(center_mel - hz_to_mel(hz)), (hi - lo) / 41.0) << hz << " Hz in filter " << best;
  }
  EXPECT_NEAR(hz_to_mel(1000), 1000.0, 0.1);  // the HTK scale's anchor
  EXPECT_NEAR(mel_to_hz(hz_to_mel(4321)), 4321, 1e-9);
}

TEST(AudioFeatures, MfccIsAnOrthonormalDctOfTheLogMel) {
  random::set_seed(6);
  const Tensor noise = random::uniform(Shape{1200}, -0.5f, 0.5f);
  const std::vector<float> x(noise.data(), noise.data() + noise.numel());
  const AudioFeatureOptions all{.mfcc_count = 40};
  const Tensor log_mel = log_mel_spectrogram(x, all), coefficients = mfcc(x, all);
  ASSERT_EQ(coefficients.shape(), log_mel.shape());
  for (int64_t f = 0; f < log_mel.shape(0); ++f) {
    double a = 0, b = 0;
    for (int64_t m = 0; m < 40; ++m) a += double(log_mel[f * 40 + m]) * log_mel[f * 40 + m];
    for (int64_t c = 0; c < 40; ++c) b += double(coefficients[f * 40 + c]) * coefficients[f * 40 + c];
    EXPECT_NEAR(b, a, 1e-4 * a) << "frame " << f;  // Parseval
    double mean = 0;
    for (int64_t m = 0; m < 40; ++m) mean += log_mel[f * 40 + m];
    EXPECT_NEAR(coefficients[f * 40], mean / std::sqrt(40.0), 1e-3);  // c0 = √M · the mean
  }
  EXPECT_EQ(mfcc(x).shape(1), 13);
}

TEST(AudioFeatures, ShortSignalsHaveNoFramesAndBadOptionsAreRefused) {
  const std::vector<float> short_signal(399, 0.0f);
  EXPECT_EQ(log_mel_spectrogram(short_signal).shape(0), 0);
  const std::vector<float> silence(400, 0.0f);
  const Tensor s = log_mel_spectrogram(silence);
  ASSERT_EQ(s.shape(0), 1);
  EXPECT_FLOAT_EQ(s[0], float(std::log(1e-6)));  // silence stays finite
  EXPECT_THROW(log_mel_spectrogram(silence, {.fft_length = 500}), ValueError);
  EXPECT_THROW(log_mel_spectrogram(silence, {.fft_length = 256}), ValueError);  // shorter than a frame
  EXPECT_THROW(log_mel_spectrogram(silence, {.upper_hz = 9000}), ValueError);  // past Nyquist
  EXPECT_THROW(mfcc(silence, {.mfcc_count = 41}), ValueError);
}

}  // namespace audio_features_test
