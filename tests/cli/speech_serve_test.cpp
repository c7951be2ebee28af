// `citadel serve` on a speech model that `citadel train --data FOLDER` made from tone WAVs:
// its WAV input in the metadata; answers over HTTP (binary data, and base64 in JSON) equal to
// `citadel predict` on the same files, whatever their rate, width or channels; hostile files
// answered 4xx naming the row while the server keeps answering; the serving features that do
// not fit speech refused by name. Also `citadel cv` on the folder (each fold's front end
// fitted on its training files only) and a hostile front-end record refused at load.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <cstring>
#include <map>
#include <set>
#include <numbers>
#include <random>
#include <sstream>

#include "citadel/data/wav.hpp"
#include "citadel/io/model_file.hpp"
#include "citadel/io/saved_model.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/layers/global_pooling1d.hpp"
#include "citadel/model/sequential.hpp"
#include "cli_runner.hpp"
#include "http_client.hpp"
#include "server_process.hpp"
#include "tone_wavs.hpp"

namespace speech_serve_test {

using namespace citadel::testkit;
namespace fs = std::filesystem;

namespace {

const fs::path& tone_model() {
  static const fs::path model = [] {
    const fs::path data = tone_folder(scratch_directory() / "serve_tones", 12, 1);
    const fs::path path = scratch_directory() / "serve_tones.safetensors";
    const CliResult trained = run_cli("train --data " + data.string() +
                                      " --audio-features log_mel --mel-bins 16 --clip-seconds 0.25 "
                                      "--layers conv1d:8:3:relu,globalmaxpool1d,3:softmax --epochs 40 "
                                      "--learning-rate 0.02 --verbose 0 --save " + path.string());
    EXPECT_EQ(trained.exit_code, 0) << trained.err;
    return path;
  }();
  return model;
}

// A WAV of `channels` interleaved channels (each the same signal, scaled) in `bits`-bit PCM or,
// with `floating`, 32-bit IEEE float, written here independently of citadel's reader.
std::string wav_bytes(const std::vector<double>& signal, uint32_t rate, uint16_t channels, uint16_t bits,
                      bool floating = false) {
  std::string data;
  for (const double x : signal)
    for (uint16_t c = 0; c < channels; ++c) {
      const double v = x * (c == 0 ? 1.0 : 0.5);
      if (floating) {
        const auto f = float(v);
        data.append(reinterpret_cast<const char*>(&f), 4);
      } else {
        const auto q = int32_t(std::lround(v * double((int64_t{1} << (bits - 1)) - 1)));
        for (int b = 0; b < bits / 8; ++b) data.push_back(char((bits == 8 ? q + 128 : q) >> (8 * b)));
      }
    }
  std::string out = "RIFF";
  auto u32 = [&out](uint32_t v) { out.append(reinterpret_cast<const char*>(&v), 4); };
  auto u16 = [&out](uint16_t v) { out.append(reinterpret_cast<const char*>(&v), 2); };
  u32(uint32_t(36 + data.size())), out += "WAVEfmt ", u32(16);
  const auto block = uint16_t(channels * bits / 8);
  u16(floating ? 3 : 1), u16(channels), u32(rate), u32(rate * block), u16(block), u16(bits);
  out += "data", u32(uint32_t(data.size()));
  return out + data;
}

std::vector<double> sine(double hz, uint32_t rate, double seconds, double amplitude = 0.3) {
  std::vector<double> x(size_t(seconds * rate));
  for (size_t i = 0; i < x.size(); ++i) x[i] = amplitude * std::sin(2 * std::numbers::pi * hz * double(i) / rate);
  return x;
}

// An infer request whose "audio" input is `files` in Triton's binary tensor layout.
std::string binary_infer(const std::vector<std::string>& files, const std::string& token = "") {
  std::string tensors;
  for (const std::string& file : files) {
    const auto length = uint32_t(file.size());
    tensors.append(reinterpret_cast<const char*>(&length), 4);
    tensors += file;
  }
  const std::string header = nlohmann::json{{"inputs", {{{"name", "audio"}, {"datatype", "BYTES"},
                                                         {"shape", {files.size()}},
                                                         {"parameters", {{"binary_data_size", tensors.size()}}}}}}}
                                 .dump();
  const std::string body = header + tensors;
  return "POST /v2/models/tones/infer HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/octet-stream\r\n" +
         (token.empty() ? std::string() : "Authorization: Bearer " + token + "\r\n") +
         "Inference-Header-Content-Length: " + std::to_string(header.size()) + "\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::string base64(const std::string& bytes) {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t n = uint32_t(uint8_t(bytes[i])) << 16;
    if (i + 1 < bytes.size()) n |= uint32_t(uint8_t(bytes[i + 1])) << 8;
    if (i + 2 < bytes.size()) n |= uint32_t(uint8_t(bytes[i + 2]));
    out += alphabet[n >> 18 & 63], out += alphabet[n >> 12 & 63];
    out += i + 1 < bytes.size() ? alphabet[n >> 6 & 63] : '=';
    out += i + 2 < bytes.size() ? alphabet[n & 63] : '=';
  }
  return out;
}

struct Predicted {
  std::string label;
  std::vector<double> probabilities;
};

// `citadel predict`'s CSV: file → its label and probabilities.
std::map<std::string, Predicted> predicted_csv(const fs::path& csv) {
  std::map<std::string, Predicted> rows;
  std::istringstream lines(read_file(csv));
  std::string line;
  std::getline(lines, line);
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string file, label, p;
    std::getline(fields, file, ','), std::getline(fields, label, ',');
    rows[file].label = label;
    while (std::getline(fields, p, ',')) rows[file].probabilities.push_back(std::stod(p));
  }
  return rows;
}

}  // namespace

