// libFuzzer target for WAV reading and the audio front end: any bytes must give samples or
// a citadel::Error, never a crash, a hang or undefined behaviour; what parses is resampled
// to 16 kHz and turned into a log-mel spectrogram, as the speech path does.
#include <cstddef>
#include <cstdint>
#include <span>

#include "citadel/core/error.hpp"
#include "citadel/data/audio_features.hpp"
#include "citadel/data/wav.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const citadel::Audio audio = citadel::parse_wav(std::span<const uint8_t>(data, size), "fuzz.wav",
                                                    {.max_file_bytes = 1 << 20});
    // Resampling costs (output samples × taps): bounded inputs only, as a hostile one-hertz
    // file would ask for an hour at 16 kHz.
    const auto n = int64_t(audio.samples.size());
    if (n <= 4096 && n * 16000 / audio.sample_rate <= 65536) {
      const std::vector<float> mono = citadel::resample(audio.samples, audio.sample_rate, 16000);
      citadel::log_mel_spectrogram(mono);
    }
  } catch (const citadel::Error&) {
    // Rejecting hostile input with a clear error is the expected outcome.
  }
  return 0;
}
