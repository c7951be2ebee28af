// What a speech model does to a WAV file before its first layer, kept whole so that a saved
// model reads new recordings exactly as it read its training clips: resampled to one rate,
// padded with zeros or cut to one length, turned into MFCCs or a log-mel spectrogram (25 ms
// frames every 10 ms at that rate), and each coefficient standardized with the mean and
// standard deviation of the training clips (adapt). It describes itself as JSON for model
// files ("audio_preprocessing"), as TextVectorization does for text.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "citadel/core/tensor.hpp"
#include "citadel/data/audio_features.hpp"
#include "citadel/data/wav.hpp"

namespace citadel {

struct AudioPreprocessingOptions {
  std::string features = "mfcc";  // or "log_mel"
  int64_t sample_rate = 16000;    // every file is resampled to it
  int64_t clip_samples = 16000;   // samples a clip: padded with zeros at the end or cut
  int64_t mel_bins = 40;
  int64_t mfcc_count = 13;  // MFCCs only
};

class AudioPreprocessing {
 public:
  AudioPreprocessing() : AudioPreprocessing(AudioPreprocessingOptions{}) {}
  // ValueError naming the setting that is out of range.
  explicit AudioPreprocessing(const AudioPreprocessingOptions& options);

  const AudioPreprocessingOptions& options() const { return options_; }
  // The framing these options give: frames of 25 ms every 10 ms, the FFT the next power of
  // two, the filterbank from 20 Hz to the Nyquist frequency (at most 8 kHz).
  AudioFeatureOptions feature_options() const;
  int64_t frames() const;
  int64_t coefficients() const;  // mfcc_count or mel_bins
  // (frames, coefficients): a model's input shape.
  Shape feature_shape() const { return Shape{frames(), coefficients()}; }

  // (rows, frames, coefficients) from waveforms (rows, length[, 1]) already at sample_rate,
  // each padded or cut to clip_samples; standardized once adapted.
  Tensor features(ConstTensorView waveforms) const;
  // One file: read (the limits bound it), resampled, padded or cut: (1, frames, coefficients).
  Tensor file_features(const std::string& path, const WavLimits& limits = {}) const;
  // A recording as one clip: resampled to sample_rate, padded with zeros or cut to
  // clip_samples. Only the part of the recording the clip needs is resampled, so a long
  // recording costs no more than its own samples and one clip.
  std::vector<float> clip(const Audio& audio) const;
  // The most clip_samples a model whose input holds `input_values` values (frames ×
  // coefficients) may ask for: max(2^20, 64 × input_values). A clip is the waveform each row
  // needs before its features; the cap keeps a hostile record's cost near the model's own
  // input size (a record asking for 600 s at 192 kHz would otherwise cost ~0.5 GB a file).
  static int64_t max_clip_samples(int64_t input_values);
  // Learns each coefficient's mean and standard deviation over every frame of `waveforms`
  // (the training clips alone).
  void adapt(ConstTensorView waveforms);
  bool adapted() const { return !mean_.empty(); }

  // {"features", "sample_rate", "clip_samples", "mel_bins", "mfcc_count", "mean", "std"}.
  std::string to_json() const;
  // IoError naming the field when malformed or out of range.
  static AudioPreprocessing from_json(std::string_view json);

 private:
  Tensor unscaled_features(ConstTensorView waveforms) const;

  AudioPreprocessingOptions options_;
  // The window, filterbank and DCT of feature_options(), built once rather than per clip;
  // const after construction, so features() may run on several threads at once.
  AudioFeatureExtractor extractor_;
  std::vector<float> mean_, std_;  // per coefficient; empty until adapted
};

}  // namespace citadel
