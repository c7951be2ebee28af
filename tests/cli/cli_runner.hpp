// Running the built `citadel` binary from tests, as a user runs it.
#pragma once

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "scratch_folder.hpp"

namespace citadel::testkit {

struct CliResult {
  int exit_code;
  std::string out, err;
};

// This test process's folder (mkdtemp), removed when it ends: 800 folders were left behind
// in /tmp by a few runs of the suite before.
inline std::filesystem::path scratch_directory() { return citadel::testing::scratch_folder(); }

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

inline std::filesystem::path write_scratch_file(const std::string& name, const std::string& text) {
  const auto path = scratch_directory() / name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

// Runs `citadel ARGUMENTS` with stdout captured and stderr in a file.
inline CliResult run_cli(const std::string& arguments) {
  const auto err = scratch_directory() / "stderr.txt";
  const std::string command = std::string(CITADEL_BINARY) + " " + arguments + " 2>" + err.string();
  FILE* pipe = ::popen(command.c_str(), "r");
  std::string out;
  std::array<char, 4096> buffer;
  while (size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe)) out.append(buffer.data(), n);
  const int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out, read_file(err)};
}

// run_cli, also measuring the tool's peak resident memory, wall time and CPU time. The tool
// runs as a child of peak_launcher (tests/support/peak_launcher.cpp), which reports its
// wait4 figures: Linux carries a process's peak RSS across exec, so a tool forked and exec'd
// straight from this test process would report this process's size if it had grown (up to
// ~100 MB when a whole test executable runs in one process).
struct MeasuredResult {
  CliResult result;
  double peak_mb = 0, seconds = 0;
  double cpu_seconds = 0;  // user + system: what the tool itself spent, whoever else holds the cores
};

inline MeasuredResult run_cli_measured(const std::string& arguments) {
  const auto out = scratch_directory() / "measured_stdout.txt", err = scratch_directory() / "measured_stderr.txt",
             report = scratch_directory() / "measured_usage.txt";
  std::filesystem::remove(report);
  const std::string command = std::string("exec ") + CITADEL_PEAK_LAUNCHER + " " + report.string() + " " +
                              CITADEL_BINARY + " " + arguments + " >" + out.string() + " 2>" + err.string();
  const auto start = std::chrono::steady_clock::now();
  const pid_t child = ::fork();
  if (child == 0) {
    ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  MeasuredResult measured;
  measured.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  double peak_kib = -1, user = 0, system = 0;
  std::istringstream(read_file(report)) >> peak_kib >> user >> system;
  EXPECT_GE(peak_kib, 0) << "peak_launcher wrote no usage for: citadel " << arguments;
  measured.peak_mb = peak_kib / 1024.0;  // ru_maxrss is in KiB on Linux
  measured.cpu_seconds = user + system;
  measured.result = {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_file(out), read_file(err)};
  return measured;
}

// The peak resident memory a CLI run may reach: `release_mb` for the real (Release) tool. In
// a sanitized build ASan's runtime and its shadow of every global grow with the binary (its
// `citadel --version` took 186 MB, then 209, then 232 as code was added), so there the bound
// is that baseline, measured once, plus `sanitized_allowance_mb`: what a run may add.
inline double peak_bound_mb(double release_mb, double sanitized_allowance_mb) {
#ifdef CITADEL_SANITIZED_BUILD
  (void)release_mb;
  static const double baseline = run_cli_measured("--version").peak_mb;
  return baseline + sanitized_allowance_mb;
#else
  (void)sanitized_allowance_mb;
  return release_mb;
#endif
}

// The CPU time a CLI run may take: `release_seconds` for the real (Release) tool. Under ASan
// and UBSan the same work costs more: the runtime's start (`citadel --version`, measured once)
// plus the work slowed severalfold (an `info` refusing a 1.5 MB schema took 0.19 s of CPU in
// Release on a Zen 3 and 1.08 s in CI's sanitized build, where the bound was 1 s). A loader
// that parsed far more than it should would still fail the bound there.
inline double cpu_bound_seconds(double release_seconds) {
#ifdef CITADEL_SANITIZED_BUILD
  static const double baseline = run_cli_measured("--version").cpu_seconds;
  return baseline + 3.0 * release_seconds;
#else
  return release_seconds;
#endif
}

}  // namespace citadel::testkit

// The bound of a test target: CMake gives its release bound and sanitized allowance.
#if defined(CITADEL_TEST_PEAK_RELEASE_MB) && defined(CITADEL_TEST_PEAK_SANITIZED_ALLOWANCE_MB)
#define CITADEL_TEST_PEAK_MB \
  (citadel::testkit::peak_bound_mb(CITADEL_TEST_PEAK_RELEASE_MB, CITADEL_TEST_PEAK_SANITIZED_ALLOWANCE_MB))
#endif

namespace citadel::testkit {

}  // namespace citadel::testkit
