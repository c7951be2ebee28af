// `citadel serve --smoothing`: the served smoothed classifier answers as randomized smoothing's
// PREDICT does (a clean row its class, a row on the boundary an abstention), never with
// probabilities, within --max-rows counted in forward passes and the compute deadline, and
// models it cannot smooth are refused before anything listens. Requests go over loopback,
// a few each, bounded in time.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "citadel/attacks/randomized_smoothing.hpp"
#include "citadel/core/random.hpp"
#include "citadel/data/csv.hpp"
#include "citadel/data/dataset.hpp"
#include "citadel/data/preprocessor.hpp"
#include "citadel/io/model_file.hpp"
#include "citadel/io/saved_model.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/layers/merge.hpp"
#include "citadel/serving/server.hpp"
#include "http_client.hpp"
#include "running_server.hpp"
#include "scratch_folder.hpp"

namespace smoothed_serving_test {

using namespace citadel;
using namespace citadel::serving;
using namespace citadel::testkit;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// One feature x, two classes by the logits (x, −x): the first class where x > 0, the second
// where x < 0, and at x = 0 a tie — each noisy copy lands on either side with probability ½,
// so PREDICT must abstain (it answers there with probability at most α).
const fs::path& tie_model() {
  static const fs::path path = [] {
    Dataset data = to_dataset(parse_csv("x,label\n1,up\n-1,down\n2,up\n-2,down\n", "tie"));
    Preprocessor preprocessor({.scaling = "none"});
    preprocessor.fit(data.x);
    Sequential model;
    model.add(Dense(2, {.input_dim = 1, .activation = "softmax"}));
    model.build(Shape{1});
    const int64_t up = data.schema.classes[0] == "up" ? 0 : 1;  // the class of x > 0
    Tensor kernel(Shape{1, 2}), bias(Shape{2});
    kernel[up] = 1.0f, kernel[1 - up] = -1.0f;
    model.set_weights({kernel, bias});
    const fs::path file = citadel::testing::scratch_folder() / "tie.safetensors";
    save_saved_model(model, saved_model_records(data.schema, false, "sparse_categorical_crossentropy", preprocessor,
                                                "tie"),
                     file.string());
    return file;
  }();
  return path;
}

// A Pima model, trained for a few epochs (a real boundary with rows on both sides).
const fs::path& pima_model() {
  static const fs::path path = [] {
    random::set_seed(5);
    Dataset data = to_dataset(read_csv(CITADEL_PIMA_CSV));
    Preprocessor preprocessor({.scaling = "standard"});
    preprocessor.fit(data.x);
    preprocessor.apply(data.x);
    Sequential model;
    model.add(Dense(8, {.input_dim = 8, .activation = "relu"}));
    model.add(Dense(1, {.activation = "sigmoid"}));
    model.compile({.loss = "binary_crossentropy", .optimizer = "adam"});
    model.fit(data.x, data.y, {.epochs = 30, .verbose = 0});
    const fs::path file = citadel::testing::scratch_folder() / "smoothed_pima.safetensors";
    save_saved_model(model, saved_model_records(data.schema, false, "binary_crossentropy", preprocessor, "pima"),
                     file.string());
    return file;
  }();
  return path;
}

ServedModel smoothed(const std::string& name, const fs::path& file, double sigma, int64_t samples,
                     double alpha = 0.001, const std::string& policy = "label") {
  ServedModel served{name, file.string(), load_saved_model(file.string()), OutputPolicy::parse(policy, "test")};
  served.smoothing = SmoothingPolicy{sigma, samples, alpha};
  return served;
}

std::string tie_body(const std::vector<float>& xs, const std::string& extra = "") {
  json body{{"inputs", {{{"name", "features"}, {"datatype", "FP32"}, {"shape", {int64_t(xs.size()), 1}}, {"data", xs}}}}};
  if (!extra.empty()) body.update(json::parse(extra));
  return body.dump();
}

using Running = RunningServer;

Running start(std::vector<ServedModel> models, ServerOptions options = {}, TokenPolicy policy = {}) {
  return start_server(std::move(models), options, {"client"}, policy);
}

HttpAnswer infer(const Running& r, const std::string& model, const std::string& body) {
  return infer_request(r, model, body, r.token);
}

}  // namespace

