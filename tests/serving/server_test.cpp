// The server on loopback, with hand-written requests from the KServe v2 spec and hostile
// ones; every request loop is bounded in count and time.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "citadel/core/random.hpp"
#include "citadel/data/csv.hpp"
#include "citadel/data/dataset.hpp"
#include "citadel/data/preprocessor.hpp"
#include "citadel/io/model_file.hpp"
#include "citadel/io/saved_model.hpp"
#include "citadel/io/signing.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/serving/server.hpp"
#include "http_client.hpp"
#include "scratch_folder.hpp"

namespace server_test {

using namespace citadel;
using namespace citadel::serving;
using namespace citadel::testkit;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

fs::path scratch(const std::string& name) {
  return citadel::testing::scratch_folder() / name;
}

// A Pima model trained for a few epochs and saved with its schema and scaling, once.
const fs::path& pima_model() {
  static const fs::path path = [] {
    random::set_seed(3);
    const CsvTable table = read_csv(CITADEL_PIMA_CSV);
    Dataset data = to_dataset(table);
    Preprocessor preprocessor({.scaling = "standard"});
    preprocessor.fit(data.x);
    preprocessor.apply(data.x);
    Sequential model;
    model.add(Dense(8, {.input_dim = 8, .activation = "relu"}));
    model.add(Dense(1, {.activation = "sigmoid"}));
    model.compile({.loss = "binary_crossentropy", .optimizer = "adam"});
    model.fit(data.x, data.y, {.epochs = 30, .verbose = 0});  // both classes predicted
    const fs::path file = scratch("pima.safetensors");
    save_saved_model(model, saved_model_records(data.schema, false, "binary_crossentropy", preprocessor, "pima"),
                     file.string());
    return file;
  }();
  return path;
}

ServedModel served(const std::string& policy = "full") {
  return {"pima", pima_model().string(), load_saved_model(pima_model().string()), OutputPolicy::parse(policy, "test")};
}

const char* kTwoRows = "6,148,72,35,0,33.6,0.627,50\n1,85,66,29,0,26.6,0.351,31\n";

std::string infer_body(int rows, const std::string& extra = "") {
  json data = json::array();
  for (int r = 0; r < rows; ++r) {
    if (r % 2 == 0) data.push_back({6, 148, 72, 35, 0, 33.6, 0.627, 50});
    else data.push_back({1, 85, 66, 29, 0, 26.6, 0.351, 31});
  }
  json body{{"inputs", {{{"name", "features"}, {"datatype", "FP32"}, {"shape", {rows, 8}}, {"data", data}}}}};
  if (!extra.empty()) body.update(json::parse(extra));
  return body.dump();
}

struct Running {
  std::unique_ptr<Server> server;
  uint16_t port = 0;
  std::vector<std::string> tokens;  // in the order of the policies given
};

Running start(std::vector<TokenPolicy> policies, const std::string& output_policy = "full",
              ServerOptions options = {}, const std::string& usage = "", const TokenStore* existing = nullptr) {
  Running running;
  std::optional<TokenStore> store;
  if (existing != nullptr) store = *existing;
  if (!policies.empty() && !store) {
    store.emplace();
    for (size_t i = 0; i < policies.size(); ++i) running.tokens.push_back(store->add("client" + std::to_string(i), policies[i]));
  }
  options.port = 0;
  options.log_requests = false;
  std::vector<ServedModel> models;
  models.push_back(served(output_policy));
  running.server = std::make_unique<Server>(std::move(models), store, usage, options);
  running.port = running.server->start();
  return running;
}

}  // namespace

TEST(Serve, EndpointsAnswerAsTheProtocolSays) {
  Running r = start({{}});
  const std::string& token = r.tokens[0];
  EXPECT_EQ(http_exchange(r.port, http_request("GET", "/v2/health/live")).body, R"({"live":true})");
  EXPECT_EQ(http_exchange(r.port, http_request("GET", "/v2/health/ready")).status, 200);
  const HttpAnswer server = http_exchange(r.port, http_request("GET", "/v2", "", token));
  ASSERT_EQ(server.status, 200) << server.body;
  EXPECT_EQ(json::parse(server.body)["name"], "citadel");
  const json metadata = json::parse(http_exchange(r.port, http_request("GET", "/v2/models/pima", "", token)).body);
  EXPECT_EQ(metadata["inputs"][0]["name"], "features");
  EXPECT_EQ(metadata["inputs"][0]["shape"], (json{-1, 8}));
  EXPECT_EQ(metadata["outputs"][0]["shape"], (json{-1, 2}));
  EXPECT_EQ(json::parse(http_exchange(r.port, http_request("GET", "/v2/models/pima/ready", "", token)).body)["ready"], true);
  EXPECT_EQ(http_exchange(r.port, http_request("GET", "/v2/models/nope", "", token)).status, 404);
  EXPECT_EQ(http_exchange(r.port, http_request("GET", "/v3/else", "", token)).status, 404);
  EXPECT_EQ(http_exchange(r.port, http_request("GET", "/v2/models/pima/infer", "", token)).status, 405);
  const HttpAnswer missing = http_exchange(r.port, http_request("GET", "/v2/models/pima", ""));
  EXPECT_EQ(missing.status, 401);
  EXPECT_EQ(missing.header("WWW-Authenticate"), "Bearer");
  EXPECT_NE(json::parse(missing.body)["error"].get<std::string>().find("Bearer"), std::string::npos);
}

TEST(Serve, InferGivesWhatPredictRowsGives) {
  Running r = start({{}});
  const SavedModel model = load_saved_model(pima_model().string());
  const RowPredictions expected = model.predict_rows(parse_csv(
      std::string("NumTimesPrg,PlGlcConc,BloodP,SkinThick,TwoHourSerIns,BMI,DiPedFunc,Age\n") + kTwoRows, "rows"));
  // Nested and flat data, the id echoed.
  for (const bool flat : {false, true}) {
    json body = json::parse(infer_body(2, R"({"id": "req-7"})"));
    if (flat) {
      json values = json::array();
      for (const auto& row : body["inputs"][0]["data"])
        for (const auto& v : row) values.push_back(v);
      body["inputs"][0]["data"] = values;
    }
    const HttpAnswer answer = http_exchange(r.port, http_request("POST", "/v2/models/pima/infer", body.dump(), r.tokens[0]));
    ASSERT_EQ(answer.status, 200) << answer.body;
    const json response = json::parse(answer.body);
    EXPECT_EQ(response["id"], "req-7");
    EXPECT_EQ(response["model_name"], "pima");
    const json& probabilities = response["outputs"][0];
    ASSERT_EQ(probabilities["name"], "probabilities");
    EXPECT_EQ(probabilities["shape"], (json{2, 2}));
    for (int i = 0; i < 4; ++i)
      EXPECT_NEAR(probabilities["data"][i].get<double>(), expected.probabilities[i], 1e-6) << i;
    EXPECT_EQ(response["outputs"][1]["data"], json(expected.labels));
  }
  // Only the outputs asked for.
  const HttpAnswer label = http_exchange(r.port, http_request("POST", "/v2/models/pima/infer",
                                                         infer_body(2, R"({"outputs": [{"name": "label"}]})"), r.tokens[0]));
  ASSERT_EQ(label.status, 200);
  EXPECT_EQ(json::parse(label.body)["outputs"].size(), 1u);
  EXPECT_EQ(json::parse(label.body)["outputs"][0]["name"], "label");
}

