// Waveform augmentation: speech power over the voiced span, noise at the SNR asked for
// (measured back), and copies that are deterministic in the seed, of the clips' length.
#include "citadel/data/audio_augmentation.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <vector>

#include "citadel/core/error.hpp"

namespace audio_augmentation_test {

using namespace citadel;

namespace {

// Silence, then `count` samples of a sine of amplitude `amplitude`, then silence.
std::vector<float> tone_in_silence(int64_t count, double amplitude) {
  std::vector<float> wave(size_t(3 * count), 0.0f);
  for (int64_t i = 0; i < count; ++i)
    wave[size_t(count + i)] = float(amplitude * std::sin(2 * std::numbers::pi * double(i) / 40.0 + 0.3));
  return wave;
}

}  // namespace

TEST(AudioAugmentation, SpeechPowerIsThePowerOfTheVoicedSpan) {
  const std::vector<float> wave = tone_in_silence(8000, 0.5);
  EXPECT_NEAR(speech_power(wave), 0.5 * 0.5 / 2, 2e-3);  // a sine's power, the silence left out
  EXPECT_EQ(speech_power(std::vector<float>(100, 0.0f)), 0.0);
}

TEST(AudioAugmentation, NoiseHasTheSnrAsked) {
  const std::vector<float> clean = tone_in_silence(20000, 0.5);
  for (const double snr : {5.0, 20.0}) {
    std::vector<float> noisy = clean;
    std::mt19937_64 random(1);
    add_white_noise(noisy, snr, random);
    double noise = 0;
    for (size_t i = 0; i < clean.size(); ++i) noise += std::pow(double(noisy[i]) - clean[i], 2);
    noise /= double(clean.size());
    EXPECT_NEAR(10 * std::log10(speech_power(clean) / noise), snr, 0.1) << snr;
  }
}

TEST(AudioAugmentation, CopiesAreSeededAndKeepTheLength) {
  Tensor waves(Shape{2, 6000});
  const std::vector<float> a = tone_in_silence(2000, 0.3), b = tone_in_silence(2000, 0.6);
  std::copy(a.begin(), a.end(), waves.data());
  std::copy(b.begin(), b.end(), waves.data() + 6000);
  const Tensor first = augment_waveforms(waves, 8000, {.copies = 3, .seed = 4});
  const Tensor again = augment_waveforms(waves, 8000, {.copies = 3, .seed = 4});
  const Tensor other = augment_waveforms(waves, 8000, {.copies = 3, .seed = 5});
  ASSERT_EQ(first.shape(), (Shape{6, 6000}));
  bool differs = false;
  for (int64_t i = 0; i < first.numel(); ++i) {
    ASSERT_EQ(first[i], again[i]) << i;
    differs |= first[i] != other[i];
  }
  EXPECT_TRUE(differs);
  // Without noise, speed or shift, a copy is the clip scaled by a gain within ±12 dB.
  const Tensor gained = augment_waveforms(
      waves, 8000, {.copies = 1, .min_speed = 1, .max_speed = 1, .max_shift_seconds = 0, .noisy_share = 0});
  const double ratio = gained[3000] / waves[3000];
  EXPECT_GE(std::abs(ratio), std::pow(10.0, -12.0 / 20) - 1e-6);
  EXPECT_LE(std::abs(ratio), std::pow(10.0, 12.0 / 20) + 1e-6);
  for (int64_t i = 2500; i < 3500; ++i) EXPECT_NEAR(gained[i], waves[i] * ratio, 1e-3) << i;
  EXPECT_THROW(augment_waveforms(waves, 8000, {.copies = -1}), ValueError);
}

}  // namespace audio_augmentation_test
