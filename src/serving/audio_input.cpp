// Served WAV files: bounded by the clip before parsing, parsed by the fuzzed reader, one clip
// per row.
#include "audio_input.hpp"

#include <sodium.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <span>

#include "bad_request.hpp"
#include "citadel/data/wav.hpp"

namespace citadel::serving {
namespace {

constexpr int64_t kHeaderAllowance = 64 << 10;           // fmt, LIST, cue and other chunks
constexpr int64_t kBytesPerSecond = 48'000 * 2 * 4;       // 48 kHz stereo, 32 bits a sample
// What /metrics counts a file beyond the model's bound under: not "rows", which is a request
// of more rows than --max-rows.
constexpr const char* kTooLargeReason = "wav_bytes";

double clip_seconds(const AudioPreprocessing& audio) {
  return double(audio.options().clip_samples) / double(audio.options().sample_rate);
}

[[noreturn]] void too_large(const std::string& input, int64_t row, uint64_t bytes, int64_t max_bytes,
                            const AudioPreprocessing& audio) {
  throw RequestError(413, "input '" + input + "': row " + std::to_string(row) + " is a file of " +
                              std::to_string(bytes) + " bytes; this model reads clips of " +
                              std::to_string(clip_seconds(audio)) + " s and takes WAV files of at most " +
                              std::to_string(max_bytes) + " bytes", kTooLargeReason);
}

}  // namespace

WavLimits served_wav_limits(const AudioPreprocessing& audio) {
  const double clip = clip_seconds(audio);
  WavLimits limits;
  limits.max_seconds = clip + std::min(clip, 16.0);
  limits.max_file_bytes = kHeaderAllowance + int64_t(std::ceil(limits.max_seconds * double(kBytesPerSecond)));
  limits.max_channels = 8;
  limits.max_sample_rate = 192'000;
  return limits;
}

int64_t max_wav_bytes(const AudioPreprocessing& audio) { return served_wav_limits(audio).max_file_bytes; }

std::vector<std::string_view> binary_wav_elements(std::string_view bytes, int64_t elements, int64_t max_bytes,
                                                  const std::string& input) {
  std::vector<std::string_view> files;
  for (int64_t i = 0; i < elements; ++i) {
    if (bytes.size() < 4)
      bad_request("input '" + input + "': binary data ends before row " + std::to_string(i) + "'s length");
    uint32_t length = 0;
    std::memcpy(&length, bytes.data(), 4);  // little-endian on every machine this builds for
    bytes.remove_prefix(4);
    if (int64_t(length) > max_bytes)
      throw RequestError(413, "input '" + input + "': row " + std::to_string(i) + " declares " +
                                  std::to_string(length) + " bytes, more than the " + std::to_string(max_bytes) +
                                  " a WAV file for this model may hold", kTooLargeReason);
    if (length > bytes.size())
      bad_request("input '" + input + "': row " + std::to_string(i) + "'s length " + std::to_string(length) +
                  " runs past its binary data");
    files.push_back(bytes.substr(0, length));
    bytes.remove_prefix(length);
  }
  if (!bytes.empty())
    bad_request("input '" + input + "': " + std::to_string(bytes.size()) + " bytes after its " +
                std::to_string(elements) + " elements");
  return files;
}

std::string decode_base64_wav(std::string_view text, int64_t max_bytes, const std::string& input, int64_t row) {
  if (int64_t(text.size()) / 4 * 3 > max_bytes + 3)
    throw RequestError(413, "input '" + input + "': row " + std::to_string(row) + " is " + std::to_string(text.size()) +
                                " characters of base64, more than a WAV file of at most " + std::to_string(max_bytes) +
                                " bytes", kTooLargeReason);
  std::string bytes(text.size() / 4 * 3 + 3, '\0');
  size_t length = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(bytes.data()), bytes.size(), text.data(), text.size(),
                        nullptr, &length, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != text.data() + text.size())
    bad_request("input '" + input + "': row " + std::to_string(row) +
                " is not base64 (the standard alphabet, padded); its parameter content_type says it is");
  bytes.resize(length);
  if (int64_t(length) > max_bytes)
    throw RequestError(413, "input '" + input + "': row " + std::to_string(row) + " is " + std::to_string(length) +
                                " bytes, more than the " + std::to_string(max_bytes) +
                                " a WAV file for this model may hold", kTooLargeReason);
  return bytes;
}

Tensor clips_from_wav_files(const std::vector<std::string_view>& files, const AudioPreprocessing& audio,
                            const std::string& input) {
  const WavLimits limits = served_wav_limits(audio);
  const int64_t clip = audio.options().clip_samples;
  Tensor clips(Shape{int64_t(files.size()), clip});
  for (size_t r = 0; r < files.size(); ++r) {
    if (int64_t(files[r].size()) > limits.max_file_bytes)
      too_large(input, int64_t(r), files[r].size(), limits.max_file_bytes, audio);
    Audio recording;
    try {
      recording = parse_wav(std::span(reinterpret_cast<const uint8_t*>(files[r].data()), files[r].size()),
                            "input '" + input + "': row " + std::to_string(r), limits);
    } catch (const IoError& e) {  // the reader names the row, then the chunk or field at fault
      bad_request(e.what());
    }
    const std::vector<float> samples = audio.clip(recording);
    std::copy(samples.begin(), samples.end(), clips.data() + int64_t(r) * clip);
  }
  return clips;
}

}  // namespace citadel::serving
