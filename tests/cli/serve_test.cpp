// `citadel token` and `citadel serve` as a user runs them: tokens shown once and stored as
// hashes (0600), and a server that refuses to start unprotected.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <csignal>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>
#include <vector>

#include "citadel/data/csv.hpp"
#include "citadel/io/model_file.hpp"
#include "citadel/io/saved_model.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/layers/merge.hpp"
#include "cli_runner.hpp"
#include "http_client.hpp"
#include "server_process.hpp"

namespace serve_test {

using namespace citadel::testkit;
namespace fs = std::filesystem;

TEST(ServeCli, TokensAreShownOnceAndStoredAsHashes) {
  const fs::path tokens = scratch_directory() / "tokens.json";
  fs::remove(tokens);
  const CliResult added = run_cli("token add --tokens " + tokens.string() + " --name alice --rows-budget 100 --rate 5");
  ASSERT_EQ(added.exit_code, 0) << added.err;
  const std::string token = added.out.substr(0, added.out.find('\n'));
  EXPECT_EQ(token.rfind("ctd_", 0), 0u) << token;
  EXPECT_EQ(token.size(), 4u + 43u);  // 32 random bytes, base64url
  const std::string stored = read_file(tokens);
  EXPECT_EQ(stored.find(token.substr(4)), std::string::npos);  // only its hash is written
  const auto json = nlohmann::json::parse(stored);
  EXPECT_EQ(json["tokens"][0]["name"], "alice");
  EXPECT_EQ(json["tokens"][0]["rows_budget"], 100);
  EXPECT_EQ(json["tokens"][0]["hash"].get<std::string>().size(), 64u);
  struct stat info {};
  ASSERT_EQ(::stat(tokens.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  // A second token differs; a duplicate name is refused; list never prints a token.
  const CliResult second = run_cli("token add --tokens " + tokens.string() + " --name bob");
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_NE(second.out, added.out);
  EXPECT_NE(run_cli("token add --tokens " + tokens.string() + " --name alice").exit_code, 0);
  EXPECT_NE(run_cli("token add --tokens " + tokens.string() + " --name 'a b'").exit_code, 0);
  const CliResult list = run_cli("token list --tokens " + tokens.string());
  EXPECT_NE(list.out.find("alice"), std::string::npos);
  EXPECT_EQ(list.out.find("ctd_"), std::string::npos);
  // Numbers as a person writes them: a rate of 5 per second, not 5.000000.
  EXPECT_NE(list.out.find("rate 5/s"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("rows budget 100 "), std::string::npos) << list.out;
  EXPECT_EQ(list.out.find(".000"), std::string::npos) << list.out;
  ASSERT_EQ(run_cli("token revoke --tokens " + tokens.string() + " --name bob").exit_code, 0);
  EXPECT_NE(run_cli("token list --tokens " + tokens.string()).out.find("revoked"), std::string::npos);
  EXPECT_NE(run_cli("token revoke --tokens " + tokens.string() + " --name carol").exit_code, 0);
}

TEST(ServeCli, RefusesToStartUnprotected) {
  const fs::path model = scratch_directory() / "serve_model.safetensors";
  ASSERT_EQ(run_cli("train --verbose 0 --epochs 2 --save " + model.string()).exit_code, 0);
  const CliResult no_tokens = run_cli("serve --model " + model.string() + " --allow-unsigned --port 0");
  EXPECT_NE(no_tokens.exit_code, 0);
  EXPECT_NE(no_tokens.err.find("--tokens"), std::string::npos) << no_tokens.err;
  const CliResult exposed = run_cli("serve --model " + model.string() + " --no-auth --host 0.0.0.0 --allow-unsigned");
  EXPECT_NE(exposed.exit_code, 0);
  EXPECT_NE(exposed.err.find("loopback only"), std::string::npos) << exposed.err;
  const CliResult unsigned_model = run_cli("serve --model " + model.string() + " --no-auth --port 0");
  EXPECT_NE(unsigned_model.exit_code, 0);
  EXPECT_NE(unsigned_model.err.find("--pubkey"), std::string::npos) << unsigned_model.err;
  // With a key, an unsigned model is refused before it is parsed.
  const fs::path pub = scratch_directory() / "serve.pub", key = scratch_directory() / "serve.key";
  ASSERT_EQ(run_cli("keygen --force --public " + pub.string() + " --secret " + key.string()).exit_code, 0);
  const CliResult refused = run_cli("serve --model " + model.string() + " --no-auth --port 0 --pubkey " + pub.string());
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("signature"), std::string::npos) << refused.err;
  // ... naming the fix.
  EXPECT_NE(refused.err.find("citadel sign " + model.string() + " --key "), std::string::npos) << refused.err;
  const CliResult policy = run_cli("serve --model " + model.string() + " --no-auth --allow-unsigned --output-policy top3");
  EXPECT_NE(policy.err.find("unknown output policy 'top3'"), std::string::npos) << policy.err;
  for (const char* w : {"1.5", "serve_model=abc", "0"}) {
    const CliResult alarm = run_cli("serve --model " + model.string() + " --no-auth --allow-unsigned --port 0 "
                                    "--extraction-alarm-below " + w);
    EXPECT_NE(alarm.exit_code, 0) << w;
    EXPECT_NE(alarm.err.find("--extraction-alarm-below"), std::string::npos) << alarm.err;
  }
  const CliResult blind = run_cli("serve --model " + model.string() +
                                  " --no-auth --allow-unsigned --port 0 --no-extraction-monitor --block-on-alarm");
  EXPECT_NE(blind.err.find("--block-on-alarm needs the extraction monitor"), std::string::npos) << blind.err;
}

// The server as a process: it says where it listens, answers, reloads on SIGHUP (keeping the
// verified model when the file was tampered with), and exits 0 on SIGTERM.
TEST(ServeCli, ServesReloadsOnSighupAndStopsOnSigterm) {
  const fs::path model = scratch_directory() / "signals.safetensors", tokens = scratch_directory() / "signals.json";
  const fs::path pub = scratch_directory() / "signals.pub", key = scratch_directory() / "signals.key";
  const fs::path log = scratch_directory() / "signals.log";
  fs::remove(tokens);
  ASSERT_EQ(run_cli("train --verbose 0 --epochs 5 --save " + model.string()).exit_code, 0);
  ASSERT_EQ(run_cli("keygen --force --public " + pub.string() + " --secret " + key.string()).exit_code, 0);
  ASSERT_EQ(run_cli("sign " + model.string() + " --key " + key.string()).exit_code, 0);
  const CliResult added = run_cli("token add --tokens " + tokens.string() + " --name ops");
  const std::string token = added.out.substr(0, added.out.find('\n'));

  ServerProcess server(CITADEL_BINARY, "--model pima=" + model.string() + " --tokens " + tokens.string() + " --pubkey " + pub.string(),
                       log);
  const uint16_t port = server.port();
  ASSERT_GT(port, 0) << read_file(log);
  auto infer = [&] {
    return http_exchange(port,
                         http_request("POST", "/v2/models/pima/infer",
                                      R"({"inputs": [{"name": "features", "datatype": "FP32", "shape": [1, 8],)"
                                      R"( "data": [6, 148, 72, 35, 0, 33.6, 0.627, 50]}]})",
                                      token));
  };
  const HttpAnswer before = infer();
  EXPECT_EQ(before.status, 200) << before.body;
  std::string bytes = read_file(model);
  bytes[bytes.size() - 3] ^= 0x10;
  std::ofstream(model, std::ios::binary | std::ios::trunc) << bytes;
  ::kill(server.pid(), SIGHUP);
  for (int i = 0; i < 100 && read_file(log).find("\"reload\"") == std::string::npos; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_NE(read_file(log).find("\"result\":\"failed\""), std::string::npos) << read_file(log);
  const HttpAnswer after = infer();
  EXPECT_EQ(after.status, 200);
  EXPECT_EQ(after.body, before.body);
  const int status = server.stop(SIGTERM);
  EXPECT_TRUE(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_NE(read_file(log).find("serve: stopped"), std::string::npos);
  EXPECT_EQ(read_file(log).find(token), std::string::npos);  // the log never holds the token
}

namespace {

const fs::path& trained_model() {
  static const fs::path model = [] {
    const fs::path path = scratch_directory() / "served.safetensors";
    const CliResult trained = run_cli("train --verbose 0 --epochs 3 --save " + path.string());
    EXPECT_EQ(trained.exit_code, 0) << trained.err;
    return path;
  }();
  return model;
}

std::string add_token(const fs::path& tokens, const std::string& name, const std::string& policy = "") {
  const CliResult added = run_cli("token add --tokens " + tokens.string() + " --name " + name + " " + policy);
  EXPECT_EQ(added.exit_code, 0) << added.err;
  return added.out.substr(0, added.out.find('\n'));
}

std::string one_row_request(const std::string& token, int rows = 1) {
  std::string data;
  for (int r = 0; r < rows; ++r) data += std::string(r ? ", " : "") + "[6, 148, 72, 35, 0, 33.6, 0.627, 50]";
  return http_request("POST", "/v2/models/pima/infer",
                      R"({"inputs": [{"name": "features", "datatype": "FP32", "shape": [)" + std::to_string(rows) +
                          R"(, 8], "data": [)" + data + "]}]}",
                      token);
}

}  // namespace

// Requests a token passed but that named no model or the wrong method are logged with
// that token's name (never the token), as every other authenticated request is.
TEST(ServeCli, RefusedAuthenticatedRequestsAreLoggedWithTheTokensName) {
  const fs::path tokens = scratch_directory() / "log_tokens.json";
  fs::remove(tokens);
  const std::string token = add_token(tokens, "ops");
  ServerProcess server(CITADEL_BINARY, "--model pima=" + trained_model().string() + " --tokens " + tokens.string() + " --allow-unsigned",
                       scratch_directory() / "log_tokens.log");
  ASSERT_GT(server.port(), 0) << server.log();
  EXPECT_EQ(http_exchange(server.port(), http_request("GET", "/v2/models/nothing", "", token)).status, 404);
  EXPECT_EQ(http_exchange(server.port(), http_request("GET", "/v9", "", token)).status, 404);
  EXPECT_EQ(http_exchange(server.port(), http_request("POST", "/v2", "{}", token)).status, 405);
  EXPECT_EQ(http_exchange(server.port(), http_request("GET", "/v2/models/pima/infer", "", token)).status, 405);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const std::string log = server.log();
  int refused = 0;
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("\"status\":404") == std::string::npos && line.find("\"status\":405") == std::string::npos) continue;
    ++refused;
    EXPECT_NE(line.find("\"token\":\"ops\""), std::string::npos) << line;
  }
  EXPECT_EQ(refused, 4) << log;
  EXPECT_EQ(log.find(token), std::string::npos);
}

// A budget holds across crashes: many clients spend a token's budget of 1,000 rows while
// the server is killed (SIGKILL) at random moments and restarted, several times. Counting
// only the rows of answers the clients received in full, no more than 1,000 are ever answered.
TEST(ServeCli, ABudgetIsNeverExceededAcrossCrashes) {
  const fs::path tokens = scratch_directory() / "crash_tokens.json";
  fs::remove(tokens);
  fs::remove(tokens.string() + ".usage");
  fs::remove(tokens.string() + ".usage.log");
  const std::string token = add_token(tokens, "metered", "--rows-budget 1000");
  std::mt19937 random(29);
  int64_t answered_rows = 0, refused = 0;
  for (int cycle = 0; cycle < 6; ++cycle) {
    ServerProcess server(CITADEL_BINARY, "--model pima=" + trained_model().string() + " --tokens " + tokens.string() +
                             " --allow-unsigned --no-log",
                         scratch_directory() / "crash.log");
    ASSERT_GT(server.port(), 0) << server.log();
    std::atomic<int64_t> rows{0}, refusals{0};
    std::atomic<bool> stop{false};
    std::vector<std::thread> clients;
    for (int c = 0; c < 12; ++c)
      clients.emplace_back([&, c] {
        const int per_request = 1 + c % 3;
        const std::string request = one_row_request(token, per_request);
        while (!stop) {
          const int fd = connect_loopback(server.port());
          if (fd < 0) return;
          // Kept alive until the server goes away; only answers read in full are counted.
          while (!stop && send_all(fd, request)) {
            const HttpAnswer answer = read_answer(fd, std::chrono::milliseconds(2000));
            if (answer.status == 200) rows += per_request;
            else if (answer.status == 429) ++refusals;
            else break;
            std::this_thread::sleep_for(std::chrono::milliseconds(3));
          }
          ::close(fd);
        }
      });
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(80, 400)(random)));
    server.kill();
    stop = true;
    for (auto& client : clients) client.join();
    answered_rows += rows.load();
    refused += refusals.load();
  }
  std::printf("rows answered across 6 SIGKILL restarts: %lld (budget 1000); %lld requests refused 429\n",
              static_cast<long long>(answered_rows), static_cast<long long>(refused));
  EXPECT_LE(answered_rows, 1000);
  EXPECT_GT(answered_rows, 500);  // the load did spend the budget while the server was being killed
  EXPECT_GT(refused, 0);
}

// Bodies from clients without a valid token are never read, bodies with one are held only
// within the server-wide budget for bodies in flight, and the memory comes back once they
// are gone: the server's peak and after-close resident memory stay bounded.
TEST(ServeCli, HostileBodiesHoldBoundedMemoryThatIsGivenBack) {
  const fs::path tokens = scratch_directory() / "memory_tokens.json";
  fs::remove(tokens);
  const std::string token = add_token(tokens, "heavy");
  ServerProcess server(CITADEL_BINARY, "--model pima=" + trained_model().string() + " --tokens " + tokens.string() +
                           " --allow-unsigned --no-log --max-body 1048576 --max-connections-per-client 100",
                       scratch_directory() / "memory.log");
  ASSERT_GT(server.port(), 0) << server.log();
  for (int i = 0; i < 50; ++i)
    ASSERT_EQ(http_exchange(server.port(), one_row_request(token)).status, 200);
  const double baseline = server.memory_mib("VmRSS");
  // Each connection announces a body at the limit and sends all of it but its last byte, as
  // fast as the server takes it (all at once, on non-blocking sockets, for at most 3 s).
  const std::string body(1048576 - 1, ' ');
  struct Pending {
    int fd;
    std::string bytes;
    size_t sent = 0;
  };
  std::vector<Pending> held;
  auto open = [&](const std::string& auth, const std::string& source) {
    const int fd = connect_loopback(server.port(), source.c_str());
    if (fd < 0) return;
    ::fcntl(fd, F_SETFL, O_NONBLOCK);
    held.push_back({fd, "POST /v2/models/pima/infer HTTP/1.1\r\nHost: x\r\n" + auth +
                            "Content-Type: application/json\r\nContent-Length: 1048576\r\n\r\n" + body});
  };
  for (int i = 0; i < 180; ++i)  // 60 from each of 3 addresses, without a valid token
    open(i % 2 ? "Authorization: Bearer ctd_wrong\r\n" : "", "127.0.3." + std::to_string(1 + i % 3));
  for (int i = 0; i < 80; ++i) open("Authorization: Bearer " + token + "\r\n", "127.0.4.1");
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  for (size_t busy = held.size(); busy > 0 && std::chrono::steady_clock::now() < until;) {
    busy = 0;
    for (Pending& p : held) {
      if (p.sent >= p.bytes.size()) continue;
      const ssize_t n = ::send(p.fd, p.bytes.data() + p.sent, p.bytes.size() - p.sent, MSG_NOSIGNAL);
      if (n > 0) p.sent += size_t(n);
      else if (errno != EAGAIN && errno != EWOULDBLOCK) p.sent = p.bytes.size();  // refused and closed
      busy += p.sent < p.bytes.size();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const double peak = server.memory_mib("VmHWM");
  for (const Pending& p : held) ::close(p.fd);
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // the allocator's purge after the load
  const double after = server.memory_mib("VmRSS");
  EXPECT_EQ(http_exchange(server.port(), one_row_request(token)).status, 200);  // still serving
  std::printf("resident memory: %.1f MiB before, peak %.1f MiB, %.1f MiB after the connections closed\n", baseline,
              peak, after);
  EXPECT_LT(peak - baseline, 48.0) << "260 bodies of 1 MiB announced";
#if !defined(__SANITIZE_ADDRESS__)  // ASan's quarantine keeps freed memory on purpose
  EXPECT_LT(after - baseline, 12.0);
#endif
}

// Models of several inputs as `citadel serve` loads them: one trained by the CLI on two
// column groups answers on its columns what its file predicts; a graph model of two inputs
// and two outputs saved without a schema answers on its own Inputs and outputs.
TEST(ServeCli, ServesModelsOfSeveralInputs) {
  std::string csv = "x1,shade,x2,label\n";
  for (int i = 0; i < 60; ++i) {
    const int x1 = i % 10 - 5, x2 = (i * 7) % 11 - 5;
    csv += std::to_string(x1) + "," + (i % 3 == 0 ? "dark" : "light") + "," + std::to_string(x2) + "," +
           (x1 + x2 + (i % 3 == 0 ? 4 : -2) > 0 ? "yes" : "no") + "\n";
  }
  const fs::path data = write_scratch_file("serve_shades.csv", csv);
  const fs::path config = write_scratch_file("serve_two_inputs.json", R"({"class_name": "Functional", "config": {"name": "two_inputs", "layers": [
    {"class_name": "InputLayer", "name": "numeric", "config": {"batch_input_shape": [null, 2], "name": "numeric"}, "inbound_nodes": []},
    {"class_name": "InputLayer", "name": "shade", "config": {"batch_input_shape": [null, 2], "name": "shade"}, "inbound_nodes": []},
    {"class_name": "Dense", "name": "n", "config": {"name": "n", "units": 4, "activation": "relu"}, "inbound_nodes": [[["numeric", 0, 0, {}]]]},
    {"class_name": "Dense", "name": "c", "config": {"name": "c", "units": 3}, "inbound_nodes": [[["shade", 0, 0, {}]]]},
    {"class_name": "Concatenate", "name": "both", "config": {"name": "both", "axis": -1}, "inbound_nodes": [[["n", 0, 0, {}], ["c", 0, 0, {}]]]},
    {"class_name": "Dense", "name": "out", "config": {"name": "out", "units": 1, "activation": "sigmoid"}, "inbound_nodes": [[["both", 0, 0, {}]]]}],
    "input_layers": [["numeric", 0, 0], ["shade", 0, 0]], "output_layers": [["out", 0, 0]]}})");
  const fs::path shades = scratch_directory() / "serve_shades.safetensors";
  const CliResult trained = run_cli("train --verbose 0 --epochs 5 --categorical shade --data " + data.string() +
                                    " --model-config " + config.string() + " --save " + shades.string());
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  // A graph model of two inputs and two outputs, saved by the library without a schema.
  const fs::path heads = scratch_directory() / "serve_heads.safetensors";
  {
    using namespace citadel;
    const SymbolicTensor a = Input({3}, {.name = "a"}), b = Input({2}, {.name = "b"});
    const SymbolicTensor joined = Concatenate()({Dense(4, {.activation = "tanh"})(a), Dense(4)(b)});
    Model model({a, b}, {Dense(1, {.activation = "sigmoid"}).named("p")(joined), Dense(2).named("q")(joined)});
    save_model(model, heads.string());
  }
  ServerProcess server(CITADEL_BINARY, "--no-auth --allow-unsigned --no-log --model shades=" + shades.string() + " --model heads=" +
                           heads.string(), scratch_directory() / "serve_several.log");
  ASSERT_GT(server.port(), 0) << server.log();

