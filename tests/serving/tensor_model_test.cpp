// A model of two inputs and two outputs without a schema, served as tensors on loopback:
// metadata by the model's names, answers equal to Model::predict bit for bit, each
// malformed request a 400 naming what is wrong while the server keeps serving, and the
// extraction monitor watching its queries.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"
#include "citadel/io/model_file.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/layers/merge.hpp"
#include "citadel/serving/server.hpp"
#include "http_client.hpp"
#include "http_expectations.hpp"
#include "scratch_folder.hpp"

namespace tensor_model_test {

using namespace citadel;
using namespace citadel::serving;
using namespace citadel::testkit;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// Two inputs (a: 4 features, b: 3), two outputs (label: 1 sigmoid, amount: 2 linear).
Model two_headed_model() {
  random::set_seed(11);
  const SymbolicTensor a = Input({4}, {.name = "a"}), b = Input({3}, {.name = "b"});
  const SymbolicTensor ha = Dense(5, {.activation = "tanh"})(a), hb = Dense(5, {.activation = "tanh"})(b);
  const SymbolicTensor label = Dense(1, {.activation = "sigmoid"}).named("label")(Concatenate()({ha, hb}));
  const SymbolicTensor amount = Dense(2).named("amount")(Multiply()({ha, hb}));
  return Model({a, b}, {label, amount}, {.name = "two_headed"});
}

// The model saved without a schema, once; served as `citadel serve` reads such a file.
const fs::path& two_headed_file() {
  static const fs::path file = [] {
    const fs::path path = citadel::testing::scratch_folder() / "tensor_serve.safetensors";
    Model model = two_headed_model();
    save_model(model, path.string());
    return path;
  }();
  return file;
}

ServedModel served_two_headed(const std::string& policy = "full") {
  LoadedModel loaded = load_model(two_headed_file().string());
  return tensor_served_model("heads", two_headed_file().string(), std::move(loaded.model),
                             std::move(loaded.metadata), OutputPolicy::parse(policy, "test"));
}

struct Running {
  std::unique_ptr<Server> server;
  uint16_t port = 0;
};

Running start(const std::string& policy = "full", ServerOptions options = {}) {
  options.port = 0;
  options.log_requests = false;
  std::vector<ServedModel> models;
  models.push_back(served_two_headed(policy));
  Running running;
  running.server = std::make_unique<Server>(std::move(models), std::nullopt, "", options);
  running.port = running.server->start();
  return running;
}

// Rows of a (rows × 4) and b (rows × 3), from a fixed pattern with fractions floats hold
// only approximately.
Tensor rows_of(int64_t rows, int64_t width, float offset) {
  Tensor t(Shape{rows, width});
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = offset + 0.37f * float(i % 7) - 0.11f * float(i % 5);
  return t;
}

json input_json(const std::string& name, const Tensor& t) {
  return {{"name", name}, {"datatype", "FP32"}, {"shape", t.shape().dims()},
          {"data", std::vector<float>(t.data(), t.data() + t.numel())}};
}

HttpAnswer infer(const Running& r, const json& body) {
  return http_exchange(r.port, http_request("POST", "/v2/models/heads/infer", body.dump()));
}

}  // namespace

TEST(ServeTensors, MetadataListsEveryInputAndOutputByTheModelsNames) {
  Running r = start();
  const HttpAnswer answer = http_exchange(r.port, http_request("GET", "/v2/models/heads"));
  ASSERT_EQ(answer.status, 200) << answer.body;
  const json metadata = json::parse(answer.body);
  EXPECT_EQ(metadata["inputs"], json::parse(R"([{"name": "a", "datatype": "FP32", "shape": [-1, 4]},
                                                 {"name": "b", "datatype": "FP32", "shape": [-1, 3]}])"));
  EXPECT_EQ(metadata["outputs"], json::parse(R"([{"name": "label", "datatype": "FP32", "shape": [-1, 1]},
                                                  {"name": "amount", "datatype": "FP32", "shape": [-1, 2]}])"));
}

