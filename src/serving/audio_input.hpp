// A speech model's served input: one BYTES tensor whose elements are whole WAV files, each
// bounded by the model's clip length before it is parsed, then read as `citadel predict`
// reads a file (resampled, padded or cut to the clip).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "citadel/core/tensor.hpp"
#include "citadel/data/audio_preprocessing.hpp"

namespace citadel::serving {

inline constexpr const char* kAudioInput = "audio";

// What one WAV file of a request may hold: twice the clip's duration (the rest would be cut),
// at most 16 s beyond it, in at most max_wav_bytes.
WavLimits served_wav_limits(const AudioPreprocessing& audio);
// 64 KiB of headers and chunks, and the allowed seconds of 48 kHz stereo 32-bit samples.
int64_t max_wav_bytes(const AudioPreprocessing& audio);

// The binary data of `elements` BYTES elements (4-byte length, bytes) as views into `bytes`;
// a 413 naming the input and row when one is longer than `max_bytes` (checked on its length
// prefix, before anything is read), a 400 when the data ends early or runs on.
std::vector<std::string_view> binary_wav_elements(std::string_view bytes, int64_t elements, int64_t max_bytes,
                                                  const std::string& input);
// One element sent in JSON as base64 (the input's "parameters": {"content_type": "base64"}):
// its bytes, a 413 when they would pass `max_bytes`, a 400 naming the row when it is not base64.
std::string decode_base64_wav(std::string_view text, int64_t max_bytes, const std::string& input, int64_t row);

// The files as clips, (rows, clip_samples); a 400 naming the input, the row and what is wrong
// with a file that is not a WAV file the limits allow.
Tensor clips_from_wav_files(const std::vector<std::string_view>& files, const AudioPreprocessing& audio,
                            const std::string& input);

}  // namespace citadel::serving