TEST(SpeechServe, AnswersEqualCitadelPredictOnTheSameFiles) {
  const fs::path& model = tone_model();
  // Fresh files of every kind the reader takes: 16-bit mono at the tones' own rates, 24-bit
  // stereo at 44.1 kHz, 32-bit float at 22.05 kHz, 8-bit at 11.025 kHz, and one 0.4 s long (cut).
  const fs::path fresh = scratch_directory() / "serve_fresh";
  fs::remove_all(fresh);
  tone_folder(fresh / "tones", 2, 7);
  std::vector<std::pair<fs::path, std::string>> files;
  for (const auto& entry : fs::recursive_directory_iterator(fresh / "tones"))
    if (entry.is_regular_file()) files.emplace_back(entry.path(), read_file(entry.path()));
  const std::vector<std::string> others = {wav_bytes(sine(320, 44100, 0.25), 44100, 2, 24),
                                           wav_bytes(sine(2400, 22050, 0.2), 22050, 1, 32, true),
                                           wav_bytes(sine(880, 11025, 0.25), 11025, 1, 8),
                                           wav_bytes(sine(300, 16000, 0.4), 16000, 1, 16)};
  for (size_t i = 0; i < others.size(); ++i) {
    const fs::path path = fresh / "kinds" / ("kind" + std::to_string(i) + ".wav");
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << others[i];
    files.emplace_back(path, others[i]);
  }
  const fs::path csv = scratch_directory() / "serve_fresh.csv";
  const CliResult predicted =
      run_cli("predict --model " + model.string() + " --input " + fresh.string() + " --output " + csv.string());
  ASSERT_EQ(predicted.exit_code, 0) << predicted.err;
  const auto expected = predicted_csv(csv);
  ASSERT_EQ(expected.size(), files.size());

  ServerProcess server(CITADEL_BINARY, "--model tones=" + model.string() + " --no-auth --allow-unsigned",
                       scratch_directory() / "speech_serve.log");
  ASSERT_GT(server.port(), 0) << server.log();
  // The metadata shows the WAV input and what bounds it.
  const HttpAnswer metadata = http_exchange(server.port(), http_request("GET", "/v2/models/tones"));
  ASSERT_EQ(metadata.status, 200) << metadata.body;
  const auto described = nlohmann::json::parse(metadata.body);
  EXPECT_EQ(described["inputs"], nlohmann::json::parse(R"([{"name": "audio", "datatype": "BYTES", "shape": [-1]}])"));
  EXPECT_EQ(described["parameters"]["audio"]["sample_rate"], 16000);
  EXPECT_DOUBLE_EQ(described["parameters"]["audio"]["clip_seconds"].get<double>(), 0.25);

  // All files in one binary request: each row's probabilities are predict's (6 decimals there).
  std::vector<std::string> bodies;
  for (const auto& file : files) bodies.push_back(file.second);
  const HttpAnswer answered = http_exchange(server.port(), binary_infer(bodies));
  ASSERT_EQ(answered.status, 200) << answered.body;
  const auto outputs = nlohmann::json::parse(answered.body)["outputs"];
  nlohmann::json probabilities, labels;
  for (const auto& output : outputs) (output["name"] == "probabilities" ? probabilities : labels) = output["data"];
  ASSERT_EQ(probabilities.size(), 3 * files.size());
  std::set<std::string> distinct;
  for (size_t r = 0; r < files.size(); ++r) {
    const Predicted& p = expected.at(files[r].first.string());
    EXPECT_EQ(labels[r], p.label) << files[r].first;
    distinct.insert(p.label);
    for (size_t c = 0; c < 3; ++c)
      EXPECT_NEAR(probabilities[3 * r + c].get<double>(), p.probabilities[c], 2e-6) << files[r].first << " class " << c;
  }
  EXPECT_EQ(distinct.size(), 3u) << "the model tells the tones apart, so equal answers are not all alike";

  // JSON carries a file as base64, the input marked so; the answer is the same.
  const std::string json = R"({"inputs": [{"name": "audio", "datatype": "BYTES", "shape": [1], )"
                           R"("parameters": {"content_type": "base64"}, "data": [")" + base64(files.back().second) + R"("]}]})";
  const HttpAnswer as_base64 = http_exchange(server.port(), http_request("POST", "/v2/models/tones/infer", json));
  ASSERT_EQ(as_base64.status, 200) << as_base64.body;
  const auto base64_p = nlohmann::json::parse(as_base64.body)["outputs"];
  for (const auto& output : base64_p) {
    if (output["name"] != "probabilities") continue;
    for (size_t c = 0; c < 3; ++c)
      EXPECT_NEAR(output["data"][c].get<double>(), expected.at(files.back().first.string()).probabilities[c], 2e-6);
  }
}