TEST(ServeTensors, AnswersAreThePredictionsBitForBit) {
  Running r = start();
  Model reference = load_model(two_headed_file().string()).model;  // in process, from the served file
  const Tensor a = rows_of(3, 4, 0.5f), b = rows_of(3, 3, -0.25f);
  const std::vector<Tensor> expected = reference.predict({ConstTensorView(a), ConstTensorView(b)});
  // The inputs in either order, the id echoed.
  for (const bool reversed : {false, true}) {
    json body{{"id", "two"}, {"inputs", reversed ? json{input_json("b", b), input_json("a", a)}
                                                 : json{input_json("a", a), input_json("b", b)}}};
    const HttpAnswer answer = infer(r, body);
    ASSERT_EQ(answer.status, 200) << answer.body;
    const json response = json::parse(answer.body);
    EXPECT_EQ(response["id"], "two");
    ASSERT_EQ(response["outputs"].size(), 2u);
    for (size_t o = 0; o < 2; ++o) {
      const json& output = response["outputs"][o];
      EXPECT_EQ(output["name"], o == 0 ? "label" : "amount");
      EXPECT_EQ(output["datatype"], "FP32");
      EXPECT_EQ(output["shape"], json(expected[o].shape().dims()));
      ASSERT_EQ(output["data"].size(), size_t(expected[o].numel()));
      for (int64_t i = 0; i < expected[o].numel(); ++i) {
        const float got = output["data"][size_t(i)].get<float>();
        EXPECT_EQ(std::memcmp(&got, expected[o].data() + i, sizeof got), 0)
            << output["name"] << "[" << i << "]: " << got << " vs " << expected[o][i];
      }
    }
  }
  // `outputs` selects a subset.
  json body{{"inputs", {input_json("a", a), input_json("b", b)}}, {"outputs", {{{"name", "amount"}}}}};
  const HttpAnswer amount = infer(r, body);
  ASSERT_EQ(amount.status, 200) << amount.body;
  const json outputs = json::parse(amount.body)["outputs"];
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_EQ(outputs[0]["name"], "amount");
}

TEST(ServeTensors, BadRequestsAre400sNamingTheInputAndTheServerKeepsServing) {
  Running r = start();
  const Tensor a = rows_of(2, 4, 0.5f), b = rows_of(2, 3, -0.25f);
  expect_400_naming(infer(r, {{"inputs", {input_json("a", a)}}}), "input 'b' is missing");
  expect_400_naming(infer(r, {{"inputs", {input_json("a", a), input_json("b", rows_of(2, 4, 0.f))}}}),
                    "input 'b': shape [2,4] does not match the model's [-1,3]");
  expect_400_naming(infer(r, {{"inputs", {input_json("a", a), input_json("b", rows_of(3, 3, 0.f))}}}),
                    "input 'b' has 3 rows, input 'a' 2");
  expect_400_naming(infer(r, {{"inputs", {input_json("a", a), input_json("b", b)}}, {"outputs", {{{"name", "nope"}}}}}),
                    "unknown output 'nope'");
  expect_400_naming(infer(r, {{"inputs", {input_json("a", a), input_json("b", b), input_json("c", b)}}}),
                    "unknown input 'c'");
  json short_data = input_json("a", a);
  short_data["data"].erase(short_data["data"].begin());
  expect_400_naming(infer(r, {{"inputs", {short_data, input_json("b", b)}}}), "input 'a': 7 elements for shape [2,4]");
  // Hostile shapes and elements: each refused before anything is allocated for it.
  json huge = input_json("b", b);
  huge["shape"] = {int64_t{1} << 40, 3};
  expect_400_naming(infer(r, {{"inputs", {input_json("a", a), huge}}}), "input 'b': shape [1099511627776,3] holds more than");
  json negative = input_json("b", b);
  negative["shape"] = {-2, 3};
  expect_400_naming(infer(r, {{"inputs", {input_json("a", a), negative}}}), "input 'b': shape entries must be whole numbers");
  json flat = input_json("b", b);
  flat["shape"] = {6};
  expect_400_naming(infer(r, {{"inputs", {input_json("a", a), flat}}}), "input 'b': shape [6] does not match");
  json strings = input_json("b", b);
  strings["datatype"] = "BYTES";
  expect_400_naming(infer(r, {{"inputs", {input_json("a", a), strings}}}), "input 'b': datatype 'BYTES' is not accepted");
  json beyond = input_json("b", b);
  beyond["data"][2] = 1e39;
  expect_400_naming(infer(r, {{"inputs", {input_json("a", a), beyond}}}), "input 'b': element 2 is beyond float's range");
  json empty = input_json("a", a);
  empty["shape"] = {0, 4};
  empty["data"] = json::array();
  expect_400_naming(infer(r, {{"inputs", {empty, input_json("b", b)}}}), "a request needs at least one row");
  const Tensor many_a = rows_of(10'001, 4, 0.f), many_b = rows_of(10'001, 3, 0.f);
  const HttpAnswer many = infer(r, {{"inputs", {input_json("a", many_a), input_json("b", many_b)}}});
  EXPECT_EQ(many.status, 413) << many.body;
  // Still serving.
  EXPECT_EQ(infer(r, {{"inputs", {input_json("a", a), input_json("b", b)}}}).status, 200);
}

