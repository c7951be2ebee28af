// SHA-256 as OpenSSF model signing records it: of bytes in memory, of a file read in pieces
// (so a large file is never held whole), and in hex.
#pragma once

#include <string>
#include <string_view>

namespace citadel {

// Lowercase hex SHA-256 of `bytes`.
std::string sha256_hex(std::string_view bytes);

// The 32 raw bytes of a hex digest (64 hex digits; the caller has checked them).
std::string hex_to_bytes(std::string_view hex);

// Lowercase hex SHA-256 of the file at `path`, read 1 MiB at a time; IoError naming it when
// it cannot be read.
std::string sha256_file_hex(const std::string& path);

}  // namespace citadel
