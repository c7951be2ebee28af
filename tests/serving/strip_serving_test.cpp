// `citadel serve --strip`: a model screened by STRIP refuses a request with a triggered row
// (422, naming the row), answers clean rows as before, counts both in /metrics, bounds a
// request's rows by N + 1 passes each, and models it cannot screen are refused before anything
// listens. The model: 8×8 images as 64 CSV columns, backdoored (2×2 corner patch → class c0).
// Requests go over loopback, a few each, bounded in time.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "citadel/core/random.hpp"
#include "citadel/data/csv.hpp"
#include "citadel/data/dataset.hpp"
#include "citadel/data/preprocessor.hpp"
#include "citadel/io/saved_model.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/provenance/backdoor_trigger.hpp"
#include "citadel/provenance/strip.hpp"
#include "citadel/serving/server.hpp"
#include "http_client.hpp"
#include "running_server.hpp"
#include "scratch_folder.hpp"

namespace strip_serving_test {

using namespace citadel;
using namespace citadel::serving;
using namespace citadel::testkit;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr int64_t kSide = 8, kPixels = kSide * kSide;
const PatchTrigger kTrigger{.size = 2};

// Class k of four: a bar on row 2k, over background noise (as tests/provenance/strip_test.cpp).
Tensor images(int64_t n, uint64_t seed, Tensor* labels = nullptr) {
  Rng rng(seed);
  Tensor x(Shape{n, kPixels});
  if (labels) *labels = Tensor(Shape{n});
  for (int64_t r = 0; r < n; ++r) {
    const auto k = int64_t(rng.below(4));
    if (labels) (*labels)[r] = float(k);
    for (int64_t i = 0; i < kPixels; ++i) x[r * kPixels + i] = 0.2f * rng.uniform();
    for (int64_t c = 0; c < 5; ++c) x[r * kPixels + 2 * k * kSide + c] = 0.7f + 0.3f * rng.uniform();
  }
  return x;
}

std::string csv_of(ConstTensorView x, ConstTensorView y) {
  std::string csv;
  for (int64_t i = 0; i < kPixels; ++i) csv += "p" + std::to_string(i) + ",";
  csv += "label\n";
  for (int64_t r = 0; r < x.shape(0); ++r) {
    for (int64_t i = 0; i < kPixels; ++i) csv += std::to_string(x[r * kPixels + i]) + ",";
    csv += "c" + std::to_string(int64_t(y[r])) + "\n";
  }
  return csv;
}

const fs::path& backdoored_model() {
  static const fs::path path = [] {
    random::set_seed(3);
    Tensor y;
    Tensor x = images(3000, 1, &y);
    poison_with_trigger(x, y, kTrigger, 0, 0.05, 2);
    Dataset data = to_dataset(parse_csv(csv_of(x, y), "backdoored"));  // classes c0..c3 in this order
    Preprocessor preprocessor({.scaling = "none"});
    preprocessor.fit(data.x);
    Sequential model;
    model.add(Dense(32, {.input_dim = kPixels, .activation = "relu"}));
    model.add(Dense(4, {.activation = "softmax"}));
    model.compile({.loss = "sparse_categorical_crossentropy", .optimizer = "adam"});
    model.fit(data.x, data.y, {.epochs = 15, .batch_size = 32, .verbose = 0});
    const fs::path file = citadel::testing::scratch_folder() / "strip_backdoored.safetensors";
    save_saved_model(model, saved_model_records(data.schema, false, "sparse_categorical_crossentropy", preprocessor,
                                                "backdoored"),
                     file.string());
    return file;
  }();
  return path;
}

ServedModel screened(const std::string& name, int64_t overlays = 20, int64_t clean_rows = 400,
                     const std::string& policy = "full") {
  ServedModel served{name, backdoored_model().string(), load_saved_model(backdoored_model().string()),
                     OutputPolicy::parse(policy, "test")};
  served.strip = StripPolicy::parse(std::to_string(overlays), 0.02, "--strip");
  served.strip->clean_source = "test rows";
  served.strip->clean = std::make_shared<const Tensor>(images(clean_rows, 9));
  return served;
}

// Rows of classes 1..3 (not the target), clean or triggered.
Tensor query_rows(int64_t n, bool triggered) {
  Tensor x = images(n * 4, 21);
  Tensor rows(Shape{n, kPixels});
  int64_t taken = 0;
  for (int64_t r = 0; r < x.shape(0) && taken < n; ++r) {
    int64_t k = 0;
    while (x[r * kPixels + 2 * k * kSide] < 0.5f) ++k;  // the bar's row
    if (k == 0) continue;
    std::copy_n(x.data() + r * kPixels, kPixels, rows.data() + taken++ * kPixels);
  }
  if (triggered) stamp_trigger(rows, kTrigger);
  return rows;
}

std::string body_of(ConstTensorView rows) {
  std::vector<float> data(rows.data(), rows.data() + rows.numel());
  return json{{"inputs", {{{"name", "features"}, {"datatype", "FP32"}, {"shape", {rows.shape(0), kPixels}},
                           {"data", data}}}}}.dump();
}

using Running = RunningServer;

Running start(std::vector<ServedModel> models, ServerOptions options = {}) {
  return start_server(std::move(models), options);
}

HttpAnswer infer(const Running& r, const std::string& model, const std::string& body) {
  return infer_request(r, model, body, r.token);
}

}  // namespace

