// WAV reading: each sample format against values encoded by hand, the mono mixdown, chunk
// padding and WAVE_FORMAT_EXTENSIBLE; hostile files refused naming the chunk or field; the
// resampler against sines computed at the target rate.
#include "citadel/data/wav.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <numbers>
#include <string>
#include <tuple>
#include <vector>

#include "citadel/core/error.hpp"

namespace wav_test {

using namespace citadel;

namespace {

void put16(std::vector<uint8_t>& b, uint32_t v) { b.push_back(uint8_t(v)), b.push_back(uint8_t(v >> 8)); }
void put32(std::vector<uint8_t>& b, uint32_t v) { put16(b, v & 0xFFFF), put16(b, v >> 16); }
void chunk(std::vector<uint8_t>& b, const char* id, const std::vector<uint8_t>& body) {
  b.insert(b.end(), id, id + 4);
  put32(b, uint32_t(body.size()));
  b.insert(b.end(), body.begin(), body.end());
  if (body.size() & 1) b.push_back(0);
}
std::vector<uint8_t> fmt_body(uint16_t tag, uint16_t channels, uint32_t rate, uint16_t bits) {
  std::vector<uint8_t> f;
  put16(f, tag), put16(f, channels), put32(f, rate), put32(f, rate * channels * bits / 8);
  put16(f, uint16_t(channels * bits / 8)), put16(f, bits);
  return f;
}
std::vector<uint8_t> wav(const std::vector<uint8_t>& fmt, const std::vector<uint8_t>& data,
                         const std::vector<uint8_t>& before = {}) {
  std::vector<uint8_t> body{'W', 'A', 'V', 'E'};
  if (!before.empty()) chunk(body, "LIST", before);
  chunk(body, "fmt ", fmt);
  chunk(body, "data", data);
  std::vector<uint8_t> out{'R', 'I', 'F', 'F'};
  put32(out, uint32_t(body.size()));
  out.insert(out.end(), body.begin(), body.end());
  return out;
}
template <typename T>
std::vector<uint8_t> bytes_of(const std::vector<T>& values) {
  std::vector<uint8_t> b(values.size() * sizeof(T));
  std::memcpy(b.data(), values.data(), b.size());
  return b;
}

void expect_refused(const std::vector<uint8_t>& bytes, const std::string& says, const WavLimits& limits = {}) {
  try {
    parse_wav(bytes, "hostile.wav", limits);
    ADD_FAILURE() << "accepted; expected an error saying '" << says << "'";
  } catch (const IoError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("hostile.wav"), std::string::npos) << what;
    EXPECT_NE(what.find(says), std::string::npos) << what;
  }
}

}  // namespace

TEST(Wav, EachSampleFormatDecodesToItsValue) {
  // 16-bit: -32768, -16384, 0, 16384 -> -1, -0.5, 0, 0.5.
  Audio a = parse_wav(wav(fmt_body(1, 1, 8000, 16), bytes_of<int16_t>({-32768, -16384, 0, 16384})), "a.wav");
  EXPECT_EQ(a.sample_rate, 8000);
  EXPECT_EQ(a.samples, (std::vector<float>{-1.0f, -0.5f, 0.0f, 0.5f}));
  // 8-bit is unsigned around 128.
  a = parse_wav(wav(fmt_body(1, 1, 8000, 8), {0, 64, 128, 192}), "b.wav");
  EXPECT_EQ(a.samples, (std::vector<float>{-1.0f, -0.5f, 0.0f, 0.5f}));
  // 24-bit little-endian: 0x800000 = -1, 0xC00000 = -0.5, 0x400000 = 0.5.
  a = parse_wav(wav(fmt_body(1, 1, 8000, 24), {0, 0, 0x80, 0, 0, 0xC0, 0, 0, 0x40}), "c.wav");
  EXPECT_EQ(a.samples, (std::vector<float>{-1.0f, -0.5f, 0.5f}));
  a = parse_wav(wav(fmt_body(1, 1, 8000, 32), bytes_of<int32_t>({INT32_MIN, 1 << 30})), "d.wav");
  EXPECT_EQ(a.samples, (std::vector<float>{-1.0f, 0.5f}));
  a = parse_wav(wav(fmt_body(3, 1, 8000, 32), bytes_of<float>({0.25f, -1.5f})), "e.wav");
  EXPECT_EQ(a.samples, (std::vector<float>{0.25f, -1.5f}));  // float is not clipped
  a = parse_wav(wav(fmt_body(3, 1, 8000, 64), bytes_of<double>({0.125, -0.75})), "f.wav");
  EXPECT_EQ(a.samples, (std::vector<float>{0.125f, -0.75f}));
}

