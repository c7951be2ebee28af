// Running the built `citadel` binary from tests, as a user runs it.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace citadel::testkit {

struct CliResult {
  int exit_code;
  std::string out, err;
};

inline std::filesystem::path scratch_directory() {
  const auto directory = std::filesystem::temp_directory_path() / ("citadel_cli_" + std::to_string(::getpid()));
  std::filesystem::create_directories(directory);
  return directory;
}

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

}  // namespace citadel::testkit