TEST(ServeTensors, RoundingAppliesToEveryOutputAndRankingAOneUnitOutputIsRefused) {
  Running r = start("round:1");
  const Tensor a = rows_of(2, 4, 0.5f), b = rows_of(2, 3, -0.25f);
  const HttpAnswer answer = infer(r, {{"inputs", {input_json("a", a), input_json("b", b)}}});
  ASSERT_EQ(answer.status, 200) << answer.body;
  const json response = json::parse(answer.body);  // held: a range over a temporary's member dangles
  ASSERT_EQ(response["outputs"].size(), 2u);
  for (const json& output : response["outputs"])
    for (const json& value : output["data"]) {
      const double v = value.get<double>();
      EXPECT_NEAR(v * 10, std::round(v * 10), 1e-4) << output["name"] << ": " << v;
    }
  for (const char* policy : {"topk:1", "label"}) {
    try {
      served_two_headed(policy);
      ADD_FAILURE() << policy << " was accepted";
    } catch (const ValueError& e) {
      EXPECT_NE(std::string(e.what()).find(std::string("--output-policy ") + policy + ": output 'label' of model 'heads'"),
                std::string::npos) << e.what();
    }
  }
}

// Triton's binary tensors: both inputs as raw FP32 after the JSON header, one output asked
// back in binary; the bytes are the prediction's.
TEST(ServeTensors, BinaryInputsAndOutputsCarryTheSameNumbers) {
  Running r = start();
  Model reference = load_model(two_headed_file().string()).model;
  const Tensor a = rows_of(2, 4, 0.5f), b = rows_of(2, 3, -0.25f);
  const std::vector<Tensor> expected = reference.predict({ConstTensorView(a), ConstTensorView(b)});
  json head{{"inputs", {{{"name", "a"}, {"datatype", "FP32"}, {"shape", {2, 4}}, {"parameters", {{"binary_data_size", 32}}}},
                        {{"name", "b"}, {"datatype", "FP32"}, {"shape", {2, 3}}, {"parameters", {{"binary_data_size", 24}}}}}},
            {"outputs", {{{"name", "amount"}, {"parameters", {{"binary_data", true}}}}, {{"name", "label"}}}}};
  const std::string header = head.dump();
  std::string body = header;
  body.append(reinterpret_cast<const char*>(a.data()), 32);  // little-endian, as this machine
  body.append(reinterpret_cast<const char*>(b.data()), 24);
  const std::string request = "POST /v2/models/heads/infer HTTP/1.1\r\nHost: localhost\r\n"
                              "Content-Type: application/octet-stream\r\nInference-Header-Content-Length: " +
                              std::to_string(header.size()) + "\r\nContent-Length: " + std::to_string(body.size()) +
                              "\r\n\r\n" + body;
  const HttpAnswer answer = http_exchange(r.port, request);
  ASSERT_EQ(answer.status, 200) << answer.body;
  const size_t json_bytes = std::stoul(answer.header("Inference-Header-Content-Length"));
  const json response = json::parse(answer.body.substr(0, json_bytes));
  ASSERT_EQ(response["outputs"].size(), 2u);  // in the model's order, as the outputs' fixed order otherwise
  EXPECT_EQ(response["outputs"][0]["name"], "label");
  EXPECT_EQ(response["outputs"][0]["data"][1].get<float>(), expected[0][1]);
  EXPECT_EQ(response["outputs"][1]["name"], "amount");
  EXPECT_EQ(response["outputs"][1]["parameters"]["binary_data_size"], 16);
  ASSERT_EQ(answer.body.size(), json_bytes + 16);
  EXPECT_EQ(std::memcmp(answer.body.data() + json_bytes, expected[1].data(), 16), 0);
  // A binary input of the wrong size is a 400 naming it.
  json short_head = head;
  short_head["inputs"][1]["parameters"]["binary_data_size"] = 20;
  const std::string short_header = short_head.dump();
  const std::string short_body = short_header + body.substr(header.size(), 52);
  const HttpAnswer refused = http_exchange(
      r.port, "POST /v2/models/heads/infer HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/octet-stream\r\n"
              "Inference-Header-Content-Length: " + std::to_string(short_header.size()) +
              "\r\nContent-Length: " + std::to_string(short_body.size()) + "\r\n\r\n" + short_body);
  expect_400_naming(refused, "'b'");
}

