// `citadel serve --watermark`: a keyed share of each token's rows is answered with a keyed other
// label, every output of the row agreeing under each output policy, the answer identical when the
// query is repeated, each such row recorded once in the log with the row, label and token, and the
// other rows answered exactly as without the watermark. Requests go over loopback.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "citadel/core/random.hpp"
#include "citadel/data/csv.hpp"
#include "citadel/data/dataset.hpp"
#include "citadel/data/preprocessor.hpp"
#include "citadel/io/saved_model.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/provenance/served_watermark.hpp"
#include "citadel/serving/server.hpp"
#include "citadel/serving/watermark_suspect.hpp"
#include "http_client.hpp"
#include "running_server.hpp"
#include "scratch_folder.hpp"

namespace watermark_serving_test {

using namespace citadel;
using namespace citadel::serving;
using namespace citadel::testkit;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr int64_t kWidth = 6, kClasses = 4;

Tensor rows_of(int64_t n, uint64_t seed) {
  Rng rng(seed);
  Tensor x(Shape{n, kWidth});
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = float(rng.normal());
  return x;
}

// Four classes by the signs of the first two features.
const fs::path& model_file() {
  static const fs::path path = [] {
    const Tensor x = rows_of(800, 1);
    std::string csv = "a,b,c,d,e,f,label\n";
    for (int64_t r = 0; r < x.shape(0); ++r) {
      for (int64_t f = 0; f < kWidth; ++f) csv += std::to_string(x[r * kWidth + f]) + ",";
      csv += "c" + std::to_string((x[r * kWidth] > 0) * 2 + (x[r * kWidth + 1] > 0)) + "\n";
    }
    Dataset data = to_dataset(parse_csv(csv, "quadrants"));
    Preprocessor preprocessor({.scaling = "standard"});
    preprocessor.fit(data.x);
    preprocessor.apply(data.x);
    random::set_seed(2);
    Sequential model;
    model.add(Dense(16, {.input_dim = kWidth, .activation = "relu"}));
    model.add(Dense(kClasses, {.activation = "softmax"}));
    model.compile({.loss = "sparse_categorical_crossentropy", .optimizer = "adam"});
    model.fit(data.x, data.y, {.epochs = 10, .batch_size = 32, .verbose = 0});
    const fs::path file = citadel::testing::scratch_folder() / "quadrants.safetensors";
    save_saved_model(model, saved_model_records(data.schema, false, "sparse_categorical_crossentropy", preprocessor,
                                                "quadrants"),
                     file.string());
    return file;
  }();
  return path;
}

WatermarkKey key_of(const fs::path& path) {
  if (!fs::exists(path)) generate_watermark_key(path.string());
  return WatermarkKey::load(path.string());
}

ServedModel served(const std::string& name, const std::string& policy) {
  return ServedModel{name, model_file().string(), load_saved_model(model_file().string()),
                     OutputPolicy::parse(policy, "test")};
}

std::string body_of(ConstTensorView rows) {
  std::vector<float> data(rows.data(), rows.data() + rows.numel());
  return json{{"inputs", {{{"name", "features"}, {"datatype", "FP32"}, {"shape", {rows.shape(0), kWidth}},
                           {"data", data}}}}}.dump();
}

using Running = RunningServer;

Running start(std::vector<ServedModel> models) { return start_server(std::move(models), {}, {"alice", "bob"}); }

json infer(const Running& r, const std::string& model, const std::string& body, const std::string& token) {
  const HttpAnswer answer = infer_request(r, model, body, token);
  EXPECT_EQ(answer.status, 200) << answer.body;
  json outputs = json::object();
  const json root = json::parse(answer.body);  // kept alive through the loop
  for (const json& output : root["outputs"]) outputs[output["name"].get<std::string>()] = output["data"];
  return outputs;
}

// One row of a flat "probabilities" output.
std::vector<float> row_of(const json& data, int64_t row) {
  std::vector<float> p;
  for (int64_t c = 0; c < kClasses; ++c) p.push_back(data[size_t(row * kClasses + c)].get<float>());
  return p;
}

}  // namespace

