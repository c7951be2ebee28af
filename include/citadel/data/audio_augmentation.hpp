// Waveform augmentation for speech models, which is what carries a model trained on a few
// voices over to voices and engines it never heard (docs/PERFORMANCE.md, "Spoken digits"):
// each copy of a clip is resampled as if spoken faster or slower (rate and pitch together),
// shifted, made louder or softer, and most copies get white noise at a random SNR.
#pragma once

#include <cstdint>
#include <random>
#include <span>

#include "citadel/core/tensor.hpp"

namespace citadel {

struct AudioAugmentationOptions {
  int64_t copies = 3;                         // augmented copies of each clip
  double min_speed = 0.85, max_speed = 1.15;  // resampled as if recorded this much faster
  double max_shift_seconds = 0.1;             // silence put before the clip
  double max_gain_db = 12;                    // level moved by up to ± this
  double noisy_share = 0.7;                   // copies with noise
  double min_snr_db = 5, max_snr_db = 30;
  uint64_t seed = 7;
};

// The mean power of a clip over the span above a hundredth of its peak (its speech, not
// the silence around it); 0 for silence.
double speech_power(std::span<const float> samples);
// White Gaussian noise of power speech_power(samples) / 10^(snr_db / 10), added to the whole clip.
void add_white_noise(std::span<float> samples, double snr_db, std::mt19937_64& random);

// (rows · copies, length): for each copy in turn, every row of `waveforms` (rows, length[, 1])
// at `sample_rate` augmented, each cut or padded back to `length`; deterministic in the seed.
Tensor augment_waveforms(ConstTensorView waveforms, int64_t sample_rate, const AudioAugmentationOptions& options);

}  // namespace citadel