  // The CLI model: its columns in, what `predict_rows` gives for them out, bit for bit.
  const nlohmann::json metadata =
      nlohmann::json::parse(http_exchange(server.port(), http_request("GET", "/v2/models/shades")).body);
  EXPECT_EQ(metadata["inputs"], nlohmann::json::parse(R"([{"name": "features", "datatype": "FP32", "shape": [-1, 2]},
                                                           {"name": "shade", "datatype": "BYTES", "shape": [-1]}])"));
  EXPECT_EQ(metadata["parameters"]["input_columns"],
            nlohmann::json::parse(R"({"numeric": ["x1", "x2"], "shade": ["shade"]})"));
  const HttpAnswer answer = http_exchange(
      server.port(), http_request("POST", "/v2/models/shades/infer",
                                  R"({"inputs": [{"name": "features", "datatype": "FP32", "shape": [2, 2], "data": [3, -1, -4, 2]},)"
                                  R"( {"name": "shade", "datatype": "BYTES", "shape": [2], "data": ["dark", "light"]}]})"));
  ASSERT_EQ(answer.status, 200) << answer.body;
  const citadel::RowPredictions expected = citadel::load_saved_model(shades.string())
      .predict_rows(citadel::parse_csv("x1,shade,x2\n3,dark,-1\n-4,light,2\n", "rows"));
  const nlohmann::json outputs = nlohmann::json::parse(answer.body)["outputs"];
  ASSERT_EQ(outputs[0]["name"], "probabilities");
  ASSERT_EQ(outputs[0]["data"].size(), 4u);
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(outputs[0]["data"][i].get<float>(), expected.probabilities[int64_t(i)]) << i;
  EXPECT_EQ(outputs[1]["data"], nlohmann::json(expected.labels));