namespace {

// `rows` rows of a and b with independent standard normal elements.
std::pair<Tensor, Tensor> normal_rows(std::mt19937& generator, int64_t rows) {
  std::normal_distribution<float> normal;
  Tensor a(Shape{rows, 4}), b(Shape{rows, 3});
  for (int64_t i = 0; i < a.numel(); ++i) a[i] = normal(generator);
  for (int64_t i = 0; i < b.numel(); ++i) b[i] = normal(generator);
  return {a, b};
}

HttpAnswer infer_rows(const Running& r, const Tensor& a, const Tensor& b) {
  return infer(r, {{"inputs", {input_json("a", a), input_json("b", b)}}});
}

}  // namespace

// The monitor watches a tensor model as it watches a schema model: synthetic queries (small
// steps around a few seed rows, in both inputs at once) raise the alarm, counted in /metrics
// and, with block_on_alarm, refused; a stream of independent rows raises none.
TEST(ServeTensors, ExtractionMonitorFlagsSyntheticQueriesButNotIndependentRows) {
  ServerOptions options;
  options.block_on_alarm = true;
  std::mt19937 generator(5);
  {
    Running r = start("full", options);
    // Papernot-style rounds, one request each: 10 seed rows, then every known row moved by
    // ±0.1 in each element of both inputs.
    auto [a, b] = normal_rows(generator, 10);
    std::bernoulli_distribution coin;
    int requests = 0, refused_at = -1;
    for (int round = 0; round < 7 && refused_at < 0; ++round) {
      const HttpAnswer answer = infer_rows(r, a, b);
      ++requests;
      if (answer.status == 403) refused_at = requests;
      else ASSERT_EQ(answer.status, 200) << answer.body;
      const int64_t known = a.shape(0);
      Tensor next_a(Shape{2 * known, 4}), next_b(Shape{2 * known, 3});
      for (int64_t i = 0; i < a.numel(); ++i) next_a[i] = a[i], next_a[a.numel() + i] = a[i] + (coin(generator) ? 0.1f : -0.1f);
      for (int64_t i = 0; i < b.numel(); ++i) next_b[i] = b[i], next_b[b.numel() + i] = b[i] + (coin(generator) ? 0.1f : -0.1f);
      a = next_a, b = next_b;
    }
    ASSERT_GT(refused_at, 0) << "no alarm in " << requests << " probing rounds";
    const HttpAnswer refused = infer_rows(r, rows_of(1, 4, 0.f), rows_of(1, 3, 0.f));
    EXPECT_EQ(refused.status, 403);
    EXPECT_NE(refused.body.find("extraction alarm for model 'heads'"), std::string::npos) << refused.body;
    const HttpAnswer page = http_exchange(r.port, http_request("GET", "/metrics"));
    EXPECT_NE(page.body.find("citadel_extraction_alarms_total{model=\"heads\"} 1"), std::string::npos) << page.body;
  }
  {
    Running r = start("full", options);
    for (int request = 0; request < 50; ++request) {  // 500 rows, 499 distances: 40 tests of W
      const auto [a, b] = normal_rows(generator, 10);
      ASSERT_EQ(infer_rows(r, a, b).status, 200) << "request " << request;
    }
    const HttpAnswer page = http_exchange(r.port, http_request("GET", "/metrics"));
    EXPECT_NE(page.body.find("citadel_extraction_alarms_total{model=\"heads\"} 0"), std::string::npos) << page.body;
  }
}

