// `citadel watermark` and `serve --watermark` run as a user runs them: a key made once (never
// replaced unasked), a server watermarking a 3-class model's answers into its log, killed with
// SIGKILL (the log holds whole lines only), the log tested against the model file (not claimed:
// it answers its own top labels) and against the restarted watermarking endpoint (claimed: it
// repeats its answers), with the exit codes, the report, and hostile logs, keys and flags refused
// naming the file, line or flag.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>

#include "cli_runner.hpp"
#include "http_client.hpp"
#include "server_process.hpp"

namespace watermark_test {

using namespace citadel::testkit;
namespace fs = std::filesystem;

namespace {

// Three classes by the first feature's third, four features.
fs::path three_class_model() {
  static const fs::path model = [] {
    std::mt19937 rng(1);
    std::normal_distribution<double> normal;
    std::ostringstream csv;
    csv << "a,b,c,d,label\n";
    for (int r = 0; r < 600; ++r) {
      double v[4];
      for (double& x : v) x = normal(rng);
      csv << v[0] << ',' << v[1] << ',' << v[2] << ',' << v[3] << ',' << (v[0] < -0.43 ? "low" : v[0] < 0.43 ? "mid" : "high")
          << '\n';
    }
    const fs::path data = write_scratch_file("three.csv", csv.str());
    const fs::path path = scratch_directory() / "three.safetensors";
    const CliResult trained = run_cli("train --verbose 0 --data " + data.string() + " --epochs 10 --save " + path.string());
    EXPECT_EQ(trained.exit_code, 0) << trained.err;
    return path;
  }();
  return model;
}

std::string request_of(int rows, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  std::string data;
  for (int i = 0; i < rows * 4; ++i) data += (i ? "," : "") + std::to_string(normal(rng));
  return http_request("POST", "/v2/models/three/infer",
                      R"({"inputs":[{"name":"features","datatype":"FP32","shape":[)" + std::to_string(rows) +
                          R"(,4],"data":[)" + data + "]}]}");
}

}  // namespace

TEST(WatermarkCli, ServedAnswersAreLoggedSurviveAKillAndAreVerified) {
  const fs::path key = scratch_directory() / "owner.key", log = scratch_directory() / "answers.log";
  const CliResult made = run_cli("watermark keygen --key " + key.string());
  ASSERT_EQ(made.exit_code, 0) << made.err;
  const CliResult again = run_cli("watermark keygen --key " + key.string());
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find(key.string()), std::string::npos) << again.err;
  const std::string serve = "--model three=" + three_class_model().string() + " --no-auth --allow-unsigned --watermark " +
                            key.string() + " --watermark-rate 0.2 --watermark-log " + log.string();
  {
    ServerProcess server(CITADEL_BINARY, serve, scratch_directory() / "wm_serve.log");
    ASSERT_GT(server.port(), 0) << server.log();
    for (uint32_t request = 0; request < 6; ++request)
      ASSERT_EQ(http_exchange(server.port(), request_of(50, request)).status, 200);
    server.kill();  // SIGKILL: no orderly close of the log
  }
  const std::string text = read_file(log);
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  const size_t records = size_t(std::count(text.begin(), text.end(), '\n'));
  EXPECT_NEAR(double(records), 60.0, 30.0);  // 300 rows at 0.2

  // The model file answers its own top labels, never the watermark's: not claimed (exit 3).
  const fs::path report = scratch_directory() / "wm_report.json";
  const CliResult innocent = run_cli("watermark verify --log " + log.string() + " --suspect " +
                                     three_class_model().string() + " --report " + report.string());
  EXPECT_EQ(innocent.exit_code, 3) << innocent.out << innocent.err;
  EXPECT_NE(innocent.out.find("not claimed"), std::string::npos) << innocent.out;
  const nlohmann::json verdict = nlohmann::json::parse(read_file(report));
  EXPECT_EQ(verdict["matches"], 0);
  EXPECT_EQ(verdict["queries"], records);
  EXPECT_EQ(verdict["null_probability"], 0.5);
  EXPECT_EQ(verdict["claimed"], false);
  EXPECT_EQ(verdict["run"]["kind"], "watermark");