TEST(ServeSmoothingPolicy, ReadsSigmaAndNAndRefusesTheRestNamingTheFlag) {
  const SmoothingPolicy policy = SmoothingPolicy::parse("0.25,1000", 0.01, "--smoothing m=0.25,1000");
  EXPECT_EQ(policy.sigma, 0.25);
  EXPECT_EQ(policy.samples, 1000);
  EXPECT_EQ(policy.alpha, 0.01);
  EXPECT_EQ(policy.text(), "0.25,1000");
  // Ten copies all of one class give the tie test p = 2·2^−10 = 0.00195 > 0.001, eleven
  // 0.000977: below 11, PREDICT at α = 0.001 could never answer. At α = 0.05, 2·2^−6 = 0.031.
  EXPECT_EQ(SmoothingPolicy::fewest_samples(0.001), 11);
  EXPECT_EQ(SmoothingPolicy::fewest_samples(0.05), 6);
  EXPECT_NO_THROW(SmoothingPolicy::parse("0.25,11", 0.001, "--smoothing"));
  for (const char* bad : {"0.25,10", "0,100", "-0.5,100", "nan,100", "inf,100", "0.25", "0.25,", ",100", "0.25,100x",
                          "0.25;100", "0.25,100001", "0.25,-5", ""}) {
    try {
      SmoothingPolicy::parse(bad, 0.001, "--smoothing m=" + std::string(bad));
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const ValueError& e) {
      EXPECT_NE(std::string(e.what()).find("--smoothing m="), std::string::npos) << e.what();
    }
  }
  for (const double alpha : {0.0, -0.1, 0.6, 1.0})
    EXPECT_THROW(SmoothingPolicy::parse("0.25,1000", alpha, "--smoothing"), ValueError) << alpha;
}

// A clean row far from the boundary (12σ) gets the base model's class; a row on the tie
// abstains. α = 10⁻⁶: the tie row is answered with probability at most that.
TEST(ServeSmoothed, ACleanRowGetsItsClassAndARowOnTheBoundaryAbstains) {
  const ServedModel served = smoothed("tie", tie_model(), 0.25, 2000, 1e-6);
  const int64_t up = served.model.schema.classes[0] == "up" ? 0 : 1;  // the class x > 0 predicts
  Dataset rows;
  rows.x = Tensor(Shape{3, 1}, {3.0f, 0.0f, -3.0f});
  rows.lines = {1, 2, 3};
  const RowPredictions answers = predict_request(rows, served);
  EXPECT_FALSE(answers.probabilities.defined() && answers.probabilities.numel() > 0);
  EXPECT_EQ(answers.smoothed_classes, (std::vector<int64_t>{up, kAbstain, 1 - up}));
  EXPECT_EQ(answers.labels, (std::vector<std::string>{"up", "", "down"}));
  // Over HTTP: the same answers, as label and abstained.
  std::vector<ServedModel> models;
  models.push_back(smoothed("tie", tie_model(), 0.25, 2000, 1e-6));
  ServerOptions options;
  options.limits.max_rows = 10'000;
  const Running r = start(std::move(models), options);
  const HttpAnswer answer = infer(r, "tie", tie_body({3.0f, 0.0f, -3.0f}));
  ASSERT_EQ(answer.status, 200) << answer.body;
  const json outputs = json::parse(answer.body)["outputs"];
  ASSERT_EQ(outputs.size(), 2u) << answer.body;
  EXPECT_EQ(outputs[0]["name"], "label");
  EXPECT_EQ(outputs[0]["data"], (json{"up", "", "down"}));
  EXPECT_EQ(outputs[1]["name"], "abstained");
  EXPECT_EQ(outputs[1]["datatype"], "BOOL");
  EXPECT_EQ(outputs[1]["data"], (json{false, true, false}));
}

// Against the library's smoothed_predict on a real model: where its noisy counts (seeded,
// independent of the server's fresh noise) give the top class a share of at least 0.85 of
// n = 1000 copies, the served answer is that class (an abstention there, or the other class,
// would take a count share ~15 standard deviations away).
TEST(ServeSmoothed, AnswersTheClassTheLibrarysSmoothedPredictGives) {
  const double sigma = 0.25;
  const int64_t samples = 1000;
  const ServedModel served = smoothed("pima", pima_model(), sigma, samples);
  SavedModel reference = load_saved_model(pima_model().string());
  const CsvTable table = read_csv(CITADEL_PIMA_CSV);
  Dataset rows = reference.encode(table);
  const int64_t count = 40;
  Tensor first(Shape{count, rows.x.shape(1)});
  std::copy_n(rows.x.data(), first.numel(), first.data());
  rows.x = std::move(first);
  rows.lines.resize(size_t(count));
  const std::vector<int64_t> library =
      smoothed_predict(reference.model, rows.x, {.sigma = sigma, .estimation_samples = samples, .seed = 9});
  const RowPredictions served_answers = predict_request(rows, served);
  ASSERT_EQ(served_answers.smoothed_classes.size(), size_t(count));
  int64_t compared = 0, abstained = 0;
  for (int64_t r = 0; r < count; ++r) {
    SecureRng rng = SecureRng::from_seed(9, uint64_t(r) * 2 + 1);  // smoothed_predict's stream for row r
    const std::vector<int64_t> counts =
        noisy_class_counts(reference.model, ConstTensorView(rows.x).rows(r, r + 1), samples, sigma, 1000, rng);
    const int64_t top = *std::max_element(counts.begin(), counts.end());
    abstained += library[size_t(r)] == kAbstain;
    if (top < samples * 85 / 100) continue;
    ++compared;
    EXPECT_NE(library[size_t(r)], kAbstain) << r;
    EXPECT_EQ(served_answers.smoothed_classes[size_t(r)], library[size_t(r)]) << "row " << r;
    EXPECT_EQ(served_answers.labels[size_t(r)], reference.schema.classes[size_t(library[size_t(r)])]) << r;
  }
  EXPECT_GE(compared, 20);  // most rows are not near the boundary
  EXPECT_LT(abstained, count);
}

