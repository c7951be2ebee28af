// Atomic writes: the new contents replace the old, failures leave nothing behind.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "citadel/core/atomic_file.hpp"
#include "citadel/core/error.hpp"

namespace atomic_file_test {

using namespace citadel;
namespace fs = std::filesystem;

namespace {

std::string read_all(const fs::path& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

fs::path fresh_directory(const std::string& name) {
  const fs::path directory = fs::temp_directory_path() / ("citadel_test_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(directory);
  fs::create_directories(directory);
  return directory;
}

}  // namespace

TEST(AtomicFile, WritesAndReplacesLeavingNoTemporaryFiles) {
  const fs::path directory = fresh_directory("atomic");
  const fs::path target = directory / "report.json";
  write_file_atomically(target.string(), "first");
  EXPECT_EQ(read_all(target), "first");
  write_file_atomically(target.string(), "second, longer contents");
  EXPECT_EQ(read_all(target), "second, longer contents");
  int files = 0;
  for (const auto& entry : fs::directory_iterator(directory)) files += entry.is_regular_file();
  EXPECT_EQ(files, 1);
  fs::remove_all(directory);
}

TEST(AtomicFile, MissingDirectoryIsAnIoErrorNamingThePath) {
  const std::string path = "/nonexistent-citadel-dir/x.json";
  try {
    write_file_atomically(path, "data");
    FAIL() << "expected IoError";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

TEST(AtomicFile, AnUncommittedWriterLeavesTheOldFile) {
  const fs::path directory = fresh_directory("uncommitted");
  const fs::path target = directory / "model.bin";
  write_file_atomically(target.string(), "good");
  {
    AtomicFileWriter writer(target.string());
    writer.write("half of a new ");
  }  // destroyed as if an exception had interrupted the writing
  EXPECT_EQ(read_all(target), "good");
  int files = 0;
  for (const auto& entry : fs::directory_iterator(directory)) files += entry.is_regular_file();
  EXPECT_EQ(files, 1);
  fs::remove_all(directory);
}

// Files were written 0644 whatever the umask, widening a 0600 file on every rewrite.
TEST(AtomicFile, RespectsTheUmaskKeepsAnExistingModeAndCanRefuseToReplace) {
  const fs::path path = fs::temp_directory_path() / ("citadel_mode_" + std::to_string(::getpid()));
  fs::remove(path);
  const mode_t previous = ::umask(027);
  write_file_atomically(path.string(), "one");
  EXPECT_EQ(fs::status(path).permissions() & fs::perms::all, fs::perms(0640));
  ::umask(previous);
  fs::permissions(path, fs::perms(0600));
  write_file_atomically(path.string(), "two");
  EXPECT_EQ(fs::status(path).permissions() & fs::perms::all, fs::perms(0600));
  write_file_atomically(path.string(), "three", 0600);
  EXPECT_THROW(write_file_atomically(path.string(), "four", kDefaultMode, false), IoError);
  EXPECT_EQ(read_all(path), "three");
  fs::remove(path);
}

}  // namespace atomic_file_test