  // Restarted on the same log, the endpoint repeats each watermarked answer: claimed (exit 0),
  // and nothing is recorded twice.
  {
    ServerProcess server(CITADEL_BINARY, serve, scratch_directory() / "wm_serve2.log");
    ASSERT_GT(server.port(), 0) << server.log();
    const CliResult stolen = run_cli("watermark verify --log " + log.string() + " --suspect http://127.0.0.1:" +
                                     std::to_string(server.port()) + "/v2/models/three --max-queries 40");
    EXPECT_EQ(stolen.exit_code, 0) << stolen.out << stolen.err;
    EXPECT_NE(stolen.out.find("40 of 40"), std::string::npos) << stolen.out;
    EXPECT_NE(stolen.out.find("CLAIMED"), std::string::npos) << stolen.out;
  }
  EXPECT_EQ(read_file(log), text);

  // A log torn by a crash reads (the torn line counted); a damaged line is refused by line.
  std::ofstream(log, std::ios::app) << "{\"model\":\"three\",\"tok";
  const CliResult torn = run_cli("watermark verify --log " + log.string() + " --suspect " + three_class_model().string());
  EXPECT_EQ(torn.exit_code, 3) << torn.err;
  EXPECT_NE(torn.out.find("1 torn last line"), std::string::npos) << torn.out;
  std::string damaged = text;
  damaged[damaged.find('\n') + 3] = '#';
  const fs::path bad = write_scratch_file("damaged.log", damaged);
  const CliResult refused = run_cli("watermark verify --log " + bad.string() + " --suspect " + three_class_model().string());
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find(bad.string() + ":2"), std::string::npos) << refused.err;
}

TEST(WatermarkCli, BadKeysModelsAndFlagsAreRefusedNamingThem) {
  const fs::path key = scratch_directory() / "flags.key";
  ASSERT_EQ(run_cli("watermark keygen --key " + key.string()).exit_code, 0);
  const fs::path not_key = write_scratch_file("not.key", "citadel-ed25519-secret AAAA\n");
  const fs::path model = scratch_directory() / "pima.safetensors";
  ASSERT_EQ(run_cli("train --verbose 0 --epochs 1 --save " + model.string()).exit_code, 0);
  const std::string base = "serve --no-auth --allow-unsigned --port 0 --model three=" + three_class_model().string();
  for (const auto& [flags, wanted] : std::vector<std::pair<std::string, std::string>>{
           {" --watermark " + not_key.string() + " --watermark-log x.log", not_key.string() + ": not a watermark key"},
           {" --watermark-log x.log", "--watermark KEY"},
           {" --watermark " + key.string(), "--watermark-log FILE"},
           {" --watermark " + key.string() + " --watermark-log x.log --watermark-rate 0.9", "--watermark-rate"}}) {
    const CliResult r = run_cli(base + flags);
    EXPECT_EQ(r.exit_code, 1) << flags;
    EXPECT_NE(r.err.find(wanted), std::string::npos) << flags << ": " << r.err;
  }
  const CliResult two_classes = run_cli("serve --no-auth --allow-unsigned --port 0 --model " + model.string() +
                                        " --watermark " + key.string() + " --watermark-log " +
                                        (scratch_directory() / "two.log").string());
  EXPECT_EQ(two_classes.exit_code, 1);
  EXPECT_NE(two_classes.err.find("3 or more"), std::string::npos) << two_classes.err;
  const CliResult no_log = run_cli("watermark verify --log " + (scratch_directory() / "none.log").string() +
                                   " --suspect " + model.string());
  EXPECT_EQ(no_log.exit_code, 1);
  EXPECT_NE(no_log.err.find("none.log"), std::string::npos) << no_log.err;
}

}  // namespace watermark_test