// Triton's binary tensor extension over HTTP: the extension is announced, raw FP32 rows
// after the JSON header predict what the JSON rows predict, binary outputs come back with
// Inference-Header-Content-Length, and a header length past the body is a 400.
TEST(Serve, BinaryTensorRequestsPredictWhatJsonRequestsPredict) {
  Running r = start({{}});
  const std::string& token = r.tokens[0];
  const json server = json::parse(http_exchange(r.port, http_request("GET", "/v2", "", token)).body);
  EXPECT_EQ(server["extensions"], (json{"binary_tensor_data"}));
  const json reference =
      json::parse(http_exchange(r.port, http_request("POST", "/v2/models/pima/infer", infer_body(2), token)).body);
  const float rows[16] = {6, 148, 72, 35, 0, 33.6f, 0.627f, 50, 1, 85, 66, 29, 0, 26.6f, 0.351f, 31};
  const std::string tensor(reinterpret_cast<const char*>(rows), sizeof rows);
  auto binary_request = [&](const json& header, const std::string& tensors, const std::string& length) {
    const std::string text = header.dump();
    return "POST /v2/models/pima/infer HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token +
           "\r\nContent-Type: application/octet-stream\r\nInference-Header-Content-Length: " + length +
           "\r\nContent-Length: " + std::to_string(text.size() + tensors.size()) + "\r\n\r\n" + text + tensors;
  };
  json header{{"inputs", {{{"name", "features"}, {"datatype", "FP32"}, {"shape", {2, 8}},
                          {"parameters", {{"binary_data_size", tensor.size()}}}}}},
              {"outputs", {{{"name", "probabilities"}, {"parameters", {{"binary_data", true}}}}, {{"name", "label"}}}}};
  const HttpAnswer answer = http_exchange(r.port, binary_request(header, tensor, std::to_string(header.dump().size())));
  ASSERT_EQ(answer.status, 200) << answer.body;
  EXPECT_EQ(answer.header("Content-Type"), "application/octet-stream");
  const size_t json_bytes = std::stoul(answer.header("Inference-Header-Content-Length"));
  ASSERT_EQ(answer.body.size(), json_bytes + 16);
  const json head = json::parse(answer.body.substr(0, json_bytes));
  EXPECT_EQ(head["outputs"][0]["parameters"]["binary_data_size"], 16);
  EXPECT_EQ(head["outputs"][1]["data"], reference["outputs"][1]["data"]);  // label stayed JSON
  float probabilities[4];
  std::memcpy(probabilities, answer.body.data() + json_bytes, sizeof probabilities);
  for (int i = 0; i < 4; ++i)
    EXPECT_FLOAT_EQ(probabilities[i], reference["outputs"][0]["data"][i].get<float>()) << i;
  const size_t length = header.dump().size();
  EXPECT_EQ(http_exchange(r.port, binary_request(header, tensor, std::to_string(length + 100))).status, 400);
  EXPECT_EQ(http_exchange(r.port, binary_request(header, tensor.substr(0, 60), std::to_string(length))).status, 400);
  EXPECT_EQ(http_exchange(r.port, binary_request(header, tensor, "x")).status, 400);
  // Octet-stream without the header is not a request this server reads.
  std::string plain = http_request("POST", "/v2/models/pima/infer", infer_body(1), token);
  plain.replace(plain.find("application/json"), 16, "application/octet-stream");
  EXPECT_EQ(http_exchange(r.port, plain).status, 415);
}

TEST(Serve, WrongMissingOrRevokedTokensAreRefusedBeforeAnyComputation) {
  TokenStore store;
  const std::string good = store.add("good", {.rows_budget = 100}), gone = store.add("gone", {});
  store.revoke("gone");
  const fs::path usage = scratch("auth.usage");
  fs::remove(usage);
  {
    Running r = start({}, "full", {}, usage.string(), &store);
    for (const std::string& token : {std::string(""), std::string("ctd_wrong"), gone, good + "x", good.substr(0, 20)}) {
      const HttpAnswer answer = http_exchange(r.port, http_request("POST", "/v2/models/pima/infer", infer_body(2), token));
      EXPECT_EQ(answer.status, 401) << "token '" << token << "': " << answer.body;
    }
    const HttpAnswer scheme = http_exchange(r.port, "GET /v2 HTTP/1.1\r\nHost: x\r\nAuthorization: Basic " + good + "\r\n\r\n");
    EXPECT_EQ(scheme.status, 401);
    EXPECT_EQ(http_exchange(r.port, http_request("POST", "/v2/models/pima/infer", infer_body(2), good)).status, 200);
    r.server->stop();
  }
  // Only the one admitted request was counted.
  EXPECT_EQ(json::parse(std::ifstream(usage))["rows_used"], (json{{"good", 2}}));
}

TEST(Serve, BudgetsStopExactlyAtTheirRowsAndSurviveARestart) {
  TokenStore store;
  const std::string token = store.add("counted", {.rows_budget = 5});
  const fs::path usage = scratch("budget.usage");
  fs::remove(usage);
  auto infer = [&](Running& r, int rows) {
    return http_exchange(r.port, http_request("POST", "/v2/models/pima/infer", infer_body(rows), token)).status;
  };
  {
    Running r = start({}, "full", {}, usage.string(), &store);
    EXPECT_EQ(infer(r, 2), 200);
    EXPECT_EQ(infer(r, 2), 200);
    EXPECT_EQ(infer(r, 2), 429);  // 4 + 2 > 5
    EXPECT_EQ(infer(r, 1), 200);  // exactly 5
    EXPECT_EQ(infer(r, 1), 429);
    // Saved while serving (every second), not only at a clean stop: a server that is killed
    // loses at most the last second.
    int64_t saved = -1;
    for (int tries = 0; tries < 40 && saved != 5; ++tries) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      std::ifstream file(usage);
      const json root = json::parse(file, nullptr, false);
      if (!root.is_discarded() && root.contains("rows_used") && root["rows_used"].contains("counted"))
        saved = root["rows_used"]["counted"].get<int64_t>();
    }
    EXPECT_EQ(saved, 5);
    r.server->stop();
  }
  Running again = start({}, "full", {}, usage.string(), &store);
  EXPECT_EQ(infer(again, 1), 429);  // the restart did not reset it
  const HttpAnswer refused = http_exchange(again.port, http_request("POST", "/v2/models/pima/infer", infer_body(1), token));
  EXPECT_NE(refused.body.find("5 of 5 rows"), std::string::npos) << refused.body;
}

TEST(Serve, RateLimitsAnswer429WithRetryAfter) {
  Running r = start({{.rate = 2}});
  int ok = 0, limited = 0;
  std::string retry_after, message;
  for (int i = 0; i < 6; ++i) {  // six requests at once: two pass (the burst), the rest wait
    const HttpAnswer a = http_exchange(r.port, http_request("POST", "/v2/models/pima/infer", infer_body(1), r.tokens[0]));
    if (a.status == 200) ++ok;
    if (a.status == 429) ++limited, retry_after = a.header("Retry-After"), message = a.body;
  }
  EXPECT_NE(message.find("rate limit of 2/s"), std::string::npos) << message;  // not 2.000000
  EXPECT_GE(ok, 2);
  EXPECT_LE(ok, 3);  // a refill may land during the loop
  EXPECT_GE(limited, 3);
  EXPECT_EQ(retry_after, "1");
}

