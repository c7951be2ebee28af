// Framing, window, FFT, mel filterbank, log, DCT. The filters are triangles in frequency
// between mel-spaced edges (mel_bins + 2 points from lower_hz to upper_hz), evaluated at each
// FFT bin's frequency, unnormalized (peak 1), as HTK and TensorFlow's
// linear_to_mel_weight_matrix build them.
#include "citadel/data/audio_features.hpp"

#include <algorithm>
#include <cmath>
#include <complex>
#include <numbers>
#include <vector>

#include "citadel/core/error.hpp"
#include "citadel/core/fft.hpp"

namespace citadel {
namespace {

void check_options(const AudioFeatureOptions& o) {
  CITADEL_CHECK(o.sample_rate >= 1, ValueError, "audio features: sample_rate must be positive, got ", o.sample_rate);
  CITADEL_CHECK(o.frame_length >= 1 && o.frame_step >= 1, ValueError,
                "audio features: frame_length and frame_step must be positive, got ", o.frame_length, " and ",
                o.frame_step);
  CITADEL_CHECK(o.fft_length >= o.frame_length && (o.fft_length & (o.fft_length - 1)) == 0 && o.fft_length <= 65536,
                ValueError, "audio features: fft_length must be a power of two from frame_length (", o.frame_length,
                ") to 65,536, got ", o.fft_length);
  CITADEL_CHECK(o.mel_bins >= 1 && o.mel_bins <= 1024, ValueError, "audio features: mel_bins must be 1 to 1,024, got ",
                o.mel_bins);
  CITADEL_CHECK(o.lower_hz >= 0 && o.lower_hz < o.upper_hz && o.upper_hz <= o.sample_rate / 2.0, ValueError,
                "audio features: the filterbank needs 0 <= lower_hz < upper_hz <= the Nyquist frequency (",
                o.sample_rate / 2.0, " Hz), got ", o.lower_hz, " and ", o.upper_hz);
  CITADEL_CHECK(o.log_offset > 0, ValueError, "audio features: log_offset must be positive, got ", o.log_offset);
  CITADEL_CHECK(o.mfcc_count >= 1 && o.mfcc_count <= o.mel_bins, ValueError,
                "audio features: mfcc_count must be 1 to mel_bins (", o.mel_bins, "), got ", o.mfcc_count);
}

// (bins = fft_length / 2 + 1, mel_bins), row-major by FFT bin.
std::vector<double> mel_filterbank(const AudioFeatureOptions& o) {
  const int64_t bins = o.fft_length / 2 + 1;
  const double low = hz_to_mel(o.lower_hz), high = hz_to_mel(o.upper_hz);
  std::vector<double> edges(static_cast<size_t>(o.mel_bins + 2));
  for (int64_t m = 0; m < o.mel_bins + 2; ++m) edges[size_t(m)] = low + (high - low) * double(m) / double(o.mel_bins + 1);
  std::vector<double> weights(static_cast<size_t>(bins * o.mel_bins), 0.0);
  for (int64_t b = 0; b < bins; ++b) {
    const double mel = hz_to_mel(double(b) * double(o.sample_rate) / double(o.fft_length));
    for (int64_t m = 0; m < o.mel_bins; ++m) {
      const double left = edges[size_t(m)], center = edges[size_t(m + 1)], right = edges[size_t(m + 2)];
      const double rising = (mel - left) / (center - left), falling = (right - mel) / (right - center);
      weights[size_t(b * o.mel_bins + m)] = std::max(0.0, std::min(rising, falling));
    }
  }
  return weights;
}

}  // namespace

double hz_to_mel(double hz) { return 2595.0 * std::log10(1.0 + hz / 700.0); }
double mel_to_hz(double mel) { return 700.0 * (std::pow(10.0, mel / 2595.0) - 1.0); }

AudioFeatureExtractor::AudioFeatureExtractor(const AudioFeatureOptions& o) : options_(o) {
  check_options(o);
  const int64_t bins = o.fft_length / 2 + 1;
  filters_ = mel_filterbank(o);
  window_.resize(static_cast<size_t>(o.frame_length));
  for (int64_t i = 0; i < o.frame_length; ++i)  // periodic Hann
    window_[size_t(i)] = 0.5 - 0.5 * std::cos(2 * std::numbers::pi * double(i) / double(o.frame_length));
  // Each triangle covers a few bins: only those are summed (in the same order; the others
  // added +0.0 to a sum of non-negative terms, which changes nothing).
  first_bin_.assign(static_cast<size_t>(o.mel_bins), bins), last_bin_.assign(static_cast<size_t>(o.mel_bins), -1);
  for (int64_t b = 0; b < bins; ++b)
    for (int64_t m = 0; m < o.mel_bins; ++m)
      if (filters_[size_t(b * o.mel_bins + m)] != 0.0) {
        first_bin_[size_t(m)] = std::min(first_bin_[size_t(m)], b);
        last_bin_[size_t(m)] = std::max(last_bin_[size_t(m)], b);
      }
  const int64_t m = o.mel_bins, k = o.mfcc_count;
  dct_.resize(static_cast<size_t>(k * m));
  dct_scale_.resize(static_cast<size_t>(k));
  for (int64_t c = 0; c < k; ++c) {
    for (int64_t j = 0; j < m; ++j)
      dct_[size_t(c * m + j)] = std::cos(std::numbers::pi * double(c) * (double(j) + 0.5) / double(m));
    dct_scale_[size_t(c)] = std::sqrt((c == 0 ? 1.0 : 2.0) / double(m));  // orthonormal
  }
}

Tensor AudioFeatureExtractor::log_mel_spectrogram(std::span<const float> samples) const {
  const AudioFeatureOptions& o = options_;
  const auto n = int64_t(samples.size());
  const int64_t frames = n < o.frame_length ? 0 : 1 + (n - o.frame_length) / o.frame_step;
  const int64_t bins = o.fft_length / 2 + 1;
  Tensor out(Shape{frames, o.mel_bins});
  std::vector<std::complex<double>> spectrum(static_cast<size_t>(o.fft_length));
  std::vector<double> power(static_cast<size_t>(bins));
  for (int64_t f = 0; f < frames; ++f) {
    std::fill(spectrum.begin(), spectrum.end(), std::complex<double>());
    for (int64_t i = 0; i < o.frame_length; ++i)
      spectrum[size_t(i)] = double(samples[size_t(f * o.frame_step + i)]) * window_[size_t(i)];
    fft(spectrum, false);
    for (int64_t b = 0; b < bins; ++b) power[size_t(b)] = std::norm(spectrum[size_t(b)]);
    for (int64_t m = 0; m < o.mel_bins; ++m) {
      double energy = 0;
      for (int64_t b = first_bin_[size_t(m)]; b <= last_bin_[size_t(m)]; ++b)
        energy += power[size_t(b)] * filters_[size_t(b * o.mel_bins + m)];
      out[f * o.mel_bins + m] = static_cast<float>(std::log(energy + o.log_offset));
    }
  }
  return out;
}

Tensor AudioFeatureExtractor::mfcc(std::span<const float> samples) const {
  const Tensor log_mel = log_mel_spectrogram(samples);
  const int64_t frames = log_mel.shape(0), m = options_.mel_bins, k = options_.mfcc_count;
  Tensor out(Shape{frames, k});
  for (int64_t f = 0; f < frames; ++f)
    for (int64_t c = 0; c < k; ++c) {
      double sum = 0;
      for (int64_t j = 0; j < m; ++j) sum += double(log_mel[f * m + j]) * dct_[size_t(c * m + j)];
      out[f * k + c] = static_cast<float>(sum * dct_scale_[size_t(c)]);
    }
  return out;
}

Tensor log_mel_spectrogram(std::span<const float> samples, const AudioFeatureOptions& o) {
  return AudioFeatureExtractor(o).log_mel_spectrogram(samples);
}

Tensor mfcc(std::span<const float> samples, const AudioFeatureOptions& o) {
  return AudioFeatureExtractor(o).mfcc(samples);
}

}  // namespace citadel