// With smoothing the base model's probabilities are not in the metadata, not in an answer
// (JSON or binary), and not to be asked for.
TEST(ServeSmoothed, NeverAnswersProbabilities) {
  std::vector<ServedModel> models;
  models.push_back(smoothed("pima", pima_model(), 0.25, 100));
  const Running r = start(std::move(models));
  const HttpAnswer metadata = http_exchange(r.port, http_request("GET", "/v2/models/pima", "", r.token));
  ASSERT_EQ(metadata.status, 200) << metadata.body;
  const json meta = json::parse(metadata.body);
  EXPECT_EQ(meta["outputs"], json::parse(R"([{"datatype":"BYTES","name":"label","shape":[-1]},)"
                                         R"({"datatype":"BOOL","name":"abstained","shape":[-1]}])"));
  EXPECT_EQ(meta["parameters"]["output_policy"], "label");
  EXPECT_EQ(meta["parameters"]["smoothing"], json::parse(R"({"sigma":0.25,"n":100,"alpha":0.001})"));
  const std::string body =
      R"({"inputs":[{"name":"features","datatype":"FP32","shape":[2,8],)"
      R"("data":[6,148,72,35,0,33.6,0.627,50,1,85,66,29,0,26.6,0.351,31]}]})";
  const HttpAnswer answer = infer(r, "pima", body);
  ASSERT_EQ(answer.status, 200) << answer.body;
  EXPECT_EQ(answer.body.find("probabilit"), std::string::npos) << answer.body;
  const json outputs = json::parse(answer.body)["outputs"];
  ASSERT_EQ(outputs.size(), 2u);
  for (const json& output : outputs) EXPECT_NE(output["datatype"], "FP32") << output;
  json asking = json::parse(body);
  asking["outputs"] = json::parse(R"([{"name":"probabilities"}])");
  EXPECT_EQ(infer(r, "pima", asking.dump()).status, 403);
  // Binary: a BYTES label (4-byte length + bytes a row) and a BOOL a byte a row.
  asking["outputs"] = json::parse(R"([{"name":"label"},{"name":"abstained"}])");
  asking["parameters"] = json::parse(R"({"binary_data_output":true})");
  const HttpAnswer binary = infer(r, "pima", asking.dump());
  ASSERT_EQ(binary.status, 200) << binary.body;
  const size_t json_bytes = std::stoul(binary.header("Inference-Header-Content-Length"));
  const json head = json::parse(binary.body.substr(0, json_bytes));
  EXPECT_EQ(head["outputs"][1]["datatype"], "BOOL");
  EXPECT_EQ(head["outputs"][1]["parameters"]["binary_data_size"], 2);
  const size_t label_bytes = head["outputs"][0]["parameters"]["binary_data_size"].get<size_t>();
  ASSERT_EQ(binary.body.size(), json_bytes + label_bytes + 2);
  std::vector<std::string> labels;
  for (size_t at = json_bytes; at < json_bytes + label_bytes;) {
    uint32_t length = 0;
    std::memcpy(&length, binary.body.data() + at, 4);
    labels.push_back(binary.body.substr(at + 4, length));
    at += 4 + length;
  }
  ASSERT_EQ(labels.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    const char flag = binary.body[json_bytes + label_bytes + i];
    EXPECT_TRUE(flag == 0 || flag == 1) << int(flag);
    EXPECT_EQ(labels[i].empty(), flag == 1) << i;  // "" exactly where it abstained
  }
}