TEST(Wav, StereoIsMixedDownAndOddChunksArePaddedAndExtensibleIsRead) {
  // Frames (0.5, -0.25) and (1.0 - 2^-15, 0): their means.
  Audio a = parse_wav(wav(fmt_body(1, 2, 22050, 16), bytes_of<int16_t>({16384, -8192, 32767, 0})), "s.wav",
                      {});
  ASSERT_EQ(a.samples.size(), 2u);
  EXPECT_FLOAT_EQ(a.samples[0], 0.125f);
  EXPECT_FLOAT_EQ(a.samples[1], 32767.0f / 65536.0f);
  // A 3-byte LIST chunk before 'fmt ' carries a pad byte.
  a = parse_wav(wav(fmt_body(1, 1, 8000, 16), bytes_of<int16_t>({16384}), {'a', 'b', 'c'}), "p.wav");
  EXPECT_EQ(a.samples, std::vector<float>{0.5f});
  // WAVE_FORMAT_EXTENSIBLE with the PCM sub-format.
  std::vector<uint8_t> ext = fmt_body(0xFFFE, 1, 16000, 16);
  put16(ext, 22), put16(ext, 16), put32(ext, 4);  // cbSize, valid bits, channel mask
  const uint8_t pcm_guid[16] = {1, 0, 0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xAA, 0, 0x38, 0x9B, 0x71};
  ext.insert(ext.end(), pcm_guid, pcm_guid + 16);
  a = parse_wav(wav(ext, bytes_of<int16_t>({-16384})), "x.wav");
  EXPECT_EQ(a.samples, std::vector<float>{-0.5f});
}

TEST(Wav, HostileFilesAreRefusedNamingWhatIsWrong) {
  const std::vector<uint8_t> good = wav(fmt_body(1, 1, 8000, 16), bytes_of<int16_t>({1, 2, 3, 4}));
  expect_refused({'R', 'I', 'F', 'F'}, "not a WAV file");
  std::vector<uint8_t> b = good;
  b[16] = 0xFF, b[17] = 0xFF, b[18] = 0xFF, b[19] = 0x7F;  // the fmt chunk claims 2 GiB
  expect_refused(b, "chunk 'fmt ' at byte 12 says");
  b = good;
  b.resize(b.size() - 3);  // the data chunk cut short
  expect_refused(b, "chunk 'data'");
  expect_refused(wav(fmt_body(1, 0, 8000, 16), {}), "0 channels");
  expect_refused(wav(fmt_body(1, 1, 0, 16), {}), "0 samples a second");
  expect_refused(wav(fmt_body(1, 1, 8000, 12), {}), "12 bits per sample");
  expect_refused(wav(fmt_body(2, 1, 8000, 16), {}), "format tag 2");
  expect_refused(wav(fmt_body(1, 1, 8000, 16), {1, 2, 3}), "not a whole number of 2-byte frames");
  std::vector<uint8_t> misaligned = fmt_body(1, 2, 8000, 16);
  misaligned[12] = 3;  // block align 3 for two 16-bit channels
  expect_refused(wav(misaligned, {}), "a frame is 3 bytes");
  std::vector<uint8_t> no_fmt{'R', 'I', 'F', 'F', 12, 0, 0, 0, 'W', 'A', 'V', 'E', 'd', 'a', 't', 'a', 0, 0, 0, 0};
  expect_refused(no_fmt, "no 'fmt ' chunk");
  std::vector<uint8_t> short_fmt = wav({1, 0, 1, 0}, {});
  expect_refused(short_fmt, "fewer than the 16");
  expect_refused(good, "longer than the limit", {.max_seconds = 1e-4});
  expect_refused(good, "larger than the limit", {.max_file_bytes = 20});
  // Two data chunks.
  std::vector<uint8_t> body{'W', 'A', 'V', 'E'};
  chunk(body, "fmt ", fmt_body(1, 1, 8000, 16));
  chunk(body, "data", {0, 0});
  chunk(body, "data", {0, 0});
  std::vector<uint8_t> twice{'R', 'I', 'F', 'F'};
  put32(twice, uint32_t(body.size()));
  twice.insert(twice.end(), body.begin(), body.end());
  expect_refused(twice, "a second 'data' chunk");
}

// A float sample that is not finite, or beyond ±2^20, makes no recording (found by
// audio_request_fuzz: a served float file with one NaN sample was answered with NaN
// probabilities); 1.5, past full scale, is read.
TEST(Wav, FloatSamplesMustBeFiniteAndWithinBounds) {
  for (const float bad : {std::nanf(""), INFINITY, -INFINITY, 2e6f}) {
    expect_refused(wav(fmt_body(3, 1, 8000, 32), bytes_of<float>({0.5f, bad})), "sample 1 of channel 0 is");
    expect_refused(wav(fmt_body(3, 2, 8000, 32), bytes_of<float>({0.5f, 0.25f, 0.5f, bad})),
                   "float samples must be finite");
  }
  expect_refused(wav(fmt_body(3, 1, 8000, 64), bytes_of<double>({0.5, 1e300})), "sample 1 of channel 0 is");
  EXPECT_EQ(parse_wav(wav(fmt_body(3, 1, 8000, 32), bytes_of<float>({1.5f, -1048576.0f})), "loud.wav").samples,
            (std::vector<float>{1.5f, -1048576.0f}));
}