TEST(ServeStripPolicy, ReadsNAndRefusesTheRestNamingTheFlag) {
  const StripPolicy policy = StripPolicy::parse("100", 0.01, "--strip m=100");
  EXPECT_EQ(policy.overlays, 100);
  EXPECT_EQ(policy.passes_per_row(), 101);
  RequestLimits limits;
  limits.max_rows = 1000;
  EXPECT_EQ(policy.max_rows(limits), 9);
  for (const char* bad : {"0", "-1", "1001", "ten", "10x", ""}) {
    try {
      StripPolicy::parse(bad, 0.01, "--strip m=" + std::string(bad));
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const ValueError& e) {
      EXPECT_NE(std::string(e.what()).find("--strip m="), std::string::npos) << e.what();
    }
  }
  for (const double rate : {0.0, -0.01, 0.6, 1.0})
    EXPECT_THROW(StripPolicy::parse("100", rate, "--strip"), ValueError) << rate;
}

TEST(ServeStrip, ATriggeredRowIsRefusedWith422AndACleanRowAnswered) {
  std::vector<ServedModel> models;
  models.push_back(screened("bd"));
  const Running r = start(std::move(models));
  const Tensor clean = query_rows(3, false), triggered = query_rows(3, true);

  const HttpAnswer good = infer(r, "bd", body_of(clean));
  ASSERT_EQ(good.status, 200) << good.body;
  const json outputs = json::parse(good.body)["outputs"];
  ASSERT_FALSE(outputs.empty());
  const HttpAnswer bad = infer(r, "bd", body_of(triggered.rows(0, 1)));
  ASSERT_EQ(bad.status, 422) << bad.body;
  const json refusal = json::parse(bad.body);
  EXPECT_EQ(refusal["strip_flagged_rows"], json::array({0}));
  EXPECT_NE(refusal["error"].get<std::string>().find("row 0 of 1"), std::string::npos) << bad.body;
  EXPECT_EQ(refusal.find("outputs"), refusal.end());
  EXPECT_EQ(bad.body.find("threshold"), std::string::npos);  // the client is not told how far it was
  // A request mixing clean and triggered rows names the triggered one and answers none.
  Tensor mixed(Shape{3, kPixels});
  std::copy_n(clean.data(), 2 * kPixels, mixed.data());
  std::copy_n(triggered.data() + kPixels, kPixels, mixed.data() + 2 * kPixels);
  const HttpAnswer both = infer(r, "bd", body_of(mixed));
  ASSERT_EQ(both.status, 422) << both.body;
  EXPECT_EQ(json::parse(both.body)["strip_flagged_rows"], json::array({2}));

  const HttpAnswer metrics = http_exchange(r.port, http_request("GET", "/metrics", "", r.token));
  ASSERT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("citadel_strip_rows_total{model=\"bd\",result=\"flagged\"} 2"), std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("citadel_strip_rows_total{model=\"bd\",result=\"passed\"} 5"), std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("citadel_rejections_total{reason=\"strip\"} 2"), std::string::npos) << metrics.body;
  EXPECT_NE(metrics.body.find("citadel_requests_total{model=\"bd\",status=\"422\"} 2"), std::string::npos);
  const HttpAnswer metadata = http_exchange(r.port, http_request("GET", "/v2/models/bd", "", r.token));
  EXPECT_EQ(json::parse(metadata.body)["parameters"]["strip"], json::parse(R"({"n":20,"false_rejection_rate":0.02})"));
}