TEST(Serve, OutputPoliciesCoarsenEveryRowAndCannotBeWidened) {
  const std::string mixed = infer_body(4);  // rows of both classes
  {
    Running r = start({{}}, "label");
    const HttpAnswer a = http_exchange(r.port, http_request("POST", "/v2/models/pima/infer", mixed, r.tokens[0]));
    ASSERT_EQ(a.status, 200);
    const json outputs = json::parse(a.body)["outputs"];
    ASSERT_EQ(outputs.size(), 1u);
    EXPECT_EQ(outputs[0]["name"], "label");
    const SavedModel model = load_saved_model(pima_model().string());
    const RowPredictions expected = model.predict_rows(parse_csv(
        std::string("NumTimesPrg,PlGlcConc,BloodP,SkinThick,TwoHourSerIns,BMI,DiPedFunc,Age\n") + kTwoRows + kTwoRows,
        "rows"));
    ASSERT_EQ(std::set<std::string>(expected.labels.begin(), expected.labels.end()).size(), 2u);  // both classes
    EXPECT_EQ(outputs[0]["data"], json(expected.labels));
    const HttpAnswer wider = http_exchange(r.port, http_request("POST", "/v2/models/pima/infer",
                                                           infer_body(1, R"({"outputs": [{"name": "probabilities"}]})"),
                                                           r.tokens[0]));
    EXPECT_EQ(wider.status, 403);
    EXPECT_FALSE(json::parse(http_exchange(r.port, http_request("GET", "/v2/models/pima", "", r.tokens[0])).body)["outputs"]
                     .dump().find("probabilities") != std::string::npos);
  }
  {
    Running r = start({{}}, "round:1");
    const json p = json::parse(http_exchange(r.port, http_request("POST", "/v2/models/pima/infer", mixed, r.tokens[0])).body);
    for (const auto& v : p["outputs"][0]["data"]) EXPECT_NEAR(v.get<double>() * 10, std::round(v.get<double>() * 10), 1e-6) << v;
  }
  {
    Running r = start({{}}, "topk:1");
    const json p = json::parse(http_exchange(r.port, http_request("POST", "/v2/models/pima/infer", mixed, r.tokens[0])).body);
    const json& data = p["outputs"][0]["data"];
    for (int row = 0; row < 4; ++row) {  // one class kept, the other answered as 0
      const double a = data[row * 2].get<double>(), b = data[row * 2 + 1].get<double>();
      EXPECT_TRUE((a == 0) != (b == 0)) << a << " " << b;
      EXPECT_EQ(p["outputs"][1]["data"][row], a > b ? "0" : "1");
    }
  }
  float four[4] = {0.1f, 0.4f, 0.3f, 0.2f};
  OutputPolicy::parse("topk:2", "t").apply(four, 4);
  EXPECT_EQ((std::vector<float>(four, four + 4)), (std::vector<float>{0, 0.4f, 0.3f, 0}));
  EXPECT_THROW(OutputPolicy::parse("topk:0", "t"), ValueError);
  EXPECT_THROW(OutputPolicy::parse("round:x", "t"), ValueError);
}