TEST(Wav, LoadsAFileAndNamesAMissingOne) {
  const std::string path = ::testing::TempDir() + "/citadel_wav_test.wav";
  const std::vector<uint8_t> bytes = wav(fmt_body(1, 1, 16000, 16), bytes_of<int16_t>({8192, -8192}));
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  const Audio a = load_wav(path);
  EXPECT_EQ(a.samples, (std::vector<float>{0.25f, -0.25f}));
  std::remove(path.c_str());
  EXPECT_THROW(load_wav(path), IoError);
}

namespace {

std::vector<float> sine(double hz, int64_t rate, int64_t count) {
  std::vector<float> s(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) s[size_t(i)] = float(std::sin(2 * std::numbers::pi * hz * double(i) / double(rate)));
  return s;
}

// Largest difference from the sine at the target rate, away from the edges (the filter
// reaches 16 zero crossings past them).
double error_inside(const std::vector<float>& got, const std::vector<float>& expected) {
  double worst = 0;
  for (size_t i = 200; i + 200 < std::min(got.size(), expected.size()); ++i)
    worst = std::max(worst, std::abs(double(got[i]) - expected[i]));
  return worst;
}

double rms(const std::vector<float>& v) {
  double s = 0;
  for (size_t i = 200; i + 200 < v.size(); ++i) s += double(v[i]) * v[i];
  return std::sqrt(s / double(v.size() - 400));
}

}  // namespace

TEST(Resample, TonesBelowTheNewNyquistKeepTheirShapeAndTonesAboveItVanish) {
  for (const auto& [from, to] : std::vector<std::pair<int64_t, int64_t>>{{44100, 16000}, {8000, 16000}, {48000, 16000},
                                                                        {44101, 16000}}) {
    const std::vector<float> out = resample(sine(1000, from, from / 2), from, to);
    EXPECT_EQ(int64_t(out.size()), (from / 2) * to / from);
    EXPECT_LT(error_inside(out, sine(1000, to, to / 2)), 5e-3) << from << " -> " << to;
  }
  // 12 kHz is above 16 kHz's Nyquist frequency: the low-pass removes it.
  EXPECT_LT(rms(resample(sine(12000, 44100, 22050), 44100, 16000)), 0.01);
  const std::vector<float> same = sine(440, 16000, 100);
  EXPECT_EQ(resample(same, 16000, 16000), same);
  EXPECT_THROW(resample(same, 0, 16000), ValueError);
}

// The filter written out here (a Hann-windowed sinc of 16 zero crossings at the lower Nyquist
// frequency) against resample on a few samples: fewer outputs than phases, whose weights are
// computed as used rather than tabled (a table of every phase cost 16000 × 33 weights for a
// 1 Hz file of no samples), and more, tabled.
TEST(Resample, AFewSamplesFollowTheFilterWhetherItsPhasesAreTabledOrNot) {
  for (const auto& [from, to, n] : std::vector<std::tuple<int64_t, int64_t, int64_t>>{
           {44101, 16000, 100}, {8000, 16000, 50}, {1, 16000, 0}, {3, 8000, 2}}) {
    std::vector<float> x(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) x[size_t(i)] = float(std::sin(0.7 * double(i)) + 0.1 * double(i % 3));
    const std::vector<float> got = resample(x, from, to);
    const double cutoff = std::min(1.0, double(to) / double(from)), half_width = 16 / cutoff;
    ASSERT_EQ(int64_t(got.size()), n * to / from) << from << " -> " << to;
    for (size_t j = 0; j < got.size(); ++j) {
      const double position = double(j) * double(from) / double(to);  // in input samples
      double expected = 0;
      for (int64_t i = 0; i < n; ++i) {
        const double t = double(i) - position;
        if (std::abs(t) >= half_width) continue;
        const double u = std::numbers::pi * t * cutoff;
        expected += double(x[size_t(i)]) * cutoff * (u == 0 ? 1.0 : std::sin(u) / u) *
                    (0.5 + 0.5 * std::cos(std::numbers::pi * t / half_width));
      }
      ASSERT_NEAR(got[j], expected, 1e-5) << from << " -> " << to << ", output " << j;
    }
  }
}

}  // namespace wav_test