// Most triggered rows are caught and few clean ones refused, at the server as in the library.
TEST(ServeStrip, CatchesMostTriggeredRowsAndFewCleanOnes) {
  std::vector<ServedModel> models;
  models.push_back(screened("bd"));
  ServerOptions options;
  options.limits.max_rows = 10'000;
  const Running r = start(std::move(models), options);
  const Tensor clean = query_rows(40, false), triggered = query_rows(40, true);
  int64_t caught = 0, refused = 0;
  for (int64_t i = 0; i < 40; ++i) {
    caught += infer(r, "bd", body_of(triggered.rows(i, i + 1))).status == 422;
    refused += infer(r, "bd", body_of(clean.rows(i, i + 1))).status == 422;
  }
  EXPECT_GE(caught, 38);
  EXPECT_LE(refused, 2);
}

// Each row costs N + 1 passes: with --max-rows 100 and N = 20, four rows a request.
TEST(ServeStrip, RowsPerRequestAreBoundedByTheirPasses) {
  std::vector<ServedModel> models;
  models.push_back(screened("bd"));
  ServerOptions options;
  options.limits.max_rows = 100;
  const Running r = start(std::move(models), options);
  EXPECT_EQ(infer(r, "bd", body_of(query_rows(4, false))).status, 200);
  const HttpAnswer over = infer(r, "bd", body_of(query_rows(5, false)));
  EXPECT_EQ(over.status, 413) << over.body;
  EXPECT_NE(over.body.find("costs 21 forward passes"), std::string::npos) << over.body;
}

TEST(ServeStrip, ModelsItCannotScreenAreRefusedBeforeListening) {
  auto refused = [](ServedModel served, const std::string& expected, int64_t max_rows = 10'000) {
    std::vector<ServedModel> models;
    models.push_back(std::move(served));
    ServerOptions options;
    options.port = 0;
    options.limits.max_rows = max_rows;
    try {
      Server server(std::move(models), std::nullopt, "", options);
      ADD_FAILURE() << "served; expected: " << expected;
    } catch (const ValueError& e) {
      EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
    }
  };
  ServedModel smoothed_too = screened("bd", 20, 400, "label");
  smoothed_too.smoothing = SmoothingPolicy{0.25, 100, 0.001};
  refused(std::move(smoothed_too), "also served with --smoothing");
  refused(screened("bd", 20), "more than --max-rows 20", 20);
  refused(screened("bd", 20, 60), "need at least 70");  // 20 overlays, then 1/0.02 = 50 to calibrate
  ServedModel no_rows = screened("bd");
  no_rows.strip->clean.reset();
  refused(std::move(no_rows), "no clean rows");
  ServedModel narrow = screened("bd");
  narrow.strip->clean = std::make_shared<const Tensor>(Shape{200, 10});
  refused(std::move(narrow), "have 10 values each, model 'bd' reads 64");
}

// A screen that outlives the compute deadline is a 504 (on the pool, past --max-batch passes).
TEST(ServeStrip, AScreenPastTheComputeDeadlineIs504) {
  std::vector<ServedModel> models;
  models.push_back(screened("bd", 1000, 1200));
  ServerOptions options;
  options.limits.max_rows = 1'000'000;
  options.compute_timeout = std::chrono::milliseconds(1);
  const Running r = start(std::move(models), options);
  const HttpAnswer late = infer(r, "bd", body_of(query_rows(300, false)));
  EXPECT_EQ(late.status, 504) << late.body;
}

}  // namespace strip_serving_test