  // The tensor model: both inputs by name, both outputs by name, a missing input a 400.
  const nlohmann::json heads_metadata =
      nlohmann::json::parse(http_exchange(server.port(), http_request("GET", "/v2/models/heads")).body);
  EXPECT_EQ(heads_metadata["inputs"][1], nlohmann::json::parse(R"({"name": "b", "datatype": "FP32", "shape": [-1, 2]})"));
  EXPECT_EQ(heads_metadata["outputs"][1], nlohmann::json::parse(R"({"name": "q", "datatype": "FP32", "shape": [-1, 2]})"));
  const std::string a = R"({"name": "a", "datatype": "FP32", "shape": [1, 3], "data": [0.5, -1, 2]})";
  const HttpAnswer both = http_exchange(
      server.port(), http_request("POST", "/v2/models/heads/infer",
                                  R"({"inputs": [)" + a + R"(, {"name": "b", "datatype": "FP32", "shape": [1, 2], "data": [1, 0.25]}]})"));
  ASSERT_EQ(both.status, 200) << both.body;
  const nlohmann::json answered = nlohmann::json::parse(both.body)["outputs"];
  ASSERT_EQ(answered.size(), 2u);
  EXPECT_EQ(answered[0]["name"], "p");
  EXPECT_EQ(answered[1]["shape"], nlohmann::json::parse("[1, 2]"));
  const HttpAnswer missing =
      http_exchange(server.port(), http_request("POST", "/v2/models/heads/infer", R"({"inputs": [)" + a + "]}"));
  EXPECT_EQ(missing.status, 400);
  EXPECT_NE(missing.body.find("input 'b' is missing"), std::string::npos) << missing.body;
  // A ranking policy on a model with a one-unit output is refused at startup, naming both.
  const CliResult topk = run_cli("serve --no-auth --allow-unsigned --port 0 --output-policy topk:1 --model " +
                                 heads.string());
  EXPECT_NE(topk.exit_code, 0);
  EXPECT_NE(topk.err.find("--output-policy topk:1: output 'p' of model 'serve_heads'"), std::string::npos) << topk.err;
}