TEST(ServeWatermark, SelectedRowsGetTheKeyedLabelRecordedAndTheOthersAreUnchanged) {
  const fs::path key_path = citadel::testing::scratch_folder() / "serve_wm.key";
  const fs::path log_path = citadel::testing::scratch_folder() / "serve_wm.log";
  const WatermarkKey key = key_of(key_path);
  const double rate = 0.2;
  std::vector<ServedModel> models;
  models.push_back(served("plain", "full"));
  // One key and one open log for every watermarked model, as `serve` shares them.
  const WatermarkPolicy watermark = open_watermark(key_path.string(), rate, log_path.string(), 100'000);
  for (const char* policy : {"full", "topk:2", "round:1", "label"}) {
    models.push_back(served(std::string("wm_") + policy, policy));
    models.back().watermark = watermark;
  }
  const Running r = start(std::move(models));
  const int64_t n = 200;
  const Tensor x = rows_of(n, 7);
  const json plain = infer(r, "plain", body_of(x), r.tokens.at("alice"));
  const json full = infer(r, "wm_full", body_of(x), r.tokens.at("alice"));
  int64_t selected = 0;
  for (int64_t row = 0; row < n; ++row) {
    const WatermarkTag tag = served_watermark_tag(key, "alice", x.data() + row * kWidth, kWidth);
    std::vector<float> plain_p = row_of(plain["probabilities"], row), marked_p = row_of(full["probabilities"], row);
    if (!watermark_selects(tag, rate)) {
      EXPECT_EQ(full["label"][row], plain["label"][row]) << row;
      EXPECT_EQ(marked_p, plain_p) << row;
      continue;
    }
    ++selected;
    const int64_t top = std::max_element(plain_p.begin(), plain_p.end()) - plain_p.begin();
    const int64_t label = watermark_label(tag, top, kClasses);
    EXPECT_EQ(full["label"][row], "c" + std::to_string(label)) << row;
    EXPECT_NE(full["label"][row], plain["label"][row]);
    EXPECT_EQ(std::max_element(marked_p.begin(), marked_p.end()) - marked_p.begin(), label);
    double sum = 0;
    for (float v : marked_p) sum += v;
    EXPECT_NEAR(sum, 1.0, 1e-5);
    std::sort(plain_p.begin(), plain_p.end()), std::sort(marked_p.begin(), marked_p.end());
    EXPECT_EQ(marked_p, plain_p);  // the same values, moved
  }
  EXPECT_NEAR(double(selected), n * rate, 5 * std::sqrt(n * rate));
  ASSERT_GT(selected, 0);

  // Every policy answers the same label, its probabilities (where it shows them) agreeing.
  for (const char* policy : {"topk:2", "round:1", "label"}) {
    const json answer = infer(r, std::string("wm_") + policy, body_of(x), r.tokens.at("alice"));
    EXPECT_EQ(answer["label"], full["label"]) << policy;
    if (std::string(policy) == "label") {
      EXPECT_FALSE(answer.contains("probabilities"));
      continue;
    }
    for (int64_t row = 0; row < n; ++row) {  // watermarked rows: the label the only top (ties are the policy's own)
      if (!watermark_selects(served_watermark_tag(key, "alice", x.data() + row * kWidth, kWidth), rate)) continue;
      const std::vector<float> p = row_of(answer["probabilities"], row);
      EXPECT_EQ(std::count(p.begin(), p.end(), *std::max_element(p.begin(), p.end())), 1) << policy << " " << row;
      const std::string label = answer["label"][row];
      EXPECT_EQ(std::max_element(p.begin(), p.end()) - p.begin(), std::stoi(label.substr(1))) << policy << " " << row;
    }
  }
  // Asked again, the same answer: nothing to average away.
  EXPECT_EQ(infer(r, "wm_full", body_of(x), r.tokens.at("alice")), full);
  // Another client's selection is its own.
  const json other = infer(r, "wm_full", body_of(x), r.tokens.at("bob"));
  int64_t differs = 0;
  for (int64_t row = 0; row < n; ++row) differs += other["label"][row] != full["label"][row];
  EXPECT_GT(differs, 0);

  // The log: each of alice's selected rows once (four policies' models, one key: each model's
  // row is a record of its own tag only if the tag differs — it does not, so once), and bob's.
  const WatermarkLog log = read_watermark_log(log_path.string());
  EXPECT_EQ(log.torn, 0);
  EXPECT_EQ(log.duplicates, 0);
  int64_t alice = 0;
  for (const WatermarkRecord& record : log.records) {
    if (record.token != "alice") continue;
    ++alice;
    EXPECT_EQ(record.input, "features");
    EXPECT_EQ(record.shape, std::vector<int64_t>{kWidth});
    EXPECT_EQ(record.classes, kClasses);
    EXPECT_EQ(record.class_name, "c" + std::to_string(record.label));
    const WatermarkTag tag = served_watermark_tag(key, "alice", record.row.data(), kWidth);
    EXPECT_EQ(record.tag, watermark_tag_hex(tag));
    EXPECT_TRUE(watermark_selects(tag, rate));
  }
  EXPECT_EQ(alice, selected);

  // The suspect path of `watermark verify`: the unwatermarked model is not the watermarked one,
  // while the watermarked endpoint itself answers every recorded row with its recorded label.
  std::vector<WatermarkRecord> alices;
  for (const WatermarkRecord& record : log.records)
    if (record.token == "alice") alices.push_back(record);
  auto suspect = std::make_shared<ServedModel>(served("suspect", "label"));
  const WatermarkVerdict innocent = verify_served_watermark(alices, suspect_model_answers(suspect), 1000, 1e-3);
  EXPECT_EQ(innocent.matches, 0);
  EXPECT_FALSE(innocent.claimed);
  // Over HTTP with alice's token: the endpoint repeats its watermarked answers.
  const std::string url = "http://127.0.0.1:" + std::to_string(r.port) + "/v2/models/wm_label";
  const WatermarkVerdict endpoint = verify_served_watermark(alices, suspect_url_answers(url, r.tokens.at("alice")), 1000, 1e-3);
  EXPECT_EQ(endpoint.matches, endpoint.queries);
  EXPECT_EQ(endpoint.claimed, endpoint.p_value < 1e-3);
  EXPECT_THROW(suspect_url_answers(url, "wrong token")(alices), IoError);
  EXPECT_THROW(suspect_url_answers("https://127.0.0.1/v2/models/m", ""), ValueError);
  EXPECT_THROW(suspect_url_answers("http://127.0.0.1:1/nothing", ""), ValueError);
}

TEST(ServeWatermark, ModelsItCannotMarkAreRefusedNamingTheFlag) {
  const fs::path key_path = citadel::testing::scratch_folder() / "refuse.key";
  key_of(key_path);
  EXPECT_THROW(open_watermark(key_path.string(), 0.0, "x.log", 10), ValueError);
  EXPECT_THROW(open_watermark(key_path.string(), 0.6, "x.log", 10), ValueError);
  EXPECT_THROW(open_watermark(key_path.string(), 0.1, "", 10), ValueError);
  ServedModel smoothed = served("m", "label");
  smoothed.smoothing = SmoothingPolicy::parse("0.25,100", 0.001, "--smoothing");
  try {
    check_watermarkable(smoothed);
    ADD_FAILURE() << "accepted a smoothed model";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("--watermark (model 'm')"), std::string::npos) << e.what();
  }
}

}  // namespace watermark_serving_test
