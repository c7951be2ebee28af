// The speech front end a saved model carries: resample, pad or cut, MFCC or log-mel,
// standardize per coefficient.
#include "citadel/data/audio_preprocessing.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "citadel/core/error.hpp"
#include "citadel/core/json_limits.hpp"

namespace citadel {
namespace {

constexpr int64_t kMaxSampleRate = 192'000;
constexpr int64_t kMaxClipSeconds = 600;  // a clip is one utterance, not a recording session

int64_t next_power_of_two(int64_t n) {
  int64_t p = 1;
  while (p < n) p *= 2;
  return p;
}

// The features a preprocessing's options ask for: 25 ms frames every 10 ms.
AudioFeatureOptions feature_options_of(const AudioPreprocessingOptions& options) {
  AudioFeatureOptions f;
  f.sample_rate = options.sample_rate;
  f.frame_length = std::max<int64_t>(1, (options.sample_rate * 25 + 500) / 1000);
  f.frame_step = std::max<int64_t>(1, (options.sample_rate + 50) / 100);
  f.fft_length = next_power_of_two(f.frame_length);
  f.mel_bins = options.mel_bins;
  f.lower_hz = 20;
  f.upper_hz = std::min(8000.0, options.sample_rate / 2.0);
  f.mfcc_count = options.features == "mfcc" ? options.mfcc_count : 1;
  return f;
}

// `o` when every option is in range (checked before the extractor's tables are built from them).
const AudioPreprocessingOptions& checked(const AudioPreprocessingOptions& o) {
  CITADEL_CHECK(o.features == "mfcc" || o.features == "log_mel", ValueError,
                "audio features must be 'mfcc' or 'log_mel', got '", o.features, "'");
  CITADEL_CHECK(o.sample_rate >= 1000 && o.sample_rate <= kMaxSampleRate, ValueError,
                "audio sample rate must be 1000 to ", kMaxSampleRate, " Hz, got ", o.sample_rate);
  const int64_t frame = feature_options_of(o).frame_length;
  CITADEL_CHECK(o.clip_samples >= frame && o.clip_samples <= kMaxClipSeconds * o.sample_rate, ValueError,
                "audio clip length must be one 25 ms frame (", frame, " samples) to ", kMaxClipSeconds,
                " seconds, got ", o.clip_samples, " samples");
  CITADEL_CHECK(o.mel_bins >= 1 && o.mel_bins <= 256, ValueError, "audio mel bins must be 1 to 256, got ", o.mel_bins);
  CITADEL_CHECK(o.features != "mfcc" || (o.mfcc_count >= 1 && o.mfcc_count <= o.mel_bins), ValueError,
                "the MFCC count must be 1 to the mel bins (", o.mel_bins, "), got ", o.mfcc_count);
  return o;
}

}  // namespace

AudioPreprocessing::AudioPreprocessing(const AudioPreprocessingOptions& options)
    : options_(checked(options)), extractor_(feature_options_of(options_)) {}

AudioFeatureOptions AudioPreprocessing::feature_options() const { return feature_options_of(options_); }

int64_t AudioPreprocessing::frames() const {
  const AudioFeatureOptions f = feature_options();
  return 1 + (options_.clip_samples - f.frame_length) / f.frame_step;
}

int64_t AudioPreprocessing::coefficients() const {
  return options_.features == "mfcc" ? options_.mfcc_count : options_.mel_bins;
}

Tensor AudioPreprocessing::unscaled_features(ConstTensorView waveforms) const {
  CITADEL_CHECK(waveforms.rank() >= 2 && (waveforms.rank() == 2 || waveforms.shape(2) == 1), ShapeError,
                "audio features: waveforms must be (rows, samples) or (rows, samples, 1), got ", waveforms.shape());
  const int64_t rows = waveforms.shape(0), length = waveforms.shape(1);
  const int64_t clip = options_.clip_samples, frames_per_clip = frames(), width = coefficients();
  Tensor out(Shape{rows, frames_per_clip, width});
  std::vector<float> samples(static_cast<size_t>(clip));
  for (int64_t r = 0; r < rows; ++r) {
    const float* wave = waveforms.data() + r * length;
    std::fill(samples.begin(), samples.end(), 0.0f);
    std::copy_n(wave, std::min(length, clip), samples.begin());
    const Tensor one = options_.features == "mfcc" ? extractor_.mfcc(samples) : extractor_.log_mel_spectrogram(samples);
    std::copy_n(one.data(), frames_per_clip * width, out.data() + r * frames_per_clip * width);
  }
  return out;
}

Tensor AudioPreprocessing::features(ConstTensorView waveforms) const {
  Tensor out = unscaled_features(waveforms);
  if (!adapted()) return out;
  const int64_t width = coefficients();
  float* value = out.data();
  for (int64_t i = 0; i < out.numel(); ++i) {
    const auto c = static_cast<size_t>(i % width);
    value[i] = (value[i] - mean_[c]) / std_[c];
  }
  return out;
}

std::vector<float> AudioPreprocessing::clip(const Audio& audio) const {
  std::vector<float> samples =
      resample_head(audio.samples, audio.sample_rate, options_.sample_rate, options_.clip_samples);
  samples.resize(static_cast<size_t>(options_.clip_samples), 0.0f);
  return samples;
}

int64_t AudioPreprocessing::max_clip_samples(int64_t input_values) {
  constexpr int64_t kAlwaysAllowed = int64_t{1} << 20;  // 4 MiB of floats: 65 s at 16 kHz, 21 s at 48 kHz
  constexpr int64_t kPerInputValue = 64;                // MFCC 13 at 48 kHz needs 37 samples a value
  if (input_values > (std::numeric_limits<int64_t>::max() / kPerInputValue)) return std::numeric_limits<int64_t>::max();
  return std::max(kAlwaysAllowed, kPerInputValue * input_values);
}

Tensor AudioPreprocessing::file_features(const std::string& path, const WavLimits& limits) const {
  const std::vector<float> samples = clip(load_wav(path, limits));
  Tensor wave(Shape{1, options_.clip_samples});
  std::copy(samples.begin(), samples.end(), wave.data());
  return features(wave);
}

void AudioPreprocessing::adapt(ConstTensorView waveforms) {
  const Tensor raw = unscaled_features(waveforms);
  const int64_t width = coefficients(), count = raw.numel() / width;
  CITADEL_CHECK(count > 0, ValueError, "audio features: adapt needs at least one clip");
  std::vector<double> sum(size_t(width), 0.0), squares(size_t(width), 0.0);
  for (int64_t i = 0; i < raw.numel(); ++i) {
    const auto c = static_cast<size_t>(i % width);
    sum[c] += raw.data()[i];
  }
  for (size_t c = 0; c < size_t(width); ++c) sum[c] /= double(count);
  for (int64_t i = 0; i < raw.numel(); ++i) {
    const auto c = static_cast<size_t>(i % width);
    const double d = raw.data()[i] - sum[c];
    squares[c] += d * d;
  }
  mean_.assign(size_t(width), 0.0f);
  std_.assign(size_t(width), 1.0f);
  for (size_t c = 0; c < size_t(width); ++c) {
    mean_[c] = float(sum[c]);
    const double deviation = std::sqrt(squares[c] / double(count));
    std_[c] = deviation > 1e-6 ? float(deviation) : 1.0f;  // a constant coefficient is only centred
  }
}

std::string AudioPreprocessing::to_json() const {
  const nlohmann::json record = {{"features", options_.features},
                                 {"sample_rate", options_.sample_rate},
                                 {"clip_samples", options_.clip_samples},
                                 {"mel_bins", options_.mel_bins},
                                 {"mfcc_count", options_.mfcc_count},
                                 {"mean", mean_},
                                 {"std", std_}};
  return record.dump();
}

AudioPreprocessing AudioPreprocessing::from_json(std::string_view text) {
  const std::string what = "the audio preprocessing record";
  CITADEL_CHECK(json_nesting_depth(text) <= 2, IoError, what, " is nested too deep");
  nlohmann::json record;
  try {
    record = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw IoError(what + " is not JSON: " + e.what());
  }
  CITADEL_CHECK(record.is_object(), IoError, what, " is not a JSON object");
  for (const auto& [key, value] : record.items())
    CITADEL_CHECK(key == "features" || key == "sample_rate" || key == "clip_samples" || key == "mel_bins" ||
                      key == "mfcc_count" || key == "mean" || key == "std",
                  IoError, what, " has an unknown field '", key, "'");
  auto field = [&](const char* name) -> const nlohmann::json& {
    CITADEL_CHECK(record.contains(name), IoError, what, " has no '", name, "'");
    return record.at(name);
  };
  auto integer = [&](const char* name) {
    const nlohmann::json& value = field(name);
    CITADEL_CHECK(value.is_number_integer(), IoError, what, "'s '", name, "' is not an integer");
    return value.get<int64_t>();
  };
  CITADEL_CHECK(field("features").is_string(), IoError, what, "'s 'features' is not a string");
  AudioPreprocessing audio;
  try {
    audio = AudioPreprocessing({.features = field("features").get<std::string>(),
                                .sample_rate = integer("sample_rate"),
                                .clip_samples = integer("clip_samples"),
                                .mel_bins = integer("mel_bins"),
                                .mfcc_count = integer("mfcc_count")});
  } catch (const ValueError& e) {
    throw IoError(what + ": " + e.what());
  }
  auto numbers = [&](const char* name, bool positive) {
    const nlohmann::json& value = field(name);
    CITADEL_CHECK(value.is_array() && (value.empty() || int64_t(value.size()) == audio.coefficients()), IoError, what,
                  "'s '", name, "' must list one number per coefficient (", audio.coefficients(), ")");
    std::vector<float> out;
    for (const nlohmann::json& x : value) {
      CITADEL_CHECK(x.is_number() && std::isfinite(x.get<double>()) && (!positive || x.get<double>() > 0), IoError,
                    what, "'s '", name, "' holds ", x.dump(), ", not a finite", positive ? " positive" : "", " number");
      out.push_back(x.get<float>());
    }
    return out;
  };
  audio.mean_ = numbers("mean", false);
  audio.std_ = numbers("std", true);
  CITADEL_CHECK(audio.mean_.size() == audio.std_.size(), IoError, what, "'s 'mean' and 'std' differ in length");
  return audio;
}

}  // namespace citadel
