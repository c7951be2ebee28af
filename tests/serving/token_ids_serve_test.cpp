// A text model (int32 token ids → Embedding) served as tensors on loopback: its metadata says
// INT32, INT32 and INT64 requests (JSON and binary) predict what Model::predict gives, and
// hostile ids (out of the table's range, negative, fractional, huge, or sent as FP32) are
// 400s naming the input and the element while the server keeps serving.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "citadel/core/random.hpp"
#include "citadel/io/model_file.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/layers/embedding.hpp"
#include "citadel/layers/global_pooling1d.hpp"
#include "citadel/serving/server.hpp"
#include "http_client.hpp"
#include "http_expectations.hpp"
#include "scratch_folder.hpp"

namespace token_ids_serve_test {

using namespace citadel;
using namespace citadel::serving;
using namespace citadel::testkit;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// ids (5 per example, 0 is padding) → Embedding(30, 4) → masked mean → Dense(2, softmax).
const fs::path& text_model_file() {
  static const fs::path file = [] {
    random::set_seed(17);
    const SymbolicTensor ids = Input({5}, {.name = "ids", .dtype = "int32"});
    const SymbolicTensor pooled = GlobalAveragePooling1D()(Embedding(30, 4, true)(ids));
    Model model(ids, Dense(2, {.activation = "softmax"}).named("label")(pooled), {.name = "text"});
    const fs::path path = citadel::testing::scratch_folder() / "ids_serve.safetensors";
    save_model(model, path.string());
    return path;
  }();
  return file;
}

struct Running {
  std::unique_ptr<Server> server;
  uint16_t port = 0;
};

Running start() {
  ServerOptions options;
  options.port = 0;
  options.log_requests = false;
  LoadedModel loaded = load_model(text_model_file().string());
  std::vector<ServedModel> models;
  models.push_back(tensor_served_model("text", text_model_file().string(), std::move(loaded.model),
                                       std::move(loaded.metadata), OutputPolicy::parse("full", "test")));
  Running running;
  running.server = std::make_unique<Server>(std::move(models), std::nullopt, "", options);
  running.port = running.server->start();
  return running;
}

json ids_json(const std::vector<int64_t>& ids, int64_t rows, const char* datatype = "INT32") {
  return {{"inputs", {{{"name", "ids"}, {"datatype", datatype}, {"shape", {rows, 5}}, {"data", ids}}}}};
}

HttpAnswer infer(const Running& r, const json& body) {
  return http_exchange(r.port, http_request("POST", "/v2/models/text/infer", body.dump()));
}

const std::vector<int64_t> kIds{3, 17, 17, 0, 0, 29, 1, 2, 3, 4};

}  // namespace

TEST(ServeTokenIds, MetadataSaysInt32AndAnswersArePredictions) {
  Running r = start();
  const json metadata = json::parse(http_exchange(r.port, http_request("GET", "/v2/models/text")).body);
  EXPECT_EQ(metadata["inputs"], json::parse(R"([{"name": "ids", "datatype": "INT32", "shape": [-1, 5]}])"));

  Model reference = load_model(text_model_file().string()).model;
  Tensor x(Shape{2, 5});
  for (size_t i = 0; i < kIds.size(); ++i) x[int64_t(i)] = float(kIds[i]);
  const Tensor expected = reference.predict(x);
  for (const char* datatype : {"INT32", "INT64"}) {
    const HttpAnswer answer = infer(r, ids_json(kIds, 2, datatype));
    ASSERT_EQ(answer.status, 200) << answer.body;
    const json data = json::parse(answer.body)["outputs"][0]["data"];
    for (int64_t i = 0; i < 4; ++i) EXPECT_EQ(data[size_t(i)].get<float>(), expected[i]) << datatype << " " << i;
  }
  // Binary INT64 ids, little-endian as this machine.
  const std::string header = json{{"inputs", {{{"name", "ids"}, {"datatype", "INT64"}, {"shape", {2, 5}},
                                               {"parameters", {{"binary_data_size", 80}}}}}}}.dump();
  std::string body = header;
  body.append(reinterpret_cast<const char*>(kIds.data()), 80);
  const HttpAnswer binary = http_exchange(
      r.port, "POST /v2/models/text/infer HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/octet-stream\r\n"
              "Inference-Header-Content-Length: " + std::to_string(header.size()) + "\r\nContent-Length: " +
              std::to_string(body.size()) + "\r\n\r\n" + body);
  ASSERT_EQ(binary.status, 200) << binary.body;
  const json data = json::parse(binary.body)["outputs"][0]["data"];
  for (int64_t i = 0; i < 4; ++i) EXPECT_EQ(data[size_t(i)].get<float>(), expected[i]) << i;
}

TEST(ServeTokenIds, HostileIdsAre400sNamingTheInputAndTheServerKeepsServing) {
  Running r = start();
  auto with = [](size_t at, int64_t id) {
    std::vector<int64_t> ids = kIds;
    ids[at] = id;
    return ids;
  };
  expect_400_naming(infer(r, ids_json(with(7, 30), 2)), "input 'ids': element 7 (row 1) is token id 30, outside the model's ids 0 to 29");
  expect_400_naming(infer(r, ids_json(with(0, -1), 2)), "input 'ids': element 0 (row 0) is token id -1, outside");
  expect_400_naming(infer(r, ids_json(with(4, int64_t(1) << 40), 2, "INT64")), "input 'ids': element 4 (row 0) is not a token id");
  json fractional = ids_json(kIds, 2);
  fractional["inputs"][0]["data"][3] = 2.5;
  expect_400_naming(infer(r, fractional), "input 'ids': element 3 (row 0) is not a token id");
  expect_400_naming(infer(r, ids_json(kIds, 2, "FP32")), "input 'ids' holds token ids (INT32); send INT32 or INT64, not FP32");
  const HttpAnswer fine = infer(r, ids_json(kIds, 2));
  EXPECT_EQ(fine.status, 200) << fine.body;  // still serving
}

}  // namespace token_ids_serve_test
