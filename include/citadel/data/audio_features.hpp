// Speech features from mono samples: the log-mel spectrogram and MFCCs, framed as speech
// front ends frame them (25 ms Hann windows every 10 ms at 16 kHz, a 512-point FFT, a
// triangular mel filterbank on the HTK mel scale, natural log with a small offset, and the
// orthonormal DCT-II of the log-mel energies for MFCCs), on citadel's own radix-2 FFT
// (citadel/core/fft.hpp).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "citadel/core/tensor.hpp"

namespace citadel {

struct AudioFeatureOptions {
  int64_t sample_rate = 16000;
  int64_t frame_length = 400;  // samples a frame (25 ms)
  int64_t frame_step = 160;    // samples between frames (10 ms)
  int64_t fft_length = 512;    // a power of two >= frame_length
  int64_t mel_bins = 40;
  double lower_hz = 20, upper_hz = 8000;  // the filterbank's edges; upper at most the Nyquist frequency
  double log_offset = 1e-6;               // log(mel energy + offset): silence stays finite
  int64_t mfcc_count = 13;
};

// (frames, mel_bins): frames = 1 + (samples − frame_length) / frame_step (none when the
// signal is shorter than one frame). Each frame: Hann window (periodic), |FFT|², the mel
// filters, log.
Tensor log_mel_spectrogram(std::span<const float> samples, const AudioFeatureOptions& options = {});

// (frames, mfcc_count): the first mfcc_count coefficients of the orthonormal DCT-II of each
// log-mel frame.
Tensor mfcc(std::span<const float> samples, const AudioFeatureOptions& options = {});

// The two functions above with their tables (window, mel filterbank, DCT cosines) built once
// for one set of options, for a front end that featurizes many clips; the same numbers, bit
// for bit. Immutable once made, so one extractor serves any number of threads.
class AudioFeatureExtractor {
 public:
  // ValueError naming the option that is out of range.
  explicit AudioFeatureExtractor(const AudioFeatureOptions& options = {});
  const AudioFeatureOptions& options() const { return options_; }
  Tensor log_mel_spectrogram(std::span<const float> samples) const;
  Tensor mfcc(std::span<const float> samples) const;

 private:
  AudioFeatureOptions options_;
  std::vector<double> window_;                // (frame_length): periodic Hann
  std::vector<double> filters_;               // (fft_length / 2 + 1, mel_bins), row-major by FFT bin
  std::vector<int64_t> first_bin_, last_bin_;  // (mel_bins): each triangle's nonzero bins
  std::vector<double> dct_;                   // (mfcc_count, mel_bins): the DCT-II's cosines
  std::vector<double> dct_scale_;             // (mfcc_count): the orthonormal scale
};

// The mel scale citadel uses (HTK): 2595 · log10(1 + hz / 700), and back.
double hz_to_mel(double hz);
double mel_to_hz(double mel);

}  // namespace citadel