// The monitor's query for a row is a's row then b's row; its class is the first output's
// argmax (several units) or that unit above 0.5 (one unit).
TEST(ServeTensors, TheMonitorsQueryIsEachRowsInputsSideBySideInTheModelsOrder) {
  InferRequest request;
  request.rows = 2;
  request.tensors = {rows_of(2, 4, 0.5f), rows_of(2, 3, -0.25f)};
  const Tensor query = tensor_query_rows(request);
  ASSERT_EQ(query.shape().dims(), (std::vector<int64_t>{2, 7}));
  for (int64_t r = 0; r < 2; ++r)
    for (int64_t c = 0; c < 7; ++c)
      EXPECT_EQ(query[r * 7 + c], c < 4 ? request.tensors[0][r * 4 + c] : request.tensors[1][r * 3 + c - 4])
          << "row " << r << ", column " << c;
  Tensor one_unit(Shape{3, 1}), three_units(Shape{2, 3});
  one_unit[0] = 0.2f, one_unit[1] = 0.7f, one_unit[2] = 0.5f;
  for (int64_t i = 0; i < 6; ++i) three_units[i] = std::vector<float>{0.1f, 0.9f, 0.3f, 2.f, -1.f, 0.f}[size_t(i)];
  EXPECT_EQ(tensor_predicted_classes({one_unit, three_units}), (std::vector<int64_t>{0, 1, 0}));
  EXPECT_EQ(tensor_predicted_classes({three_units, one_unit}), (std::vector<int64_t>{1, 0}));
}

namespace {

// Two inputs, two outputs of several units each (kind: 3 softmax, amount: 2 linear), saved
// once without a schema, as `citadel serve` reads such a file.
const fs::path& ranked_file() {
  static const fs::path file = [] {
    random::set_seed(12);
    const SymbolicTensor a = Input({4}, {.name = "a"}), b = Input({3}, {.name = "b"});
    const SymbolicTensor h = Dense(6, {.activation = "tanh"})(Concatenate()({a, b}));
    const SymbolicTensor kind = Dense(3, {.activation = "softmax"}).named("kind")(h);
    const SymbolicTensor amount = Dense(2).named("amount")(h);
    Model model({a, b}, {kind, amount}, {.name = "ranked"});
    const fs::path path = citadel::testing::scratch_folder() / "tensor_ranked.safetensors";
    save_model(model, path.string());
    return path;
  }();
  return file;
}

Running start_ranked(const std::string& policy) {
  LoadedModel loaded = load_model(ranked_file().string());
  std::vector<ServedModel> models;
  models.push_back(tensor_served_model("heads", ranked_file().string(), std::move(loaded.model),
                                       std::move(loaded.metadata), OutputPolicy::parse(policy, "test")));
  ServerOptions options;
  options.port = 0;
  options.log_requests = false;
  Running running;
  running.server = std::make_unique<Server>(std::move(models), std::nullopt, "", options);
  running.port = running.server->start();
  return running;
}

}  // namespace

