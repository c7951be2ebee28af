// `citadel token` and `citadel serve` as a user runs them: tokens shown once and stored as
// hashes (0600), and a server that refuses to start unprotected.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include <csignal>
#include <fstream>
#include <thread>

#include "cli_runner.hpp"
#include "http_client.hpp"

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

  const pid_t child = ::fork();
  if (child == 0) {
    const std::string command = std::string("exec ") + CITADEL_BINARY + " serve --model pima=" + model.string() +
                                " --tokens " + tokens.string() + " --pubkey " + pub.string() + " --port 0 2>" +
                                log.string();
    ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  struct KillOnExit {  // an early return must not leave a server holding CTest's pipe
    pid_t pid;
    ~KillOnExit() {
      if (::waitpid(pid, nullptr, WNOHANG) == 0) ::kill(pid, SIGKILL), ::waitpid(pid, nullptr, 0);
    }
  } guard{child};
  int port = 0;
  for (int i = 0; i < 200 && port == 0; ++i) {  // up to 10 s to start
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const std::string text = read_file(log);
    const size_t at = text.find("listening on 127.0.0.1:");
    if (at != std::string::npos) port = std::stoi(text.substr(at + 23));
  }
  ASSERT_GT(port, 0) << read_file(log);
  auto infer = [&] {
    return http_exchange(static_cast<uint16_t>(port),
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
  ::kill(child, SIGHUP);
  for (int i = 0; i < 100 && read_file(log).find("\"reload\"") == std::string::npos; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_NE(read_file(log).find("\"result\":\"failed\""), std::string::npos) << read_file(log);
  const HttpAnswer after = infer();
  EXPECT_EQ(after.status, 200);
  EXPECT_EQ(after.body, before.body);
  ::kill(child, SIGTERM);
  int status = 0;
  for (int i = 0; i < 200 && ::waitpid(child, &status, WNOHANG) == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_NE(read_file(log).find("serve: stopped"), std::string::npos);
  EXPECT_EQ(read_file(log).find(token), std::string::npos);  // the log never holds the token
}
