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

AtomicFileWriter::AtomicFileWriter(std::string path, unsigned mode, bool overwrite)
    : path_(std::move(path)), mode_(mode), overwrite_(overwrite) {
  namespace fs = std::filesystem;
  const fs::path target(path_);
  const fs::path directory = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::string name = ".";  // built step by step: GCC 12 warns falsely (-Wrestrict) on a + chain
  name += target.filename().string();
  name += ".tmpXXXXXX";
  temporary_ = (directory / name).string();
  // mkstemp's name, but created as open(O_EXCL, 0666) would: the umask applies.
  const std::string pattern = temporary_;
  for (int attempt = 0; attempt < 100 && fd_ < 0; ++attempt) {
    temporary_ = pattern;
    const int probe = ::mkstemp(temporary_.data());
    CITADEL_CHECK(probe >= 0, IoError, path_, ": cannot create a temporary file in '", directory.string(), "': ",
                  describe_errno());
    ::close(probe);
    ::unlink(temporary_.c_str());
    fd_ = ::open(temporary_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  }
  CITADEL_CHECK(fd_ >= 0, IoError, path_, ": cannot create a temporary file in '", directory.string(), "': ",
                describe_errno());
  struct stat existing {};
  if (mode_ == kDefaultMode && ::stat(path_.c_str(), &existing) == 0) mode_ = existing.st_mode & 07777;
}

AtomicFileWriter::~AtomicFileWriter() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(temporary_.c_str());
  }
}

void AtomicFileWriter::write(std::string_view bytes) {
  CITADEL_ASSERT(fd_ >= 0, "write after commit");
  write_all(fd_, bytes, temporary_);
}

void AtomicFileWriter::commit() {
  CITADEL_ASSERT(fd_ >= 0, "commit twice");
  CITADEL_CHECK(::fsync(fd_) == 0, IoError, temporary_, ": cannot flush: ", describe_errno());
  if (mode_ != kDefaultMode)
    CITADEL_CHECK(::fchmod(fd_, static_cast<mode_t>(mode_)) == 0, IoError, temporary_, ": cannot set mode: ",
                  describe_errno());
  ::close(fd_);
  fd_ = -1;
  if (!overwrite_) {  // link() fails when the target exists, without a window for a race
    const bool linked = ::link(temporary_.c_str(), path_.c_str()) == 0;
    const int error = errno;
    ::unlink(temporary_.c_str());
    CITADEL_CHECK(linked || error != EEXIST, IoError, path_, ": the file exists; refusing to replace it");
    errno = error;
    CITADEL_CHECK(linked, IoError, path_, ": cannot create the file: ", describe_errno());
  } else if (::rename(temporary_.c_str(), path_.c_str()) != 0) {
    const std::string reason = describe_errno();
    ::unlink(temporary_.c_str());
    throw IoError(path_ + ": cannot replace the file: " + reason);
  }
  const std::filesystem::path target(path_);
  const std::string directory = target.has_parent_path() ? target.parent_path().string() : ".";
  const int directory_fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY);
  if (directory_fd >= 0) {  // best effort: some file systems refuse fsync on directories
    ::fsync(directory_fd);
    ::close(directory_fd);
  }
}

void write_file_atomically(const std::string& path, std::string_view contents, unsigned mode, bool overwrite) {
  AtomicFileWriter writer(path, mode, overwrite);
  writer.write(contents);
  writer.commit();
}

}  // namespace citadel
