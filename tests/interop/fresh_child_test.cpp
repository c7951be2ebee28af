// The HDF5 reader's fresh child (src/interop/sandbox_exec.cpp) holds nothing of its parent:
// a secret planted in this process's memory is looked for in the child's whole address
// space, read through /proc/PID/mem while the child waits for its request. A forked child
// (the sandbox before) is searched the same way first, which shows the search finds a
// secret where there is one. Keras files are then imported through the fresh child.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../../src/interop/sandbox_child.hpp"
#include "citadel/core/error.hpp"
#include "citadel/interop/sandbox_executable.hpp"

namespace citadel::detail {
namespace fresh_child_test {
namespace {

namespace fs = std::filesystem;

// A secret of this run only: 32 random hex digits after a fixed prefix.
std::string random_secret() {
  std::random_device device;
  std::string secret = "citadel-planted-secret-";
  for (int i = 0; i < 32; ++i) secret += "0123456789abcdef"[device() % 16];
  return secret;
}

// Whether `pid`'s readable memory holds `secret` anywhere. Mappings over 1 GiB are skipped:
// the sanitizers' shadow memory, reserved but never holding a program's data.
bool memory_holds(pid_t pid, const std::string& secret) {
  std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
  const int memory = ::open(("/proc/" + std::to_string(pid) + "/mem").c_str(), O_RDONLY | O_CLOEXEC);
  EXPECT_GE(memory, 0) << "cannot open /proc/" << pid << "/mem";
  if (memory < 0) return false;
  const std::boyer_moore_horspool_searcher searcher(secret.begin(), secret.end());
  std::vector<char> chunk(std::size_t{4} << 20);
  bool found = false;
  std::string line;
  while (!found && std::getline(maps, line)) {
    std::istringstream fields(line);
    std::string range, permissions;
    fields >> range >> permissions;
    if (permissions.empty() || permissions[0] != 'r') continue;
    const size_t dash = range.find('-');
    const uint64_t begin = std::stoull(range.substr(0, dash), nullptr, 16);
    const uint64_t end = std::stoull(range.substr(dash + 1), nullptr, 16);
    if (end - begin > (uint64_t{1} << 30)) continue;
    // Chunks overlap by the secret's length, so that one spanning two is found.
    for (uint64_t at = begin; !found && at < end;) {
      const size_t want = static_cast<size_t>(std::min<uint64_t>(chunk.size(), end - at));
      const ssize_t got = ::pread(memory, chunk.data(), want, static_cast<off_t>(at));
      if (got <= 0) break;  // [vvar] and the like cannot be read
      found = std::search(chunk.begin(), chunk.begin() + got, searcher) != chunk.begin() + got;
      if (static_cast<size_t>(got) <= secret.size()) break;
      at += static_cast<uint64_t>(got) - secret.size();
    }
  }
  ::close(memory);
  return found;
}

// Waits (up to 20 s) until `pid` is asleep after running `program`: the exec is done and
// the child waits on its request.
bool waits_as(pid_t pid, const std::string& program) {
  const std::string proc = "/proc/" + std::to_string(pid);
  for (int tries = 0; tries < 2000; ++tries) {
    std::error_code error;
    const fs::path exe = fs::read_symlink(proc + "/exe", error);
    std::ifstream stat(proc + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    const size_t close = text.rfind(')');
    const char state = close != std::string::npos && close + 2 < text.size() ? text[close + 2] : '?';
    if (!error && fs::equivalent(exe, program, error) && state == 'S') return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

void kill_and_reap(pid_t pid) {
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
}

// Expects `child` to answer nothing and to leave with `exit_code`; closes its pipe.
void expect_ended_unanswered(const StartedChild& child, int exit_code) {
  char byte;
  EXPECT_EQ(::read(child.answers, &byte, 1), 0);
  int status = 0;
  EXPECT_EQ(::waitpid(child.pid, &status, 0), child.pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == exit_code) << status;
  ::close(child.answers);
}

TEST(FreshChild, HoldsNothingOfItsParentsMemoryWhereAForkedChildHoldsIt) {
  const std::string secret = random_secret();
  // The secret where a parent keeps things: a heap string, and spread through large buffers
  // (a key file's contents, a decrypted model).
  const std::string held = secret;
  std::vector<std::string> buffers;
  for (int i = 0; i < 16; ++i) buffers.push_back(std::string(std::size_t{1} << 20, 'k') + secret);
  int request[2];
  ASSERT_EQ(::pipe2(request, O_CLOEXEC), 0);

  // The control: a forked child, waiting on the pipe as the sandbox's children do.
  const pid_t forked = ::fork();
  if (forked == 0) {
    char byte;
    (void)!::read(request[0], &byte, 1);
    ::_exit(0);
  }
  ASSERT_GT(forked, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_TRUE(memory_holds(forked, secret)) << "the search did not find the secret in a forked child";
  kill_and_reap(forked);

  // The fresh child, waiting for a request that does not come until it has been searched.
  const std::string program = CITADEL_BINARY;
  SandboxLimits limits;
  limits.cpu_seconds = 10;
  const StartedChild child =
      start_fresh_child("secret.h5: the HDF5 reader", program, "hdf5-weights", limits, ::dup(request[0]));
  ASSERT_TRUE(waits_as(child.pid, program)) << "the fresh child never waited on its request";
  EXPECT_FALSE(memory_holds(child.pid, secret)) << "the fresh child holds the parent's secret";
  // Nothing else reaches it: no environment (this process's variables may hold secrets too),
  // and no descriptor but its request, stderr and its answer pipe.
  std::ifstream environ_file("/proc/" + std::to_string(child.pid) + "/environ");
  const std::string environment((std::istreambuf_iterator<char>(environ_file)), std::istreambuf_iterator<char>());
  EXPECT_EQ(environment, "");
  std::vector<int> descriptors;
  for (const auto& entry : fs::directory_iterator("/proc/" + std::to_string(child.pid) + "/fd"))
    descriptors.push_back(std::stoi(entry.path().filename().string()));
  std::sort(descriptors.begin(), descriptors.end());
  EXPECT_EQ(descriptors, (std::vector<int>{0, 2, 3}));
  // An empty request: the child refuses it and leaves; its pipe ends.
  ::close(request[1]);
  expect_ended_unanswered(child, kExitSandboxFailed);
  ::close(request[0]);
  EXPECT_EQ(held.size(), secret.size());  // kept alive to here
}

// Starts `job` of `program` on a request it cannot use; expects it to answer nothing and to
// leave with `exit_code`.
void expect_ends_unanswered(const std::string& program, const char* job, int exit_code) {
  SandboxLimits limits;
  const int request = sandbox_request_file("x.h5: the HDF5 reader", limits, {"anything"});
  expect_ended_unanswered(start_fresh_child("x.h5: the HDF5 reader", program, job, limits, request), exit_code);
}

TEST(FreshChild, AnUnknownJobEndsTheChildAsARefusal) {
  expect_ends_unanswered(CITADEL_BINARY, "no-such-job", kExitSandboxFailed);
}

TEST(FreshChild, AProgramThatCannotBeStartedEndsAsSuch) {
  expect_ends_unanswered("/nonexistent/citadel", "hdf5-weights", kExitNotStarted);
}

TEST(FreshChild, AReaderWhoseToolCannotBeStartedIsARefusalNamingTheTool) {
  set_sandbox_executable("/nonexistent/citadel");
  std::string message;
  try {
    run_sandboxed_job("x.h5", "the HDF5 reader", SandboxLimits{}, "hdf5-weights",
                      [](std::string_view, SandboxWriter&) {}, {"anything"}, [](SandboxReader&) {});
  } catch (const IoError& e) {
    message = e.what();
  }
  set_sandbox_executable("");  // the default again
  EXPECT_NE(message.find("x.h5: the HDF5 reader could not start its program (/nonexistent/citadel)"),
            std::string::npos)
      << message;
}

// The tools found without being named: only files that root or this user put in folders
// nobody else can write to.
TEST(FreshChild, OnlyToolsNobodyElseCouldHavePutThereAreStartedUnnamed) {
  const fs::path folder = fs::temp_directory_path() / ("citadel_trusted_tool_" + std::to_string(::getpid()));
  fs::remove_all(folder);
  fs::create_directories(folder);
  const fs::path tool = folder / "citadel";
  fs::copy_file(CITADEL_BINARY, tool);
  fs::permissions(folder, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                              fs::perms::others_read | fs::perms::others_exec);
  fs::permissions(tool, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                            fs::perms::others_read | fs::perms::others_exec);
  EXPECT_TRUE(is_trusted_tool(tool.string()));
  EXPECT_TRUE(is_trusted_tool(CITADEL_BINARY));
  EXPECT_FALSE(is_trusted_tool("citadel")) << "a relative path";
  EXPECT_FALSE(is_trusted_tool((folder / "missing").string()));
  EXPECT_FALSE(is_trusted_tool(folder.string())) << "a folder";
  fs::permissions(tool, fs::perms::others_write, fs::perm_options::add);
  EXPECT_FALSE(is_trusted_tool(tool.string())) << "a tool anyone can write";
  fs::permissions(tool, fs::perms::others_write, fs::perm_options::remove);
  fs::permissions(folder, fs::perms::group_write, fs::perm_options::add);
  EXPECT_FALSE(is_trusted_tool(tool.string())) << "a tool in a folder others can write to";
  fs::permissions(folder, fs::perms::group_write, fs::perm_options::remove);
  fs::permissions(tool, fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec,
                  fs::perm_options::remove);
  EXPECT_FALSE(is_trusted_tool(tool.string())) << "a file that cannot be executed";
  fs::remove_all(folder);
}

}  // namespace
}  // namespace fresh_child_test
}  // namespace citadel::detail