// Served signed, behind a token with a row budget: hostile files are refused before they are
// admitted (so they cost no budget), and each good file is a row of the budget.
TEST(SpeechServe, HostileFilesAre4xxNamingTheRowAndTheServerKeepsAnswering) {
  const fs::path& model = tone_model();
  const fs::path signed_model = scratch_directory() / "hostile_tones.safetensors";
  fs::copy_file(model, signed_model, fs::copy_options::overwrite_existing);
  const fs::path pub = scratch_directory() / "speech.pub", key = scratch_directory() / "speech.key";
  const fs::path tokens = scratch_directory() / "speech_tokens.json";
  fs::remove(tokens);
  ASSERT_EQ(run_cli("keygen --force --public " + pub.string() + " --secret " + key.string()).exit_code, 0);
  ASSERT_EQ(run_cli("sign " + signed_model.string() + " --key " + key.string()).exit_code, 0);
  const CliResult added = run_cli("token add --tokens " + tokens.string() + " --name caller --rows-budget 10");
  ASSERT_EQ(added.exit_code, 0) << added.err;
  const std::string token = added.out.substr(0, added.out.find('\n'));
  ServerProcess server(CITADEL_BINARY, "--model tones=" + signed_model.string() + " --tokens " + tokens.string() +
                                           " --pubkey " + pub.string(),
                       scratch_directory() / "speech_hostile.log");
  ASSERT_GT(server.port(), 0) << server.log();
  const std::string good = wav_bytes(sine(300, 16000, 0.25), 16000, 1, 16);
  EXPECT_EQ(http_exchange(server.port(), binary_infer({good})).status, 401);  // no token
  auto json_request = [&](const std::string& body) { return http_request("POST", "/v2/models/tones/infer", body, token); };
  auto expect_refused = [&](const std::string& request, int status, const std::string& words, const char* what) {
    const HttpAnswer answer = http_exchange(server.port(), request);
    EXPECT_EQ(answer.status, status) << what << ": " << answer.body;
    EXPECT_NE(answer.body.find(words), std::string::npos) << what << ": " << answer.body;
    const HttpAnswer after = http_exchange(server.port(), binary_infer({good}, token));  // still serving
    EXPECT_EQ(after.status, 200) << "after " << what << ": " << after.body;
  };
  expect_refused(binary_infer({good, "hello, not audio at all"}, token), 400, "row 1: not a WAV file", "not a WAV");
  expect_refused(binary_infer({good.substr(0, 30)}, token), 400, "input 'audio': row 0", "truncated");
  std::string claims_more = good;  // a 'data' chunk that says 2 GB
  const uint32_t huge = 0x7fffffff;
  std::memcpy(claims_more.data() + 40, &huge, 4);
  expect_refused(binary_infer({claims_more}, token), 400, "row 0: chunk 'data'", "huge declared data size");
  // A length prefix past the model's bound is refused on the prefix, before anything is read.
  std::string oversized = binary_infer({good}, token);
  const size_t prefix = oversized.find("\r\n\r\n") + 4 + std::stoul(oversized.substr(
                            oversized.find("Inference-Header-Content-Length: ") + 33));
  const uint32_t declared = 0x40000000;
  std::memcpy(oversized.data() + prefix, &declared, 4);
  expect_refused(oversized, 413, "row 0 declares 1073741824 bytes", "huge length prefix");
  // Minutes of audio: a file larger than the model's bound (413), or small but long (400).
  expect_refused(binary_infer({good, wav_bytes(sine(300, 16000, 12), 16000, 1, 16)}, token), 413,
                 "row 1 declares", "a long file");
  expect_refused(binary_infer({wav_bytes(sine(300, 8000, 3), 8000, 1, 8)}, token), 400, "longer than the limit",
                 "a long, small file");
  expect_refused(json_request(
                              R"({"inputs": [{"name": "audio", "datatype": "BYTES", "shape": [1], "data": ["RIFF"]}]})"),
                 400, "binary data", "a JSON string");
  expect_refused(json_request(
                              R"({"inputs": [{"name": "audio", "datatype": "BYTES", "shape": [1], )"
                              R"("parameters": {"content_type": "base64"}, "data": ["***"]}]})"),
                 400, "row 0 is not base64", "bad base64");
  expect_refused(json_request(
                              R"({"inputs": [{"name": "audio", "datatype": "FP32", "shape": [1, 4], "data": [1, 2, 3, 4]}]})"),
                 400, "use BYTES", "numbers");
  EXPECT_TRUE(server.running());
  // Nine good files so far (one after each refusal): the tenth is the budget's last row.
  EXPECT_EQ(http_exchange(server.port(), binary_infer({good}, token)).status, 200);
  const HttpAnswer spent = http_exchange(server.port(), binary_infer({good}, token));
  EXPECT_EQ(spent.status, 429) << spent.body;
}

