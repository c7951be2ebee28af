// Speed, shift, gain and noise copies of speech clips.
#include "citadel/data/audio_augmentation.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "citadel/core/error.hpp"
#include "citadel/data/wav.hpp"

namespace citadel {

double speech_power(std::span<const float> samples) {
  float peak = 0;
  for (const float v : samples) peak = std::max(peak, std::abs(v));
  size_t first = samples.size(), last = 0;
  for (size_t i = 0; i < samples.size(); ++i)
    if (std::abs(samples[i]) > 0.01f * peak) first = std::min(first, i), last = i;
  if (first > last) return 0;
  double sum = 0;
  for (size_t i = first; i <= last; ++i) sum += double(samples[i]) * samples[i];
  return sum / double(last - first + 1);
}

void add_white_noise(std::span<float> samples, double snr_db, std::mt19937_64& random) {
  const double sigma = std::sqrt(speech_power(samples) / std::pow(10.0, snr_db / 10.0));
  std::normal_distribution<double> noise(0.0, sigma);
  for (float& v : samples) v += float(noise(random));
}

Tensor augment_waveforms(ConstTensorView waveforms, int64_t sample_rate, const AudioAugmentationOptions& o) {
  CITADEL_CHECK(waveforms.rank() >= 2 && (waveforms.rank() == 2 || waveforms.shape(2) == 1), ShapeError,
                "augment_waveforms: waveforms must be (rows, samples) or (rows, samples, 1), got ", waveforms.shape());
  CITADEL_CHECK(o.copies >= 0 && o.min_speed > 0 && o.min_speed <= o.max_speed && o.max_shift_seconds >= 0 &&
                    o.max_gain_db >= 0 && o.noisy_share >= 0 && o.noisy_share <= 1 && o.min_snr_db <= o.max_snr_db,
                ValueError,
                "augment_waveforms: copies must not be negative, 0 < min_speed <= max_speed, the shift "
                "and gain not negative, noisy_share in [0, 1] and min_snr_db <= max_snr_db");
  const int64_t rows = waveforms.shape(0), length = waveforms.shape(1);
  Tensor out(Shape{rows * o.copies, length});
  std::mt19937_64 random(o.seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (int64_t copy = 0; copy < o.copies; ++copy)
    for (int64_t r = 0; r < rows; ++r) {
      const std::span<const float> wave(waveforms.data() + r * length, size_t(length));
      const double speed = o.min_speed + (o.max_speed - o.min_speed) * unit(random);
      std::vector<float> made = resample(wave, std::llround(double(sample_rate) * speed), sample_rate);
      const auto shift = size_t(unit(random) * o.max_shift_seconds * double(sample_rate));
      made.insert(made.begin(), shift, 0.0f);
      made.resize(size_t(length), 0.0f);
      const float gain = float(std::pow(10.0, (unit(random) * 2 * o.max_gain_db - o.max_gain_db) / 20.0));
      for (float& v : made) v *= gain;
      if (unit(random) < o.noisy_share)
        add_white_noise(made, o.min_snr_db + (o.max_snr_db - o.min_snr_db) * unit(random), random);
      std::copy(made.begin(), made.end(), out.data() + (copy * rows + r) * length);
    }
  return out;
}

}  // namespace citadel
