// Writing files so that a crash never leaves a half-written file in place of a good one.
#pragma once

#include <string>
#include <string_view>

namespace citadel {

// A file written in pieces to a temporary file beside `path`, which commit() flushes,
// fsyncs, renames over `path` and follows with an fsync of the directory. Destroyed
// without commit(), it removes the temporary file and leaves `path` as it was.
// Permissions of the written file: kDefaultMode gives a new file 0666 less the umask, as
// any program's output, and keeps an existing file's mode (a 0600 file stays 0600); an
// explicit mode (0600 for secret keys and private data) is applied whatever the umask.
inline constexpr unsigned kDefaultMode = ~0u;

class AtomicFileWriter {
 public:
  // `overwrite` false: commit() refuses (IoError) when `path` exists, atomically.
  explicit AtomicFileWriter(std::string path, unsigned mode = kDefaultMode, bool overwrite = true);
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;
  ~AtomicFileWriter();

  void write(std::string_view bytes);
  void commit();

 private:
  std::string path_, temporary_;
  unsigned mode_;
  bool overwrite_;
  int fd_ = -1;
};

// Writes `contents` atomically (an AtomicFileWriter in one piece). Throws IoError naming
// the path on failure.
void write_file_atomically(const std::string& path, std::string_view contents, unsigned mode = kDefaultMode,
                           bool overwrite = true);

}  // namespace citadel