// --smoothing as a user gives it: what it cannot serve is refused before listening, naming
// the flag (and the model); what it can is served smoothed, under the label policy.
TEST(ServeCli, SmoothingRefusesWhatItCannotServeNamingTheFlag) {
  const fs::path model = scratch_directory() / "smooth.safetensors", numbers = scratch_directory() / "smooth_mse.safetensors";
  ASSERT_EQ(run_cli("train --verbose 0 --epochs 2 --save " + model.string()).exit_code, 0);
  ASSERT_EQ(run_cli("train --verbose 0 --epochs 2 --loss mse --save " + numbers.string()).exit_code, 0);
  const std::string serve = "serve --no-auth --allow-unsigned --port 0 --model pima=" + model.string() + " ";
  for (const auto& [flags, expected] : std::vector<std::pair<std::string, std::string>>{
           {"--smoothing 0,100", "--smoothing pima=0,100: SIGMA must be positive"},
           {"--smoothing 0.25,5", "N must be from 11 to 100000"},
           {"--smoothing 0.25,1000 --smoothing-alpha 0.9", "alpha (--smoothing-alpha) must lie in (0, 0.5]"},
           {"--smoothing 0.25", "expected SIGMA,N"},
           {"--smoothing-alpha 0.01", "--smoothing-alpha is the level of --smoothing"},
           {"--smoothing other=0.25,100", "--smoothing other=0.25,100: no model named 'other' is served"},
           {"--smoothing 0.25,100 --smoothing-alpha other=0.01", "--smoothing-alpha other=0.01: no model named 'other'"},
           {"--smoothing 0.25,100 --output-policy full", "is served under --output-policy full"},
           {"--smoothing 0.25,20000", "more than --max-rows 10000"}}) {
    const CliResult refused = run_cli(serve + flags);
    EXPECT_NE(refused.exit_code, 0) << flags;
    EXPECT_NE(refused.err.find(expected), std::string::npos) << flags << "\n" << refused.err;
    EXPECT_EQ(refused.err.find("listening"), std::string::npos) << flags;
  }
  const CliResult regression = run_cli("serve --no-auth --allow-unsigned --port 0 --model amount=" + numbers.string() +
                                       " --smoothing 0.25,100");
  EXPECT_NE(regression.exit_code, 0);
  EXPECT_NE(regression.err.find("--smoothing amount=0.25,100: model 'amount' predicts numbers"), std::string::npos)
      << regression.err;

  // Accepted: one model smoothed (by name, at its own level), the other served as before.
  ServerProcess server(CITADEL_BINARY, "--no-auth --allow-unsigned --model pima=" + model.string() + " --model plain=" +
                           model.string() + " --smoothing pima=0.5,200 --smoothing-alpha pima=0.01",
                       scratch_directory() / "smooth.log");
  ASSERT_GT(server.port(), 0) << server.log();
  const auto metadata = nlohmann::json::parse(http_exchange(server.port(), http_request("GET", "/v2/models/pima")).body);
  EXPECT_EQ(metadata["parameters"]["output_policy"], "label");
  EXPECT_EQ(metadata["parameters"]["smoothing"], nlohmann::json::parse(R"({"sigma":0.5,"n":200,"alpha":0.01})"));
  const std::string rows = R"({"inputs": [{"name": "features", "datatype": "FP32", "shape": [1, 8],)"
                           R"( "data": [6, 148, 72, 35, 0, 33.6, 0.627, 50]}]})";
  const HttpAnswer smoothed = http_exchange(server.port(), http_request("POST", "/v2/models/pima/infer", rows));
  ASSERT_EQ(smoothed.status, 200) << smoothed.body;
  const auto outputs = nlohmann::json::parse(smoothed.body)["outputs"];
  ASSERT_EQ(outputs.size(), 2u) << smoothed.body;
  EXPECT_EQ(outputs[0]["name"], "label");
  EXPECT_EQ(outputs[1]["name"], "abstained");
  const HttpAnswer plain = http_exchange(server.port(), http_request("POST", "/v2/models/plain/infer", rows));
  ASSERT_EQ(plain.status, 200) << plain.body;
  EXPECT_EQ(nlohmann::json::parse(plain.body)["outputs"][0]["name"], "probabilities");
}