// A file past the model's bound is a 413 of its own kind in /metrics ("wav_bytes"), three
// ways (a binary length prefix, a file in binary data, base64 in JSON); "rows" moves only
// for a request of more rows than --max-rows.
TEST(SpeechServe, AnOversizedFileIsCountedUnderItsOwnRejectionReason) {
  const fs::path& model = tone_model();
  ServerProcess server(CITADEL_BINARY, "--model tones=" + model.string() + " --no-auth --allow-unsigned --max-rows 2",
                       scratch_directory() / "speech_metrics.log");
  ASSERT_GT(server.port(), 0) << server.log();
  auto rejections = [&](const std::string& reason) {  // the counter's value, -1 when the page lacks it
    const HttpAnswer page = http_exchange(server.port(), http_request("GET", "/metrics"));
    EXPECT_EQ(page.status, 200) << page.body;
    const std::string line = "citadel_rejections_total{reason=\"" + reason + "\"} ";
    const size_t at = page.body.find(line);
    return at == std::string::npos ? -1 : std::stol(page.body.substr(at + line.size()));
  };
  const std::string good = wav_bytes(sine(300, 16000, 0.25), 16000, 1, 16);
  const std::string long_file = wav_bytes(sine(300, 16000, 12), 16000, 1, 16);  // 384 kB; the bound 257.5 kB
  std::string prefixed = binary_infer({good});  // a length prefix of 1 GiB, nothing behind it
  const size_t prefix = prefixed.find("\r\n\r\n") + 4 +
                        std::stoul(prefixed.substr(prefixed.find("Inference-Header-Content-Length: ") + 33));
  const uint32_t declared = 0x40000000;
  std::memcpy(prefixed.data() + prefix, &declared, 4);
  const std::string as_base64 = R"({"inputs": [{"name": "audio", "datatype": "BYTES", "shape": [1], )"
                                R"("parameters": {"content_type": "base64"}, "data": [")" + base64(long_file) + R"("]}]})";
  for (const std::string& request :
       {prefixed, binary_infer({long_file}), http_request("POST", "/v2/models/tones/infer", as_base64)}) {
    const HttpAnswer answer = http_exchange(server.port(), request);
    EXPECT_EQ(answer.status, 413) << answer.body;
  }
  EXPECT_EQ(rejections("wav_bytes"), 3);
  EXPECT_EQ(rejections("rows"), -1) << "a file too large is not a request of too many rows";
  const HttpAnswer many = http_exchange(server.port(), binary_infer({good, good, good}));
  EXPECT_EQ(many.status, 413) << many.body;
  EXPECT_NE(many.body.find("--max-rows"), std::string::npos) << many.body;
  EXPECT_EQ(rejections("rows"), 1);
  EXPECT_EQ(rejections("wav_bytes"), 3);
  EXPECT_EQ(http_exchange(server.port(), binary_infer({good, good})).status, 200);
}

