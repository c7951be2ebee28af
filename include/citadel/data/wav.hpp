// WAV files for speech models: RIFF/WAVE with PCM samples of 8 (unsigned), 16, 24 or 32 bits
// or IEEE float of 32 or 64 bits (WAVE_FORMAT_EXTENSIBLE of either included), any number of
// channels mixed down to mono, any rate. A hostile file is refused with an IoError naming the
// file and the chunk or field, in memory bounded by the limits (checked before allocating).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace citadel {

struct WavLimits {
  int64_t max_file_bytes = int64_t{256} << 20;  // 256 MiB: about 23 minutes of 16-bit stereo at 48 kHz
  double max_seconds = 3600;
  int64_t max_channels = 64;
  int64_t max_sample_rate = 768'000;
};

struct Audio {
  std::vector<float> samples;  // mono, in [-1, 1] (float files may exceed it: not clipped, but
                               // a float sample that is not finite or beyond ±2^20 is an IoError)
  int64_t sample_rate = 0;
};

// Parses the bytes of a WAV file; `name` (the path) goes into every error.
Audio parse_wav(std::span<const uint8_t> bytes, const std::string& name, const WavLimits& limits = {});

// Reads and parses a file, refusing one larger than limits.max_file_bytes before reading it whole.
Audio load_wav(const std::string& path, const WavLimits& limits = {});

// Band-limited resampling (a Hann-windowed sinc of 16 zero crossings each side, its cutoff at
// the lower of the two Nyquist frequencies): what a speech model trained at 16 kHz needs from
// a 44.1 or 8 kHz recording. The same rate returns the samples unchanged.
std::vector<float> resample(std::span<const float> samples, int64_t from_rate, int64_t to_rate);

// The first `count` samples resample() gives (fewer when the recording is shorter), computed
// from only the input they need (each output reads its filter's reach around its position),
// so a long recording costs its own samples and `count`, not its whole length at the new rate.
std::vector<float> resample_head(std::span<const float> samples, int64_t from_rate, int64_t to_rate, int64_t count);

}  // namespace citadel