// --strip as a user gives it: what it cannot screen is refused before listening, naming the
// flag (and the model); what it can is calibrated at start (the threshold logged) and screened.
TEST(ServeCli, StripRefusesWhatItCannotScreenAndCalibratesWhatItCan) {
  const fs::path model = scratch_directory() / "strip.safetensors", numbers = scratch_directory() / "strip_mse.safetensors";
  ASSERT_EQ(run_cli("train --verbose 0 --epochs 2 --save " + model.string()).exit_code, 0);
  ASSERT_EQ(run_cli("train --verbose 0 --epochs 2 --loss mse --save " + numbers.string()).exit_code, 0);
  const std::string clean = std::string(" --strip-clean ") + CITADEL_PIMA_CSV;
  const std::string serve = "serve --no-auth --allow-unsigned --port 0 --model pima=" + model.string() + " ";
  for (const auto& [flags, expected] : std::vector<std::pair<std::string, std::string>>{
           {"--strip 0" + clean, "--strip pima=0: N must be from 1 to 1000"},
           {"--strip 1001" + clean, "N must be from 1 to 1000"},
           {"--strip ten" + clean, "expected N"},
           {"--strip 20", "--strip pima=20: give --strip-clean DATA"},
           {"--strip-clean x.csv", "--strip-clean and --strip-frr set up --strip"},
           {"--strip 20 --strip-frr 0.7" + clean, "(--strip-frr) must lie in (0, 0.5]"},
           {"--strip other=20" + clean, "--strip other=20: no model named 'other' is served"},
           {"--strip 20 --strip-clean fashion-mnist", "model 'pima' reads CSV rows, not images"},
           {"--strip 20 --smoothing 0.25,100" + clean, "also served with --smoothing"},
           {"--strip 600 --max-rows 500" + clean, "more than --max-rows 500"},
           {"--strip 700 --strip-frr 0.01" + clean, "need at least 800"}}) {
    const CliResult refused = run_cli(serve + flags);
    EXPECT_NE(refused.exit_code, 0) << flags;
    EXPECT_NE(refused.err.find(expected), std::string::npos) << flags << "\n" << refused.err;
    EXPECT_EQ(refused.err.find("listening"), std::string::npos) << flags;
  }
  const CliResult regression = run_cli("serve --no-auth --allow-unsigned --port 0 --model amount=" + numbers.string() +
                                       " --strip 20" + clean);
  EXPECT_NE(regression.exit_code, 0);
  EXPECT_NE(regression.err.find("--strip amount=20: model 'amount' predicts numbers"), std::string::npos)
      << regression.err;

  ServerProcess server(CITADEL_BINARY, "--no-auth --allow-unsigned --model pima=" + model.string() + " --model plain=" +
                           model.string() + " --strip pima=20 --strip-frr pima=0.02 --strip-clean pima=" +
                           CITADEL_PIMA_CSV,
                       scratch_directory() / "strip.log");
  ASSERT_GT(server.port(), 0) << server.log();
  EXPECT_NE(server.log().find("\"event\":\"strip_calibrated\""), std::string::npos) << server.log();
  EXPECT_NE(server.log().find("\"threshold_bits\""), std::string::npos) << server.log();
  const auto metadata = nlohmann::json::parse(http_exchange(server.port(), http_request("GET", "/v2/models/pima")).body);
  EXPECT_EQ(metadata["parameters"]["strip"], nlohmann::json::parse(R"({"n":20,"false_rejection_rate":0.02})"));
  const std::string rows = R"({"inputs": [{"name": "features", "datatype": "FP32", "shape": [1, 8],)"
                           R"( "data": [6, 148, 72, 35, 0, 33.6, 0.627, 50]}]})";
  // A clean row is answered unless it is among the ~2 % the calibration lets through as refused.
  const HttpAnswer screened = http_exchange(server.port(), http_request("POST", "/v2/models/pima/infer", rows));
  EXPECT_TRUE(screened.status == 200 || screened.status == 422) << screened.body;
  const std::string metrics = http_exchange(server.port(), http_request("GET", "/metrics")).body;
  EXPECT_NE(metrics.find(screened.status == 200 ? "citadel_strip_rows_total{model=\"pima\",result=\"passed\"} 1"
                                                 : "citadel_strip_rows_total{model=\"pima\",result=\"flagged\"} 1"),
            std::string::npos) << metrics;
  EXPECT_EQ(metrics.find("citadel_strip_rows_total{model=\"plain\""), std::string::npos) << metrics;
  EXPECT_EQ(http_exchange(server.port(), http_request("POST", "/v2/models/plain/infer", rows)).status, 200);
}

}  // namespace serve_test
