// The RIFF walk: chunks are (four-byte id, little-endian 32-bit size, body, a pad byte when
// the size is odd). Every size is checked against the bytes that remain before it is used,
// and the samples' count against the limits before the output is allocated.
#include "citadel/data/wav.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <numeric>
#include <numbers>
#include <optional>

#include "citadel/core/error.hpp"

namespace citadel {
namespace {

constexpr uint16_t kPcm = 1, kFloat = 3, kExtensible = 0xFFFE;
// Float samples beyond this (120 dB over full scale) are no recording; infinities and NaN are
// refused with them, as their features and any answer computed from them would be too.
constexpr int64_t kMaxFloatSample = int64_t{1} << 20;

uint32_t read_u32(const uint8_t* p) { return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24; }
uint16_t read_u16(const uint8_t* p) { return uint16_t(p[0] | p[1] << 8); }

struct Format {
  uint16_t tag = 0;
  int64_t channels = 0, sample_rate = 0, block_align = 0, bits = 0;
};

Format read_format(std::span<const uint8_t> body, const std::string& name) {
  CITADEL_CHECK(body.size() >= 16, IoError, name, ": the 'fmt ' chunk holds ", body.size(),
                " bytes, fewer than the 16 of a WAVE format");
  Format f;
  f.tag = read_u16(body.data());
  f.channels = read_u16(body.data() + 2);
  f.sample_rate = read_u32(body.data() + 4);
  f.block_align = read_u16(body.data() + 12);
  f.bits = read_u16(body.data() + 14);
  if (f.tag == kExtensible) {
    // cbSize (2), valid bits (2), channel mask (4), then the sub-format GUID whose first two
    // bytes are the format tag.
    CITADEL_CHECK(body.size() >= 40, IoError, name, ": the 'fmt ' chunk of WAVE_FORMAT_EXTENSIBLE holds ",
                  body.size(), " bytes, fewer than 40");
    f.tag = read_u16(body.data() + 24);
  }
  return f;
}

void check_format(const Format& f, const std::string& name, const WavLimits& limits) {
  CITADEL_CHECK(f.tag == kPcm || f.tag == kFloat, IoError, name, ": format tag ", f.tag,
                " in 'fmt ' is neither PCM (1) nor IEEE float (3); compressed WAV is not read");
  CITADEL_CHECK(f.channels >= 1 && f.channels <= limits.max_channels, IoError, name, ": 'fmt ' says ", f.channels,
                " channels; expected 1 to ", limits.max_channels);
  CITADEL_CHECK(f.sample_rate >= 1 && f.sample_rate <= limits.max_sample_rate, IoError, name, ": 'fmt ' says ",
                f.sample_rate, " samples a second; expected 1 to ", limits.max_sample_rate);
  const bool pcm_bits = f.tag == kPcm && (f.bits == 8 || f.bits == 16 || f.bits == 24 || f.bits == 32);
  const bool float_bits = f.tag == kFloat && (f.bits == 32 || f.bits == 64);
  CITADEL_CHECK(pcm_bits || float_bits, IoError, name, ": ", f.bits, " bits per sample in 'fmt ' is not read (PCM: ",
                "8, 16, 24 or 32; float: 32 or 64)");
  CITADEL_CHECK(f.block_align == f.channels * (f.bits / 8), IoError, name, ": 'fmt ' says a frame is ", f.block_align,
                " bytes; ", f.channels, " channels of ", f.bits, " bits make ", f.channels * (f.bits / 8));
}

// One sample as a float in [-1, 1] (float formats as they are).
float decode(const uint8_t* p, const Format& f) {
  if (f.tag == kFloat) {
    if (f.bits == 32) {
      float v;
      std::memcpy(&v, p, 4);  // little-endian hosts only, as everywhere in citadel
      return v;
    }
    double v;
    std::memcpy(&v, p, 8);
    return static_cast<float>(v);
  }
  switch (f.bits) {
    case 8: return (float(p[0]) - 128.0f) / 128.0f;  // 8-bit WAV is unsigned
    case 16: return float(int16_t(read_u16(p))) / 32768.0f;
    case 24: {
      const int32_t v = int32_t(uint32_t(p[0]) << 8 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 24) >> 8;
      return float(v) / 8388608.0f;
    }
    default: return float(double(int32_t(read_u32(p))) / 2147483648.0);
  }
}

}  // namespace

Audio parse_wav(std::span<const uint8_t> bytes, const std::string& name, const WavLimits& limits) {
  CITADEL_CHECK(int64_t(bytes.size()) <= limits.max_file_bytes, IoError, name, ": ", bytes.size(),
                " bytes, larger than the limit of ", limits.max_file_bytes);
  CITADEL_CHECK(bytes.size() >= 12 && std::memcmp(bytes.data(), "RIFF", 4) == 0 &&
                    std::memcmp(bytes.data() + 8, "WAVE", 4) == 0,
                IoError, name, ": not a WAV file (it does not start with RIFF....WAVE)");
  // The RIFF size may overstate the file (truncated recordings): the chunks are walked within
  // what is there, and within what the RIFF header claims.
  const size_t end = std::min<size_t>(bytes.size(), size_t(read_u32(bytes.data() + 4)) + 8);
  std::optional<Format> format;
  std::span<const uint8_t> data;
  bool have_data = false;
  for (size_t at = 12; at + 8 <= end;) {
    const char* id = reinterpret_cast<const char*>(bytes.data() + at);
    const size_t size = read_u32(bytes.data() + at + 4);
    CITADEL_CHECK(size <= end - at - 8, IoError, name, ": chunk '", std::string(id, 4), "' at byte ", at, " says ",
                  size, " bytes; ", end - at - 8, " remain");
    const std::span<const uint8_t> body = bytes.subspan(at + 8, size);
    if (std::memcmp(id, "fmt ", 4) == 0) {
      CITADEL_CHECK(!format, IoError, name, ": a second 'fmt ' chunk at byte ", at);
      format = read_format(body, name);
    } else if (std::memcmp(id, "data", 4) == 0) {
      CITADEL_CHECK(!have_data, IoError, name, ": a second 'data' chunk at byte ", at);
      data = body, have_data = true;
    }
    at += 8 + size + (size & 1);  // chunks are padded to an even size
  }
  CITADEL_CHECK(format.has_value(), IoError, name, ": no 'fmt ' chunk");
  CITADEL_CHECK(have_data, IoError, name, ": no 'data' chunk");
  check_format(*format, name, limits);
  const Format& f = *format;
  CITADEL_CHECK(data.size() % size_t(f.block_align) == 0, IoError, name, ": the 'data' chunk holds ", data.size(),
                " bytes, not a whole number of ", f.block_align, "-byte frames");
  const int64_t frames = int64_t(data.size()) / f.block_align;
  CITADEL_CHECK(double(frames) <= limits.max_seconds * double(f.sample_rate), IoError, name, ": ", frames,
                " frames at ", f.sample_rate, " Hz last longer than the limit of ", limits.max_seconds, " s");
  Audio audio;
  audio.sample_rate = f.sample_rate;
  audio.samples.resize(size_t(frames));
  const int64_t step = f.bits / 8;
  for (int64_t i = 0; i < frames; ++i) {
    double sum = 0;  // the channels' mean: a mono mixdown that cannot clip
    for (int64_t c = 0; c < f.channels; ++c) {
      const float v = decode(data.data() + i * f.block_align + c * step, f);
      CITADEL_CHECK(f.tag != kFloat || (std::isfinite(v) && std::abs(v) <= float(kMaxFloatSample)), IoError, name,
                    ": sample ", i, " of channel ", c, " is ", v, "; float samples must be finite and within ±",
                    kMaxFloatSample, " (full scale is ±1)");
      sum += v;
    }
    audio.samples[size_t(i)] = static_cast<float>(sum / double(f.channels));
  }
  return audio;
}

Audio load_wav(const std::string& path, const WavLimits& limits) {
  std::ifstream file(path, std::ios::binary);
  CITADEL_CHECK(file.good(), IoError, path, ": cannot open");
  std::vector<uint8_t> bytes;
  char buffer[1 << 16];
  while (file.read(buffer, sizeof buffer) || file.gcount() > 0) {  // bounded even for a pipe
    bytes.insert(bytes.end(), buffer, buffer + file.gcount());
    CITADEL_CHECK(int64_t(bytes.size()) <= limits.max_file_bytes, IoError, path, ": larger than the limit of ",
                  limits.max_file_bytes, " bytes");
  }
  CITADEL_CHECK(!file.bad(), IoError, path, ": read error");
  return parse_wav(bytes, path, limits);
}

std::vector<float> resample(std::span<const float> samples, int64_t from_rate, int64_t to_rate) {
  CITADEL_CHECK(from_rate >= 1 && to_rate >= 1, ValueError, "resample: rates must be positive, got ", from_rate,
                " and ", to_rate);
  if (from_rate == to_rate) return {samples.begin(), samples.end()};
  // Output j sits at input position j·M/L (L/M the ratio in lowest terms): a whole part and
  // one of L phases. The filter's taps depend on the phase only, so for common rates they
  // are computed once per phase (44.1 kHz to 16 kHz: 160 phases of 91 taps); rates whose
  // table would pass 4 Mi taps compute each tap when used.
  const int64_t g = std::gcd(from_rate, to_rate), up = to_rate / g, down = from_rate / g;
  constexpr int kZeroCrossings = 16;
  const double cutoff = std::min(1.0, double(up) / double(down));  // of the input's Nyquist frequency
  const double half_width = kZeroCrossings / cutoff;               // in input samples
  const auto reach = int64_t(std::ceil(half_width));
  const int64_t taps = 2 * reach + 1;
  auto weight = [&](int64_t k, int64_t phase) {  // input sample base + k, output at base + phase / up
    const double t = double(k) - double(phase) / double(up);
    if (std::abs(t) >= half_width) return 0.0;
    const double x = t * cutoff;
    const double sinc = x == 0 ? 1.0 : std::sin(std::numbers::pi * x) / (std::numbers::pi * x);
    return cutoff * sinc * (0.5 + 0.5 * std::cos(std::numbers::pi * t / half_width));
  };
  const auto n = int64_t(samples.size());
  const int64_t count = n * up / down;
  // The table costs up × taps weights whatever the count: only when the outputs use each phase
  // (else a few samples at 1 Hz would cost half a million weights to turn into none).
  const bool tabled = up <= (int64_t{1} << 22) / taps && up <= count;
  std::vector<double> table;
  if (tabled) {
    table.resize(static_cast<size_t>(up * taps));
    for (int64_t phase = 0; phase < up; ++phase)
      for (int64_t k = -reach; k <= reach; ++k) table[size_t(phase * taps + k + reach)] = weight(k, phase);
  }
  std::vector<float> out(static_cast<size_t>(count));
  for (int64_t j = 0; j < count; ++j) {
    const int64_t base = j * down / up, phase = j * down % up;
    double sum = 0;
    for (int64_t k = std::max(-reach, -base); k <= std::min(reach, n - 1 - base); ++k)
      sum += double(samples[size_t(base + k)]) * (tabled ? table[size_t(phase * taps + k + reach)] : weight(k, phase));
    out[size_t(j)] = static_cast<float>(sum);
  }
  return out;
}

std::vector<float> resample_head(std::span<const float> samples, int64_t from_rate, int64_t to_rate, int64_t count) {
  CITADEL_CHECK(from_rate >= 1 && to_rate >= 1 && count >= 0, ValueError,
                "resample_head: rates must be positive and the count not negative, got ", from_rate, ", ", to_rate,
                " and ", count);
  // Output j < count reads inputs up to j·from/to plus the filter's reach, 16 zero crossings at
  // the lower Nyquist frequency (resample's half_width): 16·max(1, from/to) input samples.
  const double ratio = double(from_rate) / double(to_rate);
  const double needed = std::ceil(double(count) * ratio) + std::ceil(16.0 * std::max(1.0, ratio)) + 2;
  const size_t kept = needed >= double(samples.size()) ? samples.size() : size_t(needed);
  std::vector<float> out = resample(samples.first(kept), from_rate, to_rate);
  if (int64_t(out.size()) > count) out.resize(size_t(count));
  return out;
}

}  // namespace citadel
