// A folder of this test process's own under the temporary directory, removed when the
// process ends (by the process that made it: a forked child leaving by exit() does not). Files named by pid and left behind collide with a later run that draws the
// same pid — fatal where the code refuses to replace a file (key generation does).
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>

namespace citadel::testing {

inline const std::filesystem::path& scratch_folder() {
  static const struct Folder {
    std::filesystem::path path;
    pid_t owner = ::getpid();
    Folder() {
      std::string pattern = (std::filesystem::temp_directory_path() / "citadel_test_XXXXXX").string();
      if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + pattern);
      path = pattern;
    }
    ~Folder() {
      if (::getpid() != owner) return;
      std::error_code ignored;
      std::filesystem::remove_all(path, ignored);
    }
  } folder;
  return folder.path;
}

}  // namespace citadel::testing