TEST(Serve, HostileRequestsGetTheirStatusWhileALegitimateClientIsServed) {
  ServerOptions options;
  options.max_body_bytes = 64 << 10;
  options.max_header_bytes = 8 << 10;
  options.header_timeout = std::chrono::milliseconds(1500);
  options.limits.max_rows = 100;
  Running r = start({{}}, "full", options);
  const std::string token = r.tokens[0];
  std::atomic<bool> done{false};
  std::atomic<int> served{0}, failed{0};
  std::thread legitimate([&] {
    for (int i = 0; i < 400 && !done; ++i) {
      const HttpAnswer a = http_exchange(r.port, http_request("POST", "/v2/models/pima/infer", infer_body(2), token));
      (a.status == 200 ? served : failed)++;
    }
  });
  auto status_of = [&](const std::string& raw) { return http_exchange(r.port, raw, "127.0.0.3").status; };
  const std::string auth = "Authorization: Bearer " + token + "\r\n";
  const std::string head = "POST /v2/models/pima/infer HTTP/1.1\r\nHost: x\r\n" + auth + "Content-Type: application/json\r\n";
  EXPECT_EQ(status_of("GET /v2 HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(10'000, 'a') + "\r\n\r\n"), 431);
  EXPECT_EQ(status_of(head + "Content-Length: 100000\r\n\r\n" + std::string(100, ' ')), 413);
  std::string chunks;  // 1-byte chunks of a valid body: accepted
  for (char c : infer_body(1)) chunks += "1\r\n" + std::string(1, c) + "\r\n";
  EXPECT_EQ(status_of(head + "Transfer-Encoding: chunked\r\n\r\n" + chunks + "0\r\n\r\n"), 200);
  std::string big;  // chunked past the body limit, counted after de-chunking
  for (int i = 0; i < 80; ++i) big += "400\r\n" + std::string(1024, ' ') + "\r\n";
  EXPECT_EQ(status_of(head + "Transfer-Encoding: chunked\r\n\r\n" + big + "0\r\n\r\n"), 413);
  EXPECT_EQ(status_of(head + "Transfer-Encoding: chunked\r\n\r\n-5\r\nabc\r\n0\r\n\r\n"), 400);
  EXPECT_EQ(status_of(head + "Transfer-Encoding: chunked\r\n\r\nfffffffffffffffffffff\r\nabc\r\n0\r\n\r\n"), 400);
  EXPECT_EQ(status_of(head + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), 400);
  EXPECT_EQ(status_of(head + "Content-Encoding: gzip\r\nContent-Length: 2\r\n\r\n{}"), 415);
  auto body_status = [&](const std::string& body) { return status_of(http_request("POST", "/v2/models/pima/infer", body, token)); };
  EXPECT_EQ(body_status(std::string(200, '[') + std::string(200, ']')), 400);  // nested JSON
  EXPECT_EQ(body_status(R"({"inputs": [{"name": "features", "datatype": "FP32", "shape": [1, 8], "data": [NaN, 1, 1, 1, 1, 1, 1, 1]}]})"), 400);
  EXPECT_EQ(body_status(R"({"inputs": [{"name": "features", "datatype": "FP32", "shape": [1, 8], "data": [1e39, 1, 1, 1, 1, 1, 1, 1]}]})"), 400);
  EXPECT_EQ(body_status(R"({"inputs": [{"name": "features", "datatype": "FP32", "shape": [4611686018427387904, 8], "data": [1]}]})"), 400);
  EXPECT_EQ(body_status(R"({"inputs": [{"name": "features", "datatype": "FP32", "shape": [1, 7], "data": [1, 1, 1, 1, 1, 1, 1]}]})"), 400);
  EXPECT_EQ(body_status(R"({"inputs": [{"name": "features", "datatype": "FP32", "shape": [2, 8], "data": [1, 1, 1]}]})"), 400);
  EXPECT_EQ(body_status(R"({"inputs": [{"name": "features", "datatype": "BYTES", "shape": [1, 8], "data": ["a"]}]})"), 400);
  EXPECT_EQ(body_status(infer_body(101)), 413);  // past the row cap
  json many = json::parse(infer_body(1));
  many["outputs"] = json::array();
  for (int i = 0; i < 1000; ++i) many["outputs"].push_back({{"name", "label"}});
  EXPECT_EQ(body_status(many.dump()), 400);  // within the body limit, past the outputs cap
  for (int i = 0; i < 9000; ++i) many["outputs"].push_back({{"name", "label"}});
  EXPECT_EQ(body_status(many.dump()), 413);  // 10,000 outputs: past the body limit
  EXPECT_EQ(body_status("not json"), 400);
  // A target that is not UTF-8, quoted in the error (found by http_request_fuzz: it ended the server).
  EXPECT_EQ(status_of("GET /v2mo/d\"bou\x8c\x8f\x8a HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n"), 404);
  EXPECT_EQ(status_of("GET /v2/models/\xff\xfe HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n"), 404);
  // A header that never ends is cut at the deadline, not held.
  const int slow = connect_loopback(r.port, "127.0.0.3");
  send_all(slow, "GET /v2 HTTP/1.1\r\nHost: x\r\n");
  const auto before = std::chrono::steady_clock::now();
  read_answer(slow, std::chrono::milliseconds(4000));
  EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::milliseconds(3500));
  ::close(slow);
  done = true;
  legitimate.join();
  EXPECT_GT(served.load(), 0);
  EXPECT_EQ(failed.load(), 0);
}

TEST(Serve, TricklingConnectionsDoNotStarveOtherClients) {
  ServerOptions options;
  options.header_timeout = std::chrono::milliseconds(800);
  options.max_connections_per_address = 40;
  Running r = start({{}}, "full", options);
  std::vector<int> trickling;
  for (int i = 0; i < 200; ++i) {  // more than the per-address cap, from one address
    const int fd = connect_loopback(r.port, "127.0.0.2");
    if (fd >= 0) trickling.push_back(fd);
  }
  for (int round = 0; round < 3; ++round)  // a byte now and then, never a whole header
    for (int fd : trickling) send_all(fd, round == 0 ? "GET /v2 HTTP/1.1\r\n" : "X");
  int ok = 0;
  for (int i = 0; i < 20; ++i)
    ok += http_exchange(r.port, http_request("POST", "/v2/models/pima/infer", infer_body(1), r.tokens[0])).status == 200;
  EXPECT_EQ(ok, 20);
  // Past the cap, the same address is turned away at once.
  const HttpAnswer over = http_exchange(r.port, http_request("GET", "/v2/health/live"), "127.0.0.2");
  EXPECT_EQ(over.status, 503);
  for (int fd : trickling) ::close(fd);
}

TEST(Serve, StopLetsARequestInFlightFinish) {
  ServerOptions options;
  options.limits.max_rows = 20'000;
  Running r = start({{}}, "full", options);
  const int fd = connect_loopback(r.port);
  ASSERT_TRUE(send_all(fd, http_request("POST", "/v2/models/pima/infer", infer_body(20'000), r.tokens[0])));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::thread stopper([&] { r.server->stop(); });
  const HttpAnswer answer = read_answer(fd, std::chrono::milliseconds(20'000));
  stopper.join();
  ::close(fd);
  EXPECT_EQ(answer.status, 200);
  EXPECT_EQ(json::parse(answer.body)["outputs"][0]["shape"], (json{20'000, 2}));
}

TEST(Serve, ReloadKeepsTheServingModelWhenTheNewFileFailsItsCheck) {
  const fs::path pub = scratch("reload.pub"), sec = scratch("reload.key"), file = scratch("reload.safetensors");
  generate_signing_keys(pub.string(), sec.string(), true);
  fs::copy_file(pima_model(), file, fs::copy_options::overwrite_existing);
  sign_file(file.string(), sec.string());
  const ModelLoader loader = [&](const std::string& name, const std::string& path, const OutputPolicy& policy) {
    return ServedModel{name, path, load_saved_model(path, {.access = {.public_key = pub.string(), .key = {}}}), policy, "verified"};
  };
  std::vector<ServedModel> models;
  models.push_back(loader("pima", file.string(), OutputPolicy{}));
  TokenStore store;
  const std::string token = store.add("ops", {});
  ServerOptions options;
  options.port = 0;
  options.log_requests = false;
  Server server(std::move(models), store, "", options, loader);
  const uint16_t port = server.start();
  auto infer = [&] { return http_exchange(port, http_request("POST", "/v2/models/pima/infer", infer_body(2), token)); };
  const HttpAnswer before = infer();
  ASSERT_EQ(before.status, 200) << before.body;

  std::string bytes = read_file_bytes(file.string());  // tampered: one byte of a weight
  bytes[bytes.size() - 5] ^= 0x40;
  std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
  EXPECT_EQ(server.reload(), std::vector<std::string>{"pima"});
  const HttpAnswer kept = infer();
  EXPECT_EQ(kept.status, 200);
  EXPECT_EQ(kept.body, before.body);  // the verified model still answers

  SavedModel changed = load_saved_model(pima_model().string());  // a new, signed model
  std::vector<Tensor> weights = changed.model.get_weights();
  for (Tensor& w : weights)
    for (int64_t i = 0; i < w.numel(); ++i) w[i] *= -1.0f;
  changed.model.set_weights(weights);
  save_saved_model(changed.model,
                   saved_model_records(changed.schema, false, changed.loss, changed.preprocessor, "pima"), file.string());
  sign_file(file.string(), sec.string());
  EXPECT_TRUE(server.reload().empty());
  const HttpAnswer after = infer();
  EXPECT_EQ(after.status, 200);
  EXPECT_NE(after.body, before.body);
  const std::string metrics = http_exchange(port, http_request("GET", "/metrics", "", token)).body;
  EXPECT_NE(metrics.find("citadel_model_reloads_total{result=\"failed\"} 1"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("citadel_model_reloads_total{result=\"ok\"} 1"), std::string::npos);
  EXPECT_NE(metrics.find("citadel_model_signature_verified{model=\"pima\"} 1"), std::string::npos);
}

TEST(Serve, MetricsCountRequestsAndRejectionsAndNeverNameTokens) {
  Running r = start({{.rows_budget = 3}});
  const std::string& token = r.tokens[0];
  for (int i = 0; i < 2; ++i)
    EXPECT_EQ(http_exchange(r.port, http_request("POST", "/v2/models/pima/infer", infer_body(1), token)).status, 200);
  EXPECT_EQ(http_exchange(r.port, http_request("POST", "/v2/models/pima/infer", infer_body(2), token)).status, 429);
  EXPECT_EQ(http_exchange(r.port, http_request("GET", "/v2", "", "ctd_nope")).status, 401);
  EXPECT_EQ(http_exchange(r.port, http_request("GET", "/metrics")).status, 401);  // metrics need a token too
  const HttpAnswer page = http_exchange(r.port, http_request("GET", "/metrics", "", token));
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.header("Content-Type"), "text/plain; version=0.0.4");
  for (const char* line : {"citadel_requests_total{model=\"pima\",status=\"200\"} 2",
                           "citadel_requests_total{model=\"pima\",status=\"429\"} 1",
                           "citadel_rejections_total{reason=\"budget\"} 1", "citadel_rejections_total{reason=\"auth\"} 2",
                           "citadel_request_duration_seconds_count{model=\"pima\"} 3",
                           "citadel_request_duration_seconds_bucket{model=\"pima\",le=\"+Inf\"} 3"})
    EXPECT_NE(page.body.find(line), std::string::npos) << line << " in\n" << page.body;
  EXPECT_EQ(page.body.find(token.substr(4, 12)), std::string::npos);
  EXPECT_EQ(page.body.find("client0"), std::string::npos);  // no per-token labels
  // Each metric family is declared once, as the text format requires (one was twice).
  std::set<std::string> families;
  std::istringstream lines(page.body);
  for (std::string line; std::getline(lines, line);)
    if (line.rfind("# TYPE ", 0) == 0) {
      EXPECT_TRUE(families.insert(line).second) << line;
    }
  EXPECT_GE(families.size(), 8u);
}

// A client probing the model along lines between real rows (a boundary search, as model
// extraction does it) raises the extraction alarm: counted in /metrics, and with
// block_on_alarm that token is refused (403) while another keeps being served.
TEST(Serve, ExtractionAlarmIsRaisedCountedAndBlocks) {
  ServerOptions options;
  options.block_on_alarm = true;
  Running r = start({{}, {}}, "full", options);
  const std::string &prober = r.tokens[0], &other = r.tokens[1];
  const CsvTable pima = read_csv(CITADEL_PIMA_CSV);
  auto cell = [&](int64_t row, int64_t column) { return std::stod(std::string(pima.cells[size_t(row * 9 + column)])); };
  auto ask = [&](const std::vector<double>& features, const std::string& token) {
    json body{{"inputs", {{{"name", "features"}, {"datatype", "FP32"}, {"shape", {1, 8}}, {"data", features}}}}};
    return http_exchange(r.port, http_request("POST", "/v2/models/pima/infer", body.dump(), token));
  };
  int requests = 0, refused_at = -1;
  for (int64_t pair = 0; pair < 60 && refused_at < 0; ++pair) {
    std::vector<double> a(8), b(8);
    for (int64_t c = 0; c < 8; ++c) a[size_t(c)] = cell(2 * pair, c), b[size_t(c)] = cell(2 * pair + 1, c);
    for (int step = 1; step <= 8 && refused_at < 0; ++step) {  // halving steps from a towards b
      const double t = std::ldexp(1.0, -step);
      std::vector<double> p(8);
      for (size_t c = 0; c < 8; ++c) p[c] = (1 - t) * a[c] + t * b[c];
      const HttpAnswer answer = ask(p, prober);
      ++requests;
      if (answer.status == 403) refused_at = requests;
      else ASSERT_EQ(answer.status, 200) << answer.body;
    }
  }
  ASSERT_GT(refused_at, 0) << "no alarm in " << requests << " probing requests";
  EXPECT_NE(ask({1, 85, 66, 29, 0, 26.6, 0.351, 31}, prober).body.find("extraction alarm"), std::string::npos);
  EXPECT_EQ(ask({1, 85, 66, 29, 0, 26.6, 0.351, 31}, other).status, 200);
  const HttpAnswer page = http_exchange(r.port, http_request("GET", "/metrics", "", other));
  EXPECT_NE(page.body.find("citadel_extraction_alarms_total{model=\"pima\"} 1"), std::string::npos) << page.body;
  EXPECT_NE(page.body.find("citadel_rejections_total{reason=\"extraction_alarm\"} 2"), std::string::npos) << page.body;
}

// HTTPS: a client that verifies the certificate is served (health and inference over one
// kept-alive connection, TLS 1.2 or later); plain HTTP on the TLS port gets no answer; a
// client that never starts the handshake is cut at the header deadline.
TEST(Serve, HttpsServesVerifiedClientsOnly) {
  const fs::path cert = scratch("tls.crt"), key = scratch("tls.key"), other = scratch("other.crt"),
                 other_key = scratch("other.key");
  for (const auto& [c, k] : {std::pair{cert, key}, std::pair{other, other_key}}) {
    const std::string make = "timeout 30 openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
                             "-days 1 -subj /CN=citadel-test -addext subjectAltName=IP:127.0.0.1 -keyout " +
                             k.string() + " -out " + c.string() + " 2>/dev/null";
    ASSERT_EQ(std::system(make.c_str()), 0) << make;
  }
  ServerOptions options;
  options.tls_certificate = cert.string();
  options.tls_private_key = key.string();
  options.header_timeout = std::chrono::milliseconds(1000);
  Running r = start({{}}, "full", options);
  const std::string check = "timeout 60 " CITADEL_PYTHON3 " " CITADEL_TEST_SOURCE_DIR "/serving/https_check.py " +
                            std::to_string(r.port) + " " + cert.string() + " " + other.string() + " " + r.tokens[0];
  EXPECT_EQ(std::system(check.c_str()), 0) << check;
  EXPECT_EQ(http_exchange(r.port, http_request("GET", "/v2/health/ready")).status, 0);  // plain HTTP: no answer
  const int silent = connect_loopback(r.port);
  const auto before = std::chrono::steady_clock::now();
  read_answer(silent, std::chrono::milliseconds(4000));
  EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::milliseconds(3000));
  ::close(silent);
  // A key that is not the certificate's is refused at start, naming the file.
  ServerOptions mismatched = options;
  mismatched.tls_private_key = other_key.string();
  try {
    std::vector<ServedModel> models;
    models.push_back(served());
    Server server(std::move(models), std::nullopt, "", mismatched);
    ADD_FAILURE() << "a key that does not match the certificate was accepted";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find(other_key.string()), std::string::npos) << e.what();
  }
}

// Dynamic batching: 16 clients sending different rows at once are predicted in shared
// passes (counted in /metrics), and each gets exactly its own rows' predictions; with
// several serving threads, each batches the connections it was given.
void expect_concurrent_requests_batched(int threads) {
  ServerOptions options;
  options.threads = threads;
  options.batch_delay = std::chrono::microseconds(20'000);
  Running r = start({{}}, "full", options);
  const SavedModel model = load_saved_model(pima_model().string());
  const CsvTable pima = read_csv(CITADEL_PIMA_CSV);
  constexpr int kClients = 16, kRounds = 10;
  std::atomic<int> mismatches{0}, failures{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c)
    clients.emplace_back([&, c] {
      for (int round = 0; round < kRounds; ++round) {
        const int64_t row = c * kRounds + round;
        std::vector<double> features(8);
        std::string csv = "NumTimesPrg,PlGlcConc,BloodP,SkinThick,TwoHourSerIns,BMI,DiPedFunc,Age\n";
        for (int64_t f = 0; f < 8; ++f) {
          features[size_t(f)] = std::stod(std::string(pima.cells[size_t(row * 9 + f)]));
          csv += std::string(pima.cells[size_t(row * 9 + f)]) + (f < 7 ? "," : "\n");
        }
        const RowPredictions expected = model.predict_rows(parse_csv(csv, "row"));
        json body{{"inputs", {{{"name", "features"}, {"datatype", "FP32"}, {"shape", {1, 8}}, {"data", features}}}}};
        const HttpAnswer answer =
            http_exchange(r.port, http_request("POST", "/v2/models/pima/infer", body.dump(), r.tokens[0]));
        if (answer.status != 200) {
          ++failures;
          continue;
        }
        const json response = json::parse(answer.body);
        if (response["outputs"][1]["data"][0] != expected.labels[0] ||
            std::fabs(response["outputs"][0]["data"][1].get<double>() - expected.probabilities[1]) > 1e-6)
          ++mismatches;
      }
    });
  for (auto& client : clients) client.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(mismatches.load(), 0);
  const std::string page = http_exchange(r.port, http_request("GET", "/metrics", "", r.tokens[0])).body;
  auto counter = [&](const std::string& name) {
    const std::string key = name + "{model=\"pima\"} ";
    const size_t at = page.find(key);
    return at == std::string::npos ? -1 : std::stoll(page.substr(at + key.size()));
  };
  EXPECT_EQ(counter("citadel_batched_requests_total"), kClients * kRounds) << page;
  const int64_t batches = counter("citadel_prediction_batches_total");
  EXPECT_GT(batches, 0);
  EXPECT_LE(batches, kClients * kRounds / 2) << "requests waiting together were not batched";
}

TEST(Serve, ConcurrentRequestsArePredictedTogetherEachGettingItsOwnRows) { expect_concurrent_requests_batched(1); }

TEST(Serve, EachServingThreadBatchesItsOwnConnections) { expect_concurrent_requests_batched(2); }

// A request of more rows than one batch holds is predicted alone on the pool for large
// requests, not on a serving thread, and answers every row; small requests sent while it
// runs are answered too.
TEST(Serve, RequestsLargerThanABatchArePredictedAloneAndWhole) {
  ServerOptions options;
  options.threads = 1;
  options.max_batch_rows = 4;
  Running r = start({{}}, "full", options);
  const SavedModel model = load_saved_model(pima_model().string());
  std::string csv = "NumTimesPrg,PlGlcConc,BloodP,SkinThick,TwoHourSerIns,BMI,DiPedFunc,Age\n";
  for (int row = 0; row < 500; ++row) csv += kTwoRows;  // rows alternate as infer_body's do
  const RowPredictions expected = model.predict_rows(parse_csv(csv, "rows"));
  std::atomic<int> small_ok{0};
  std::thread small([&] {
    for (int i = 0; i < 10; ++i)
      small_ok += http_exchange(r.port, http_request("POST", "/v2/models/pima/infer", infer_body(2), r.tokens[0])).status == 200;
  });
  const HttpAnswer answer = http_exchange(r.port, http_request("POST", "/v2/models/pima/infer", infer_body(1000), r.tokens[0]));
  small.join();
  ASSERT_EQ(answer.status, 200) << answer.body.substr(0, 200);
  const json response = json::parse(answer.body);
  ASSERT_EQ(response["outputs"][0]["shape"], (json{1000, 2}));
  for (int i = 0; i < 2000; ++i)
    ASSERT_NEAR(response["outputs"][0]["data"][i].get<double>(), expected.probabilities[i], 1e-6) << i;
  EXPECT_EQ(response["outputs"][1]["data"], json(expected.labels));
  EXPECT_EQ(small_ok.load(), 10);
  const std::string page = http_exchange(r.port, http_request("GET", "/metrics", "", r.tokens[0])).body;
  EXPECT_NE(page.find("citadel_batched_requests_total{model=\"pima\"} 11"), std::string::npos) << page;
}

// The compute deadline: a large request still predicting when it passes is answered 504 at
// the deadline, and one queued behind it on the pool is answered 504 too and never
// computed (one prediction pass counted, not two).
TEST(Serve, ComputeDeadlineAnswers504AndSkipsWorkNotStarted) {
  ServedModel slow = served();
  Sequential network;  // the Pima schema and scaling, with a network slow to predict
  network.add(Dense(1024, {.input_dim = 8, .activation = "relu"}));
  network.add(Dense(1024, {.activation = "relu"}));
  network.add(Dense(1, {.activation = "sigmoid"}));
  network.build(Shape{8});
  slow.model.model = std::move(network);
  std::vector<ServedModel> models;
  models.push_back(std::move(slow));
  ServerOptions options;
  options.port = 0;
  options.log_requests = false;
  options.threads = 1;  // one pool thread: the second large request waits for the first
  options.max_batch_rows = 4;
  options.compute_timeout = std::chrono::milliseconds(20);
  Server server(std::move(models), std::nullopt, "", options);
  const uint16_t port = server.start();
  const std::string large = infer_body(10'000);  // about 21 GFLOP: far past 20 ms
  std::vector<HttpAnswer> answers(2);
  std::vector<std::thread> clients;
  for (int c = 0; c < 2; ++c)
    clients.emplace_back([&, c] { answers[size_t(c)] = http_exchange(port, http_request("POST", "/v2/models/pima/infer", large)); });
  for (auto& client : clients) client.join();
  for (const HttpAnswer& answer : answers) {
    EXPECT_EQ(answer.status, 504) << answer.body.substr(0, 200);
    EXPECT_NE(answer.body.find("compute deadline"), std::string::npos) << answer.body.substr(0, 200);
  }
  // Small requests are predicted on the serving thread, past no deadline of the pool's.
  EXPECT_EQ(http_exchange(port, http_request("POST", "/v2/models/pima/infer", infer_body(2))).status, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(2000));  // the first pass ends, the second is skipped
  const std::string page = http_exchange(port, http_request("GET", "/metrics")).body;
  EXPECT_NE(page.find("citadel_prediction_batches_total{model=\"pima\"} 2"), std::string::npos) << page;  // 1 large + 1 small
  EXPECT_NE(page.find("deadline"), std::string::npos) << page;
  server.stop();
}

// Request smuggling (RFC 9112 §6.1, §6.3): a request whose framing two parsers could read
// differently — a Transfer-Encoding other than exactly `chunked`, one beside a
// Content-Length, one in HTTP/1.0, several Content-Lengths, obs-fold, bare line feeds — is
// answered 400 and its connection closed, so the bytes that follow it (here a request that
// would spend a token's only row) are never run as a request.
TEST(Serve, AmbiguousFramingIsRefusedAndTheBytesAfterItNeverRun) {
  TokenStore store;
  const std::string token = store.add("ops", {}), spent = store.add("spent", {.rows_budget = 1});
  Running r = start({}, "full", {}, "", &store);
  const std::string smuggled = http_request("POST", "/v2/models/pima/infer", infer_body(1), spent);
  const std::vector<std::string> framings = {
      "Transfer-Encoding: chunked, identity\r\n",
      "Transfer-Encoding: gzip\r\n",
      "Transfer-Encoding: identity\r\n",
      "Transfer-Encoding: gzip, chunked\r\n",
      "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n",
      "Transfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\n",
      "Transfer-Encoding: chunked, chunked\r\n",
      "Transfer-Encoding: xchunked\r\n",
      "Transfer-Encoding: \"chunked\"\r\n",
      "Transfer-Encoding: chunked;q=1\r\n",
      "Transfer-Encoding:\r\n chunked\r\n",           // obs-fold: another parser sees an empty coding
      "X-Padding: a\r\n\tb\r\n",                       // obs-fold anywhere
      "Transfer-Encoding: chunked\r\nContent-Length: 0\r\n",
      "Content-Length: 0\r\nTransfer-Encoding: chunked\r\n",
      "Transfer-Encoding: gzip\r\nContent-Length: 0\r\n",
      "Content-Length: 0\r\nContent-Length: 5\r\n",
      "Content-Length: 0, 5\r\n",
      "Content-Length: 0\r\nContent-Length: 0\r\n",  // agreeing, and still two
      "Content-Length: +0\r\n",
      "Transfer-Encoding: chunked\n",                 // a bare line feed ends a field for some parsers
      "X-Padding: a\rTransfer-Encoding: chunked\r\n",  // a bare carriage return
  };
  for (const std::string& framing : framings) {
    for (const std::string& head : {std::string("GET /v2/health/live HTTP/1.1\r\nHost: x\r\n"),
                                    "POST /v2/models/pima/infer HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token +
                                        "\r\nContent-Type: application/json\r\n"}) {
      const int fd = connect_loopback(r.port);
      ASSERT_GE(fd, 0);
      send_all(fd, head + framing + "\r\n" + smuggled);
      const HttpAnswer answer = read_answer(fd, std::chrono::milliseconds(3000));
      EXPECT_EQ(answer.status, 400) << framing << answer.body;
      EXPECT_TRUE(closes_without_more(fd)) << "the connection stayed open after: " << framing;
      ::close(fd);
    }
  }
  // HTTP/1.0 has no chunked coding: a Transfer-Encoding there is a framing error too.
  const int old = connect_loopback(r.port);
  send_all(old, "GET /v2/health/live HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" +
                    smuggled);
  EXPECT_EQ(read_answer(old, std::chrono::milliseconds(3000)).status, 400);
  EXPECT_TRUE(closes_without_more(old));
  ::close(old);
  // Exactly `chunked`, in any case and with optional whitespace, is read; pipelined requests are too.
  std::string chunks;
  for (char c : infer_body(1)) chunks += "1\r\n" + std::string(1, c) + "\r\n";
  const int fd = connect_loopback(r.port);
  send_all(fd, "POST /v2/models/pima/infer HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token +
                   "\r\nContent-Type: application/json\r\nTransfer-Encoding:  CHUNKED \t\r\n\r\n" + chunks + "0\r\n\r\n" +
                   http_request("GET", "/v2/health/live"));
  std::string answers;  // both answers may come in one read
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (answers.find(R"({"live":true})") == std::string::npos && std::chrono::steady_clock::now() < until) {
    pollfd p{fd, POLLIN, 0};
    char buffer[4096];
    if (::poll(&p, 1, 100) > 0) {
      const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      answers.append(buffer, size_t(n));
    }
  }
  EXPECT_EQ(answers.rfind("HTTP/1.1 200 OK", 0), 0u) << answers;
  EXPECT_NE(answers.find("\"outputs\""), std::string::npos) << answers;
  EXPECT_NE(answers.find("HTTP/1.1 200 OK", 1), std::string::npos) << answers;
  EXPECT_NE(answers.find(R"({"live":true})"), std::string::npos) << answers;
  ::close(fd);
  // The token's one row was never spent by a smuggled request.
  const HttpAnswer last = http_exchange(r.port, smuggled);
  EXPECT_EQ(last.status, 200) << last.body;
  EXPECT_EQ(http_exchange(r.port, smuggled).status, 429);
}

// A request's token is checked on its header, before its body is read: a client without a
// valid token is answered 401 at once and cut off, never holding a body in the server's
// memory. `Expect: 100-continue` gets its 100 only once the header passed the token and the
// limits; otherwise the refusal comes instead, and the body is never read.
TEST(Serve, TheTokenIsCheckedOnTheHeaderBeforeTheBodyIsRead) {
  ServerOptions options;
  options.max_body_bytes = 1 << 20;
  Running r = start({{}}, "full", options);
  const std::string head = "POST /v2/models/pima/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n";
  for (const std::string& auth : {std::string(""), std::string("Authorization: Bearer ctd_wrong\r\n")}) {
    const int fd = connect_loopback(r.port);
    send_all(fd, head + auth + "Content-Length: 1000000\r\n\r\n");  // and no body
    const HttpAnswer answer = read_answer(fd, std::chrono::milliseconds(3000));
    EXPECT_EQ(answer.status, 401) << auth;
    EXPECT_TRUE(closes_without_more(fd));
    ::close(fd);
  }
  const std::string good = "Authorization: Bearer " + r.tokens[0] + "\r\n";
  const std::string body = infer_body(1);
  {  // 100 Continue, then the body, then the answer
    const int fd = connect_loopback(r.port);
    send_all(fd, head + good + "Expect: 100-continue\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n");
    EXPECT_EQ(read_answer(fd, std::chrono::milliseconds(3000)).status, 100);
    send_all(fd, body);
    EXPECT_EQ(read_answer(fd).status, 200);
    ::close(fd);
  }
  {  // a bad token: 401 instead of 100
    const int fd = connect_loopback(r.port);
    send_all(fd, head + "Authorization: Bearer ctd_wrong\r\nExpect: 100-continue\r\nContent-Length: 500\r\n\r\n");
    EXPECT_EQ(read_answer(fd, std::chrono::milliseconds(3000)).status, 401);
    EXPECT_TRUE(closes_without_more(fd));
    ::close(fd);
  }
  {  // an expectation the server does not know: 417, the body unread
    const int fd = connect_loopback(r.port);
    send_all(fd, head + good + "Expect: teapot\r\nContent-Length: 500\r\n\r\n");
    EXPECT_EQ(read_answer(fd, std::chrono::milliseconds(3000)).status, 417);
    EXPECT_TRUE(closes_without_more(fd));
    ::close(fd);
  }
  {  // past --max-body: 413 naming the limit and the option, instead of 100
    const int fd = connect_loopback(r.port);
    send_all(fd, head + good + "Expect: 100-continue\r\nContent-Length: 2000000\r\n\r\n");
    const HttpAnswer answer = read_answer(fd, std::chrono::milliseconds(3000));
    EXPECT_EQ(answer.status, 413);
    EXPECT_NE(answer.body.find("1048576 bytes"), std::string::npos) << answer.body;
    EXPECT_NE(answer.body.find("--max-body"), std::string::npos) << answer.body;
    EXPECT_TRUE(closes_without_more(fd));
    ::close(fd);
  }
}

// The connection cap is no lock-out: hundreds of connections from many addresses that
// trickle a header and never finish it (and come back when cut) fill the cap, and a client
// from another address still has its requests answered, each within a second.
TEST(Serve, TricklersFromManyAddressesDoNotLockOutALegitimateClient) {
  ServerOptions options;
  options.max_connections = 256;
  Running r = start({{}}, "full", options);
  std::atomic<bool> done{false};
  std::atomic<int> reconnects{0};
  std::thread attacker([&] {
    constexpr int kAddresses = 50, kPerAddress = 8;
    std::vector<int> sockets(kAddresses * kPerAddress, -1);
    auto source = [](size_t i) { return "127.0.1." + std::to_string(1 + i / kPerAddress); };
    for (int round = 0; !done; ++round) {
      for (size_t i = 0; i < sockets.size() && !done; ++i) {
        if (sockets[i] >= 0) {
          pollfd p{sockets[i], POLLIN, 0};
          if (::poll(&p, 1, 0) > 0) {  // answered (503) or cut: come back
            ::close(sockets[i]);
            sockets[i] = -1;
          }
        }
        if (sockets[i] < 0) {
          sockets[i] = connect_loopback(r.port, source(i).c_str());
          if (sockets[i] >= 0) send_all(sockets[i], "POST /v2/models/pima/infer HTTP/1.1\r\n"), ++reconnects;
        } else if (round % 20 == 0) {
          send_all(sockets[i], "X");  // a byte now and then, never a whole header
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    for (int fd : sockets)
      if (fd >= 0) ::close(fd);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the cap is full
  int answered = 0;
  constexpr int kRequests = 40;
  for (int i = 0; i < kRequests; ++i) {
    const auto before = std::chrono::steady_clock::now();
    const int fd = connect_loopback(r.port, "127.0.0.9");
    if (fd >= 0 && send_all(fd, http_request("POST", "/v2/models/pima/infer", infer_body(1), r.tokens[0]))) {
      const HttpAnswer a = read_answer(fd, std::chrono::milliseconds(1000));
      answered += a.status == 200 && std::chrono::steady_clock::now() - before < std::chrono::seconds(1);
    }
    if (fd >= 0) ::close(fd);
    std::this_thread::sleep_for(std::chrono::milliseconds(40));
  }
  done = true;
  attacker.join();
  std::printf("legitimate requests answered within a second: %d of %d, against %d trickling connections made\n",
              answered, kRequests, reconnects.load());
  EXPECT_GE(answered, kRequests * 9 / 10) << reconnects.load() << " attacking connections made";
  EXPECT_GT(reconnects.load(), 256);  // the attack did fill the cap
}

// A client's kept-alive connection that already presented a valid token is not shed to make
// room for a flood of connections that never authenticate.
TEST(Serve, AnAuthenticatedKeptAliveConnectionOutlastsAFloodOfIdleOnes) {
  ServerOptions options;
  options.max_connections = 64;
  options.max_connections_per_address = 1000;
  Running r = start({{}}, "full", options);
  const int kept = connect_loopback(r.port, "127.0.0.9");
  const std::string request = http_request("POST", "/v2/models/pima/infer", infer_body(1), r.tokens[0]);
  ASSERT_TRUE(send_all(kept, request));
  ASSERT_EQ(read_answer(kept).status, 200);
  std::vector<int> idle;
  for (int i = 0; i < 300; ++i) idle.push_back(connect_loopback(r.port, "127.0.2.1"));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  ASSERT_TRUE(send_all(kept, request));
  EXPECT_EQ(read_answer(kept).status, 200);
  ::close(kept);
  for (int fd : idle)
    if (fd >= 0) ::close(fd);
}

// Between kept-alive requests a connection may idle for the idle timeout; once the next
// request's first byte arrives, its header has the header deadline, not what is left of
// the idle timeout.
TEST(Serve, AKeptAliveConnectionsNextHeaderHasTheHeaderDeadline) {
  ServerOptions options;
  options.header_timeout = std::chrono::milliseconds(600);
  options.idle_timeout = std::chrono::milliseconds(6000);
  Running r = start({{}}, "full", options);
  const std::string request = http_request("GET", "/v2/models/pima/ready", "", r.tokens[0]);
  const int fd = connect_loopback(r.port);
  ASSERT_TRUE(send_all(fd, request));
  ASSERT_EQ(read_answer(fd).status, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(900));  // idle past the header deadline: allowed
  ASSERT_TRUE(send_all(fd, request));
  ASSERT_EQ(read_answer(fd).status, 200);
  ASSERT_TRUE(send_all(fd, "GET /v2 HTTP/1.1\r\nHost: x\r\n"));  // a header begun and never finished
  const auto begun = std::chrono::steady_clock::now();
  EXPECT_TRUE(closes_without_more(fd, std::chrono::milliseconds(3000)));
  EXPECT_LT(std::chrono::steady_clock::now() - begun, std::chrono::milliseconds(1500));
  ::close(fd);
}

// An empty batch is a client's mistake, answered 400 naming the shape, not 500.
TEST(Serve, ARequestOfZeroRowsIsABadRequest) {
  Running r = start({{}});
  const HttpAnswer answer = http_exchange(
      r.port, http_request("POST", "/v2/models/pima/infer",
                           R"({"inputs": [{"name": "features", "datatype": "FP32", "shape": [0, 8], "data": []}]})",
                           r.tokens[0]));
  EXPECT_EQ(answer.status, 400) << answer.body;
  EXPECT_NE(answer.body.find("at least one row"), std::string::npos) << answer.body;
  EXPECT_NE(answer.body.find("[0,8]"), std::string::npos) << answer.body;
}

// Bodies held at once are bounded across all connections: with room for four bodies of the
// limit, a fifth and sixth announced while four are being sent are answered 503 with
// Retry-After at once, unread; the four then finish and are answered, and the room comes back.
TEST(Serve, BodiesInFlightAreBoundedServerWide) {
  ServerOptions options;
  options.max_body_bytes = 64 << 10;
  options.max_body_memory = 256 << 10;
  Running r = start({{}}, "full", options);
  std::string body = infer_body(1);
  body.resize(64 << 10, ' ');  // valid JSON, padded to the limit
  const std::string head = "POST /v2/models/pima/infer HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + r.tokens[0] +
                           "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
                           "\r\n\r\n";
  std::vector<int> sending;
  for (int i = 0; i < 4; ++i) {
    sending.push_back(connect_loopback(r.port));
    ASSERT_TRUE(send_all(sending.back(), head + body.substr(0, body.size() / 2)));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  for (int i = 0; i < 2; ++i) {
    const int fd = connect_loopback(r.port);
    send_all(fd, head);
    const HttpAnswer busy = read_answer(fd, std::chrono::milliseconds(3000));
    EXPECT_EQ(busy.status, 503) << busy.body;
    EXPECT_EQ(busy.header("Retry-After"), "1");
    EXPECT_TRUE(closes_without_more(fd));
    ::close(fd);
  }
  for (int fd : sending) {
    ASSERT_TRUE(send_all(fd, body.substr(body.size() / 2)));
    EXPECT_EQ(read_answer(fd).status, 200);
    ::close(fd);
  }
  EXPECT_EQ(http_exchange(r.port, head + body).status, 200);
  const std::string page = http_exchange(r.port, http_request("GET", "/metrics", "", r.tokens[0])).body;
  EXPECT_NE(page.find("citadel_request_body_bytes_in_flight 0\n"), std::string::npos) << page;
  EXPECT_NE(page.find("citadel_rejections_total{reason=\"body_memory\"} 2"), std::string::npos) << page;
}

}  // namespace server_test