// A row is N forward passes: --max-rows bounds rows × N (a 413 past it), while budgets count
// rows as they do unsmoothed.
TEST(ServeSmoothed, RowsTimesNAreBoundedByMaxRowsAndBudgetsCountRows) {
  std::vector<ServedModel> models;
  models.push_back(smoothed("tie", tie_model(), 0.25, 100));
  ServerOptions options;
  options.limits.max_rows = 1000;  // 10 rows of 100 copies
  const Running r = start(std::move(models), options, {.rows_budget = 15});
  const HttpAnswer ten = infer(r, "tie", tie_body(std::vector<float>(10, 1.0f)));
  ASSERT_EQ(ten.status, 200) << ten.body;
  const HttpAnswer eleven = infer(r, "tie", tie_body(std::vector<float>(11, 1.0f)));
  EXPECT_EQ(eleven.status, 413) << eleven.body;
  EXPECT_NE(eleven.body.find("--max-rows"), std::string::npos) << eleven.body;
  EXPECT_EQ(infer(r, "tie", tie_body(std::vector<float>(5, 1.0f))).status, 200);  // 15 rows of the budget
  EXPECT_EQ(infer(r, "tie", tie_body({1.0f})).status, 429);                       // a 16th
}

// The compute deadline stops a smoothed prediction: a 504, and the work is given up.
TEST(ServeSmoothed, TheComputeDeadlineApplies) {
  const ServedModel served = smoothed("pima", pima_model(), 0.25, 100'000);
  Dataset rows;
  rows.x = Tensor(Shape{1, 8});
  rows.lines = {1};
  try {
    predict_smoothed(rows, served, std::chrono::steady_clock::now() - std::chrono::seconds(1));
    ADD_FAILURE() << "predicted past its deadline";
  } catch (const RequestError& e) {
    EXPECT_EQ(e.status(), 504);
  }
  std::vector<ServedModel> models;
  models.push_back(smoothed("pima", pima_model(), 0.25, 100'000));
  ServerOptions options;
  options.limits.max_rows = 100'000;
  options.compute_timeout = std::chrono::milliseconds(1);  // 100,000 passes take tens of ms at least
  const Running r = start(std::move(models), options);
  const HttpAnswer late = infer(r, "pima",
                                R"({"inputs":[{"name":"features","datatype":"FP32","shape":[1,8],)"
                                R"("data":[6,148,72,35,0,33.6,0.627,50]}]})");
  EXPECT_EQ(late.status, 504) << late.body;
  EXPECT_EQ(http_exchange(r.port, http_request("GET", "/v2/health/ready")).status, 200);
}

// What cannot be smoothed is refused before the server listens, naming the flag and model.
TEST(ServeSmoothed, ModelsItCannotSmoothAreRefusedAtStart) {
  auto refused = [](ServedModel served, const RequestLimits& limits, const std::string& expected) {
    try {
      check_smoothable(served, limits);
      ADD_FAILURE() << "accepted: " << expected;
    } catch (const ValueError& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find("--smoothing " + served.name + "="), std::string::npos) << message;
      EXPECT_NE(message.find(expected), std::string::npos) << message;
    }
  };
  const RequestLimits limits;
  EXPECT_NO_THROW(check_smoothable(smoothed("tie", tie_model(), 0.25, 100), limits));
  // A regression model.
  ServedModel numbers = smoothed("numbers", tie_model(), 0.25, 100);
  numbers.model.schema.label_type = LabelType::kValues;
  refused(std::move(numbers), limits, "predicts numbers");
  // A model of two inputs.
  ServedModel two = smoothed("two", tie_model(), 0.25, 100);
  const SymbolicTensor a = Input({1}, {.name = "a"}), b = Input({1}, {.name = "b"});
  two.model.model = Model({a, b}, {Dense(2, {.activation = "softmax"})(Concatenate()({a, b}))});
  refused(std::move(two), limits, "takes 2 inputs");
  // A model file without a schema (served as tensors).
  LoadedModel loaded = load_model(tie_model().string());
  ServedModel tensors = tensor_served_model("raw", tie_model().string(), std::move(loaded.model),
                                            std::move(loaded.metadata), OutputPolicy::parse("full", "test"));
  tensors.smoothing = SmoothingPolicy{0.25, 100, 0.001};
  refused(std::move(tensors), limits, "without a schema");
  // A policy that reveals probabilities.
  refused(smoothed("open", tie_model(), 0.25, 100, 0.001, "round:2"), limits, "--output-policy round:2");
  // N beyond what --max-rows lets one request cost.
  refused(smoothed("costly", tie_model(), 0.25, 20'000), limits, "more than --max-rows 10000");
  // The server itself refuses them before it listens.
  std::vector<ServedModel> models;
  models.push_back(smoothed("open", tie_model(), 0.25, 100, 0.001, "full"));
  EXPECT_THROW(Server(std::move(models), std::nullopt, "", ServerOptions{}), ValueError);
}

}  // namespace smoothed_serving_test