// topk:K keeps each row's K largest elements of every output (the others answered as 0, as
// for a schema model's probabilities); label answers each row's argmax as INT64, and the
// metadata says so.
TEST(ServeTensors, TopKAndLabelRankEachRowOfEveryOutput) {
  Model reference = load_model(ranked_file().string()).model;
  const Tensor a = rows_of(4, 4, 0.5f), b = rows_of(4, 3, -0.25f);
  const std::vector<Tensor> expected = reference.predict({ConstTensorView(a), ConstTensorView(b)});
  const json request{{"inputs", {input_json("a", a), input_json("b", b)}}};
  {
    Running r = start_ranked("topk:1");
    const HttpAnswer answer = infer(r, request);
    ASSERT_EQ(answer.status, 200) << answer.body;
    const json outputs = json::parse(answer.body)["outputs"];
    ASSERT_EQ(outputs.size(), 2u);
    for (size_t o = 0; o < 2; ++o) {
      const int64_t units = expected[o].shape(1);
      EXPECT_EQ(outputs[o]["shape"], json(expected[o].shape().dims()));
      for (int64_t row = 0; row < 4; ++row) {
        int64_t largest = 0;
        for (int64_t u = 1; u < units; ++u)
          if (expected[o][row * units + u] > expected[o][row * units + largest]) largest = u;
        for (int64_t u = 0; u < units; ++u)
          EXPECT_EQ(outputs[o]["data"][size_t(row * units + u)].get<float>(),
                    u == largest ? expected[o][row * units + u] : 0.0f)
              << outputs[o]["name"] << " row " << row << " unit " << u;
      }
    }
  }
  {
    Running r = start_ranked("label");
    const json metadata = json::parse(http_exchange(r.port, http_request("GET", "/v2/models/heads")).body);
    EXPECT_EQ(metadata["outputs"], json::parse(R"([{"name": "kind", "datatype": "INT64", "shape": [-1]},
                                                    {"name": "amount", "datatype": "INT64", "shape": [-1]}])"));
    const HttpAnswer answer = infer(r, request);
    ASSERT_EQ(answer.status, 200) << answer.body;
    const json outputs = json::parse(answer.body)["outputs"];
    ASSERT_EQ(outputs.size(), 2u);
    for (size_t o = 0; o < 2; ++o) {
      const int64_t units = expected[o].shape(1);
      EXPECT_EQ(outputs[o]["datatype"], "INT64");
      EXPECT_EQ(outputs[o]["shape"], json({4}));
      for (int64_t row = 0; row < 4; ++row) {
        const float* values = expected[o].data() + row * units;
        EXPECT_EQ(outputs[o]["data"][size_t(row)].get<int64_t>(), std::max_element(values, values + units) - values)
            << outputs[o]["name"] << " row " << row;
      }
    }
    // Binary, the labels are little-endian INT64s after the JSON.
    const json binary_request{{"inputs", {input_json("a", a), input_json("b", b)}},
                              {"outputs", {{{"name", "kind"}, {"parameters", {{"binary_data", true}}}}}}};
    const HttpAnswer binary = infer(r, binary_request);
    ASSERT_EQ(binary.status, 200) << binary.body;
    const size_t json_bytes = std::stoul(binary.header("Inference-Header-Content-Length"));
    ASSERT_EQ(binary.body.size(), json_bytes + 4 * sizeof(int64_t));
    for (int64_t row = 0; row < 4; ++row) {
      int64_t label = 0;
      std::memcpy(&label, binary.body.data() + json_bytes + row * sizeof(int64_t), sizeof label);
      EXPECT_EQ(label, outputs[0]["data"][size_t(row)].get<int64_t>()) << "row " << row;
    }
  }
}

}  // namespace tensor_model_test
