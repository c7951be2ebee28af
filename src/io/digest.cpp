// SHA-256 through OpenSSL's EVP interface (see digest.hpp).
#include "citadel/io/digest.hpp"

#include <openssl/evp.h>

#include <fstream>
#include <memory>
#include <vector>

#include "citadel/core/error.hpp"
#include "openssl_md_context.hpp"

namespace citadel {
namespace {

std::string hex_of(const unsigned char* bytes, size_t size) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * size);
  for (size_t i = 0; i < size; ++i) {
    hex += kHex[bytes[i] >> 4];
    hex += kHex[bytes[i] & 15];
  }
  return hex;
}

int hex_value(char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c - 'A' + 10; }

}  // namespace

std::string sha256_hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  CITADEL_CHECK(EVP_Digest(bytes.data(), bytes.size(), digest, &size, EVP_sha256(), nullptr) == 1, IoError,
                "SHA-256 failed in OpenSSL");
  return hex_of(digest, size);
}

std::string hex_to_bytes(std::string_view hex) {
  std::string bytes(hex.size() / 2, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = char(hex_value(hex[2 * i]) * 16 + hex_value(hex[2 * i + 1]));
  return bytes;
}

std::string sha256_file_hex(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  CITADEL_CHECK(file.is_open(), IoError, path, ": cannot open the file");
  MdContext context(EVP_MD_CTX_new());
  CITADEL_CHECK(context && EVP_DigestInit_ex(context.get(), EVP_sha256(), nullptr) == 1, IoError,
                "SHA-256 failed in OpenSSL");
  std::vector<char> piece(size_t(1) << 20);
  while (file) {
    file.read(piece.data(), std::streamsize(piece.size()));
    const auto got = size_t(file.gcount());
    if (got > 0) EVP_DigestUpdate(context.get(), piece.data(), got);
  }
  CITADEL_CHECK(!file.bad(), IoError, path, ": read error");
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_DigestFinal_ex(context.get(), digest, &size);
  return hex_of(digest, size);
}

}  // namespace citadel
