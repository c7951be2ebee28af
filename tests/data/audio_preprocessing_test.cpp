// The speech front end a saved model carries: its framing from the rate, its features
// against the library's mfcc / log_mel_spectrogram on the padded or cut clip, the
// standardization adapt learns, and its JSON record, hostile ones refused by field; one
// front end's tables shared by clips and threads.
#include "citadel/data/audio_preprocessing.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <random>
#include <span>
#include <thread>
#include <vector>

#include "citadel/core/error.hpp"

namespace audio_preprocessing_test {

using namespace citadel;

namespace {

Tensor chirps(int64_t rows, int64_t length, uint32_t seed) {
  std::mt19937 random(seed);
  std::uniform_real_distribution<double> hz(200, 3000);
  Tensor x(Shape{rows, length});
  for (int64_t r = 0; r < rows; ++r) {
    const double f = hz(random);
    for (int64_t i = 0; i < length; ++i)
      x.at(r, i) = float(0.3 * std::sin(2 * std::numbers::pi * f * double(i) / 8000));
  }
  return x;
}

}  // namespace

TEST(AudioPreprocessing, FramesFollowTheRate) {
  const AudioPreprocessing at8k({.features = "mfcc", .sample_rate = 8000, .clip_samples = 8000});
  const AudioFeatureOptions f = at8k.feature_options();
  EXPECT_EQ(f.frame_length, 200);
  EXPECT_EQ(f.frame_step, 80);
  EXPECT_EQ(f.fft_length, 256);
  EXPECT_DOUBLE_EQ(f.upper_hz, 4000);
  EXPECT_EQ(at8k.feature_shape(), (Shape{98, 13}));  // 1 + (8000 − 200) / 80
  EXPECT_EQ(AudioPreprocessing({.features = "log_mel", .clip_samples = 16000}).feature_shape(), (Shape{98, 40}));
}

TEST(AudioPreprocessing, FeaturesAreTheLibrarysOnThePaddedClip) {
  AudioPreprocessing front({.features = "mfcc", .sample_rate = 8000, .clip_samples = 4000, .mfcc_count = 12});
  const Tensor waves = chirps(3, 3000, 1);  // shorter than the clip: padded with zeros
  const Tensor features = front.features(waves);
  std::vector<float> padded(4000, 0.0f);
  std::copy_n(waves.data() + 3000, 3000, padded.begin());  // row 1
  const Tensor expected = mfcc(padded, front.feature_options());
  for (int64_t i = 0; i < expected.numel(); ++i)
    ASSERT_FLOAT_EQ(features.data()[expected.numel() + i], expected.data()[i]) << i;

  // Adapted, each coefficient has mean 0 and standard deviation 1 over the training frames.
  front.adapt(waves);
  const Tensor scaled = front.features(waves);
  const int64_t width = front.coefficients(), count = scaled.numel() / width;
  for (int64_t c = 0; c < width; ++c) {
    double sum = 0, squares = 0;
    for (int64_t i = 0; i < count; ++i) sum += scaled.data()[i * width + c];
    for (int64_t i = 0; i < count; ++i) squares += std::pow(scaled.data()[i * width + c] - sum / double(count), 2);
    EXPECT_NEAR(sum / double(count), 0.0, 1e-4) << c;
    EXPECT_NEAR(std::sqrt(squares / double(count)), 1.0, 1e-3) << c;
  }

  // The record gives back the same front end.
  const AudioPreprocessing restored = AudioPreprocessing::from_json(front.to_json());
  const Tensor again = restored.features(waves);
  for (int64_t i = 0; i < again.numel(); ++i) ASSERT_EQ(again.data()[i], scaled.data()[i]) << i;
}

TEST(AudioPreprocessing, BadSettingsAndRecordsAreRefusedByField) {
  EXPECT_THROW(AudioPreprocessing({.features = "spectrum"}), ValueError);
  EXPECT_THROW(AudioPreprocessing({.clip_samples = 100}), ValueError);  // under one frame
  EXPECT_THROW(AudioPreprocessing({.mel_bins = 10, .mfcc_count = 13}), ValueError);
  const std::string good = AudioPreprocessing({.clip_samples = 16000}).to_json();
  auto refused = [](const std::string& record, const std::string& expected) {
    try {
      AudioPreprocessing::from_json(record);
      ADD_FAILURE() << record;
    } catch (const IoError& e) {
      EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
    }
  };
  refused("[1]", "not a JSON object");
  refused("{\"features\": \"mfcc\"}", "has no 'sample_rate'");
  refused(R"({"features":"mfcc","sample_rate":16000,"clip_samples":16000,"mel_bins":40,"mfcc_count":13,)"
          R"("mean":[1,2],"std":[1,2]})",
          "'mean' must list one number per coefficient (13)");
  refused(R"({"features":"mfcc","sample_rate":0,"clip_samples":16000,"mel_bins":40,"mfcc_count":13,"mean":[],)"
          R"("std":[]})",
          "sample rate");
  refused(good.substr(0, good.size() - 1) + ",\"extra\":1}", "unknown field 'extra'");
  refused("[[[[1]]]]", "nested too deep");
}

// clip() (resample_head) resamples only what the clip needs: the same samples as resampling the whole
// recording and cutting it, for rates up and down and recordings shorter than the clip.
TEST(AudioPreprocessing, ClipEqualsResamplingTheWholeRecordingThenCutting) {
  std::mt19937 random(5);
  std::uniform_real_distribution<float> unit(-0.5f, 0.5f);
  for (const int64_t from : {8000, 16000, 22050, 44100, 48000}) {
    for (const double seconds : {0.1, 0.6, 3.0}) {
      Audio audio;
      audio.sample_rate = from;
      audio.samples.resize(size_t(seconds * double(from)));
      for (float& s : audio.samples) s = unit(random);
      const AudioPreprocessing front({.features = "mfcc", .sample_rate = 16000, .clip_samples = 8000});
      std::vector<float> expected = resample(audio.samples, from, 16000);
      expected.resize(8000, 0.0f);
      const std::vector<float> clip = front.clip(audio);
      ASSERT_EQ(clip.size(), expected.size());
      for (size_t i = 0; i < clip.size(); ++i) ASSERT_EQ(clip[i], expected[i]) << from << " Hz, " << seconds << " s, " << i;
    }
  }
}

// The window, filterbank and DCT are built once per front end: the features of clips that
// one front end featurizes one after another, and from four threads at once, are bit for bit
// those of a fresh front end per clip (and of the library's mfcc / log_mel_spectrogram).
TEST(AudioPreprocessing, OneFrontEndFeaturizesLikeAFreshOnePerClipOnSeveralThreads) {
  for (const std::string features : {"mfcc", "log_mel"}) {
    const AudioPreprocessingOptions options{.features = features, .sample_rate = 8000, .clip_samples = 2400};
    const AudioPreprocessing shared(options);
    const Tensor waves = chirps(6, 2400, 9);
    const Tensor together = shared.features(waves);
    const int64_t per_row = together.numel() / 6;
    std::vector<Tensor> fresh;
    for (int64_t r = 0; r < 6; ++r) {
      Tensor one(Shape{1, 2400});
      std::copy_n(waves.data() + r * 2400, 2400, one.data());
      fresh.push_back(AudioPreprocessing(options).features(one));
      const std::span<const float> clip(waves.data() + r * 2400, 2400);
      const AudioFeatureOptions f = shared.feature_options();
      const Tensor library = features == "mfcc" ? mfcc(clip, f) : log_mel_spectrogram(clip, f);
      ASSERT_EQ(library.numel(), per_row);
      for (int64_t i = 0; i < per_row; ++i) {
        ASSERT_EQ(together.data()[r * per_row + i], fresh.back().data()[i]) << features << " row " << r << " " << i;
        ASSERT_EQ(together.data()[r * per_row + i], library.data()[i]) << features << " row " << r << " " << i;
      }
    }
    std::vector<Tensor> threaded(4);
    std::vector<std::thread> threads;
    for (size_t t = 0; t < threaded.size(); ++t)
      threads.emplace_back([&, t] {
        for (int round = 0; round < 5; ++round) threaded[t] = shared.features(waves);
      });
    for (std::thread& thread : threads) thread.join();
    for (const Tensor& got : threaded)
      for (int64_t i = 0; i < together.numel(); ++i)
        ASSERT_EQ(got.data()[i], together.data()[i]) << features << " thread, " << i;
  }
}

TEST(AudioPreprocessing, MaxClipSamplesGrowsWithTheInput) {
  EXPECT_EQ(AudioPreprocessing::max_clip_samples(98 * 13), int64_t{1} << 20);  // 1 s at 16 kHz fits anyway
  EXPECT_EQ(AudioPreprocessing::max_clip_samples(60000 * 40), 64 * 60000 * 40);
  // 600 s at 192 kHz (115,200,000 samples) makes 60,000 frames: 13 MFCCs a frame do not pay for it.
  EXPECT_LT(AudioPreprocessing::max_clip_samples(60000 * 13), 115'200'000);
}

}  // namespace audio_preprocessing_test
