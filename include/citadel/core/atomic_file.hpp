// Writing files so that a crash never leaves a half-written file in place of a good one.
#pragma once

#include <string>
#include <string_view>

namespace citadel {

// Writes `contents` to a temporary file beside `path`, flushes and fsyncs it, renames it
// over `path`, then fsyncs the directory. Throws IoError naming the path on failure.
// `mode` sets the new file's permissions (0600 for secret keys).
void write_file_atomically(const std::string& path, std::string_view contents, unsigned mode = 0644);

}  // namespace citadel
