// A speech model's served input, in process (the model of tests/support/speech_served_model.hpp,
// which audio_request_fuzz also serves): the inputs the fuzzer's findings and the refusals'
// labels came from. Over HTTP, with the CLI's model, see tests/cli/speech_serve_test.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "citadel/serving/inference_protocol.hpp"
#include "speech_served_model.hpp"

namespace audio_serving_test {

using namespace citadel;

namespace {

const serving::ServedModel& served() {
  static const serving::ServedModel model = speech_served_model("speech", "full");
  return model;
}

// A mono WAV of `samples` (float32 when `floating`, else 16-bit PCM), written here byte by byte.
std::string wav(const std::vector<float>& samples, uint32_t rate, bool floating) {
  std::string data;
  for (const float x : samples) {
    if (floating) {
      data.append(reinterpret_cast<const char*>(&x), 4);
    } else {
      const auto q = int16_t(std::lround(x * 32767));
      data.append(reinterpret_cast<const char*>(&q), 2);
    }
  }
  const uint16_t bits = floating ? 32 : 16, block = bits / 8, tag = floating ? 3 : 1, channels = 1;
  std::string out = "RIFF";
  auto u32 = [&out](uint32_t v) { out.append(reinterpret_cast<const char*>(&v), 4); };
  auto u16 = [&out](uint16_t v) { out.append(reinterpret_cast<const char*>(&v), 2); };
  u32(uint32_t(36 + data.size())), out += "WAVEfmt ", u32(16);
  u16(tag), u16(channels), u32(rate), u32(rate * block), u16(block), u16(bits);
  out += "data", u32(uint32_t(data.size()));
  return out + data;
}

// The request's JSON header and its binary data: `files` as the BYTES input "audio".
struct BinaryRequest {
  std::string json, tensors;
};
BinaryRequest binary_request(const std::vector<std::string>& files) {
  BinaryRequest request;
  for (const std::string& file : files) {
    const auto length = uint32_t(file.size());
    request.tensors.append(reinterpret_cast<const char*>(&length), 4);
    request.tensors += file;
  }
  request.json = nlohmann::json{{"inputs", {{{"name", "audio"}, {"datatype", "BYTES"}, {"shape", {files.size()}},
                                             {"parameters", {{"binary_data_size", request.tensors.size()}}}}}}}
                     .dump();
  return request;
}

RowPredictions answer(const std::vector<std::string>& files) {
  const BinaryRequest body = binary_request(files);
  const serving::InferRequest request = serving::decode_infer_request(body.json, served(), {}, body.tensors);
  return serving::predict_request(serving::encode_request(request, served()), served());
}

serving::RequestError refusal(const std::vector<std::string>& files) {
  try {
    answer(files);
  } catch (const serving::RequestError& e) {
    return e;
  }
  ADD_FAILURE() << "answered";
  return serving::RequestError(0, "");
}

}  // namespace

// NaN, infinite or huge float samples were read and answered with NaN probabilities (found by
// audio_request_fuzz in its first seconds); now the row is refused as a file that is not audio.
TEST(AudioServing, FloatFilesOfNonFiniteSamplesAreRefusedNamingTheRow) {
  const std::string good = wav(std::vector<float>(800, 0.25f), 8000, true);
  EXPECT_TRUE(std::isfinite(answer({good}).probabilities[0]));
  for (const float bad : {std::nanf(""), INFINITY, 3e38f}) {
    std::vector<float> samples(800, 0.25f);
    samples[17] = bad;
    const serving::RequestError e = refusal({good, wav(samples, 8000, true)});
    EXPECT_EQ(e.status(), 400) << e.what();
    EXPECT_NE(std::string(e.what()).find("input 'audio': row 1: sample 17 of channel 0 is"), std::string::npos)
        << e.what();
  }
}

// A file at 1 Hz holding no samples is a clip of silence, answered as a silent file at the
// model's own rate is (its resampling once built a table of every phase: 8000 × 33 weights).
TEST(AudioServing, AnEmptyFileAtAnOddRateIsASilentClip) {
  const RowPredictions silent = answer({wav(std::vector<float>(800, 0.0f), 8000, false)});
  const RowPredictions odd = answer({wav({}, 1, false), wav({}, 7, true)});
  ASSERT_EQ(odd.probabilities.numel(), 4);
  for (int64_t i = 0; i < 4; ++i) EXPECT_EQ(odd.probabilities[i], silent.probabilities[i % 2]) << i;
}

// A file past the model's bound is a 413 that /metrics counts as "wav_bytes" (the router's
// default for a 413 is "rows": a request of more rows than --max-rows).
TEST(AudioServing, AFileTooLargeIsA413LabelledWavBytes) {
  const std::string long_file = wav(std::vector<float>(40000, 0.1f), 8000, true);  // 5 s; the clip is 0.1 s
  const serving::RequestError e = refusal({long_file});
  EXPECT_EQ(e.status(), 413) << e.what();
  EXPECT_EQ(e.reason(), "wav_bytes");
  const std::string base64 = R"({"inputs": [{"name": "audio", "datatype": "BYTES", "shape": [1], )"
                             R"("parameters": {"content_type": "base64"}, "data": [")" +
                             std::string(200000, 'A') + R"("]}]})";
  try {
    serving::decode_infer_request(base64, served(), {});
    ADD_FAILURE() << "decoded";
  } catch (const serving::RequestError& refused) {
    EXPECT_EQ(refused.status(), 413) << refused.what();
    EXPECT_EQ(refused.reason(), "wav_bytes");
  }
}

// Each file becomes a whole clip, however little it holds: the clips count against the
// request's numbers (max_elements), a 413 counted as "rows" past them; one file always fits.
TEST(AudioServing, TheClipsOfARequestCountAgainstItsNumbers) {
  const std::string empty = wav({}, 8000, false);  // 44 bytes, a clip of 800 samples
  const BinaryRequest five = binary_request(std::vector<std::string>(5, empty));
  const BinaryRequest six = binary_request(std::vector<std::string>(6, empty));
  const serving::RequestLimits limits{.max_elements = 4000};
  EXPECT_EQ(serving::decode_infer_request(five.json, served(), limits, five.tensors).clips.shape(0), 5);
  try {
    serving::decode_infer_request(six.json, served(), limits, six.tensors);
    ADD_FAILURE() << "decoded";
  } catch (const serving::RequestError& e) {
    EXPECT_EQ(e.status(), 413) << e.what();
    EXPECT_EQ(e.reason(), "");  // the router's default for a 413: "rows"
    EXPECT_NE(std::string(e.what()).find("6 files; each is a clip of 800 samples"), std::string::npos) << e.what();
  }
  const BinaryRequest one = binary_request({empty});
  EXPECT_EQ(serving::decode_infer_request(one.json, served(), {.max_elements = 10}, one.tensors).clips.shape(0), 1);
}

}  // namespace audio_serving_test
