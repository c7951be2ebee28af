// write, fsync, rename, fsync(directory): either the old file or the new one survives.
#include "citadel/core/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "citadel/core/error.hpp"

namespace citadel {
namespace {

std::string describe_errno() { return std::strerror(errno); }

void write_all(int fd, std::string_view contents, const std::string& temporary) {
  size_t written = 0;
  while (written < contents.size()) {
    const ssize_t n = ::write(fd, contents.data() + written, contents.size() - written);
    if (n < 0 && errno == EINTR) continue;
    CITADEL_CHECK(n > 0, IoError, temporary, ": cannot write: ", describe_errno());
    written += static_cast<size_t>(n);
  }
}

}  // namespace

void write_file_atomically(const std::string& path, std::string_view contents, unsigned mode) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  const fs::path directory = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::string name = ".";  // built step by step: GCC 12 warns falsely (-Wrestrict) on a + chain
  name += target.filename().string();
  name += ".tmpXXXXXX";
  std::string temporary = (directory / name).string();

  const int fd = ::mkstemp(temporary.data());
  CITADEL_CHECK(fd >= 0, IoError, path, ": cannot create a temporary file in '",
                directory.string(), "': ", describe_errno());
  try {
    write_all(fd, contents, temporary);
    CITADEL_CHECK(::fsync(fd) == 0, IoError, temporary, ": cannot flush: ", describe_errno());
    CITADEL_CHECK(::fchmod(fd, static_cast<mode_t>(mode)) == 0, IoError, temporary, ": cannot set mode: ",
                  describe_errno());
  } catch (...) {
    ::close(fd);
    ::unlink(temporary.c_str());
    throw;
  }
  ::close(fd);
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    const std::string reason = describe_errno();
    ::unlink(temporary.c_str());
    throw IoError(path + ": cannot replace the file: " + reason);
  }
  const int directory_fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY);
  if (directory_fd >= 0) {  // best effort: some file systems refuse fsync on directories
    ::fsync(directory_fd);
    ::close(directory_fd);
  }
}

}  // namespace citadel