// An encrypted speech model, decrypted in memory, answers as the plain one; SIGHUP reloads it
// (the same load path), and a tampered file is refused on reload while the loaded model goes
// on answering.
TEST(SpeechServe, AnEncryptedModelServesAndReloadsOnSighup) {
  const fs::path& model = tone_model();
  const fs::path key = scratch_directory() / "speech_model.key";
  const fs::path encrypted = scratch_directory() / "speech_encrypted.safetensors.enc";
  fs::remove(key);
  ASSERT_EQ(run_cli("keygen --encryption-key " + key.string()).exit_code, 0);
  const CliResult made = run_cli("encrypt " + model.string() + " --key-file " + key.string() + " --output " +
                                 encrypted.string());
  ASSERT_EQ(made.exit_code, 0) << made.err;
  const std::string good = wav_bytes(sine(300, 16000, 0.25), 16000, 1, 16);
  ServerProcess plain(CITADEL_BINARY, "--model tones=" + model.string() + " --no-auth --allow-unsigned",
                      scratch_directory() / "speech_plain.log");
  ASSERT_GT(plain.port(), 0) << plain.log();
  const HttpAnswer expected = http_exchange(plain.port(), binary_infer({good}));
  ASSERT_EQ(expected.status, 200) << expected.body;
  plain.kill();

  ServerProcess server(CITADEL_BINARY, "--model tones=" + encrypted.string() + " --key-file " + key.string() +
                                           " --no-auth --allow-unsigned",
                       scratch_directory() / "speech_encrypted.log");
  ASSERT_GT(server.port(), 0) << server.log();
  const HttpAnswer before = http_exchange(server.port(), binary_infer({good}));
  EXPECT_EQ(before.status, 200) << before.body;
  EXPECT_EQ(before.body, expected.body);
  auto reload = [&](const char* result) {
    const size_t seen = server.log().size();
    ::kill(server.pid(), SIGHUP);
    for (int i = 0; i < 200 && server.log().find("\"reload\"", seen) == std::string::npos; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_NE(server.log().find(std::string("\"result\":\"") + result, seen), std::string::npos) << server.log();
  };
  reload("ok");
  EXPECT_EQ(http_exchange(server.port(), binary_infer({good})).body, expected.body);
  std::string bytes = read_file(encrypted);
  bytes[bytes.size() / 2] ^= 0x10;
  std::ofstream(encrypted, std::ios::binary | std::ios::trunc) << bytes;
  reload("failed");
  EXPECT_EQ(http_exchange(server.port(), binary_infer({good})).body, expected.body);
}

// --smoothing, --strip and --watermark each work on rows a client sends as numbers.
TEST(SpeechServe, FeaturesThatDoNotFitSpeechAreRefusedByName) {
  const fs::path& model = tone_model();
  const CliResult smoothed = run_cli("serve --model tones=" + model.string() +
                                     " --no-auth --allow-unsigned --port 0 --smoothing 0.25,100");
  EXPECT_NE(smoothed.exit_code, 0);
  EXPECT_NE(smoothed.err.find("reads WAV files (a speech model); randomized smoothing is not offered"),
            std::string::npos) << smoothed.err;
  const fs::path clean = write_scratch_file("speech_clean.csv", "a,b\n1,2\n");
  const CliResult stripped = run_cli("serve --model tones=" + model.string() +
                                     " --no-auth --allow-unsigned --port 0 --strip 10 --strip-clean " + clean.string());
  EXPECT_NE(stripped.exit_code, 0);
  EXPECT_NE(stripped.err.find("reads WAV files (a speech model); STRIP is not offered"), std::string::npos)
      << stripped.err;
  const fs::path key = scratch_directory() / "speech_watermark.key";
  ASSERT_EQ(run_cli("watermark keygen --force --key " + key.string()).exit_code, 0);
  const CliResult marked = run_cli("serve --model tones=" + model.string() + " --no-auth --allow-unsigned --port 0 "
                                   "--watermark " + key.string() + " --watermark-log " +
                                   (scratch_directory() / "speech_watermark.log").string());
  EXPECT_NE(marked.exit_code, 0);
  EXPECT_NE(marked.err.find("reads WAV files (a speech model); a served watermark is not offered"), std::string::npos)
      << marked.err;
}

// cv on the folder: each fold's front end learned its statistics from its training files
// alone, checked against the mean of each coefficient computed here over the files the fold
// did not hold out (and shown to differ from the mean over every file).
TEST(SpeechCv, EachFoldsFrontEndIsFittedOnItsTrainingFilesOnly) {
  const fs::path data = tone_folder(scratch_directory() / "cv_tones", 4, 3);
  const fs::path report = scratch_directory() / "cv_tones.json";
  const CliResult cv = run_cli("cv --data " + data.string() +
                               " --folds 3 --audio-features log_mel --mel-bins 8 --clip-seconds 0.25 "
                               "--layers conv1d:4:3:relu,globalavgpool1d,3:softmax --epochs 2 --verbose 0 --report " +
                               report.string());
  ASSERT_EQ(cv.exit_code, 0) << cv.err;
  const auto folds = nlohmann::json::parse(read_file(report))["folds"];
  ASSERT_EQ(folds.size(), 3u);
  const citadel::AudioPreprocessing unadapted({.features = "log_mel", .sample_rate = 16000, .clip_samples = 4000,
                                               .mel_bins = 8});
  std::map<std::string, std::vector<double>> sums;  // per file: each coefficient's sum over frames
  int64_t frames = 0;
  for (const auto& entry : fs::recursive_directory_iterator(data)) {
    if (!entry.is_regular_file()) continue;
    const citadel::Tensor f = unadapted.file_features(entry.path().string());
    frames = f.shape(1);
    std::vector<double>& sum = sums[entry.path().string()];
    sum.assign(8, 0.0);
    for (int64_t i = 0; i < f.numel(); ++i) sum[size_t(i % 8)] += f.data()[i];
  }
  ASSERT_EQ(sums.size(), 12u);
  std::set<std::string> every_held_out;
  size_t held_out_count = 0;
  for (const auto& fold : folds) {
    std::set<std::string> held_out;
    for (const auto& file : fold["held_out_files"]) held_out.insert(file.get<std::string>());
    held_out_count += held_out.size();
    every_held_out.insert(held_out.begin(), held_out.end());
    double gap = 0;  // how far the held-out files would have moved the statistics
    for (size_t c = 0; c < 8; ++c) {
      double train = 0, all = 0;
      for (const auto& [file, sum] : sums) {
        all += sum[c];
        if (!held_out.count(file)) train += sum[c];
      }
      const double train_mean = train / double(frames * int64_t(sums.size() - held_out.size()));
      const double all_mean = all / double(frames * int64_t(sums.size()));
      const double recorded = fold["front_end"]["mean"][c].get<double>();
      EXPECT_NEAR(recorded, train_mean, 1e-3 * (1 + std::abs(train_mean))) << "coefficient " << c;
      gap = std::max(gap, std::abs(recorded - all_mean));
    }
    EXPECT_GT(gap, 1e-3) << "the held-out files would not have moved the statistics: the test cannot tell";
  }
  EXPECT_EQ(every_held_out.size(), 12u);  // every file held out once
  EXPECT_EQ(held_out_count, 12u);

  for (const auto& [flags, named] : std::vector<std::pair<std::string, std::string>>{
           {"--audio-augment 2", "--audio-augment"}, {"--scale standard", "--scale standard"},
           {"--missing mean", "--missing"}, {"--text message", "--text"}}) {
    const CliResult refused = run_cli("cv --data " + data.string() + " --clip-seconds 0.25 --epochs 1 " + flags);
    EXPECT_NE(refused.exit_code, 0) << flags;
    EXPECT_NE(refused.err.find(named), std::string::npos) << flags << ": " << refused.err;
  }
}

// A record asking for 600 s at 192 kHz from a small model (its input 59,990 frames of one
// log-mel band, averaged away): refused at load, naming the file and the field, before any
// WAV is read. The tone model's own record still loads.
TEST(SpeechModelFile, AHostileClipLengthIsRefusedNamingTheFileAndField) {
  const fs::path& model = tone_model();
  citadel::LoadedModel tones = citadel::load_model(model.string());
  const int64_t frames = 59'990, clip = 4800 + (frames - 1) * 1920;  // 25 ms frames every 10 ms at 192 kHz
  citadel::Sequential hostile;
  hostile.add(citadel::GlobalAveragePooling1D({.input_shape = {frames, 1}}));
  hostile.add(citadel::Dense(3, {.activation = "softmax"}));
  hostile.build(citadel::Shape{frames, 1});
  citadel::Metadata metadata = tones.metadata;
  metadata["audio_preprocessing"] = nlohmann::json{{"features", "log_mel"}, {"sample_rate", 192000},
                                                   {"clip_samples", clip}, {"mel_bins", 1}, {"mfcc_count", 1},
                                                   {"mean", nlohmann::json::array()}, {"std", nlohmann::json::array()}}
                                        .dump();
  const fs::path path = scratch_directory() / "hostile_clip.safetensors";
  citadel::save_model(hostile, path.string(), metadata);
  const std::string wav = (scratch_directory() / "hostile_clip.wav").string();
  std::ofstream(wav, std::ios::binary) << wav_bytes(sine(300, 16000, 0.25), 16000, 1, 16);
  const CliResult predicted =
      run_cli("predict --model " + path.string() + " --input " + wav + " --output " + wav + ".csv --verbose 0");
  EXPECT_NE(predicted.exit_code, 0);
  EXPECT_NE(predicted.err.find(path.string() + ": the 'audio_preprocessing' record's 'clip_samples' (" +
                               std::to_string(clip) + " samples"),
            std::string::npos) << predicted.err;
  EXPECT_NO_THROW(citadel::load_saved_model(model.string()));
}

}  // namespace speech_serve_test
