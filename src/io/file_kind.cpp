// What a file that is not a model file looks like, from its first bytes (magic numbers for
// binary formats, the first characters and line for text), with the hint a user needs.
#include "file_kind.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "citadel/io/encryption.hpp"

namespace citadel::detail {
namespace {

bool starts_with(std::string_view bytes, std::string_view prefix) { return bytes.substr(0, prefix.size()) == prefix; }

bool starts_with_ignoring_case(std::string_view bytes, std::string_view prefix) {
  if (bytes.size() < prefix.size()) return false;
  return std::equal(prefix.begin(), prefix.end(), bytes.begin(), [](char a, char b) {
    return (a >= 'A' && a <= 'Z' ? char(a - 'A' + 'a') : a) == (b >= 'A' && b <= 'Z' ? char(b - 'A' + 'a') : b);
  });
}

// Text without its UTF-8 byte-order mark and leading white space.
std::string_view text_start(std::string_view bytes) {
  if (starts_with(bytes, "\xEF\xBB\xBF")) bytes.remove_prefix(3);
  const size_t first = bytes.find_first_not_of(" \t\r\n");
  return first == std::string_view::npos ? std::string_view() : bytes.substr(first);
}

// Text: no control characters but tab, CR and LF in the first 4 KiB (UTF-8 passes).
bool looks_like_text(std::string_view bytes) {
  const std::string_view start = bytes.substr(0, 4096);
  return !start.empty() && std::all_of(start.begin(), start.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte >= 0x20 || byte == '\t' || byte == '\r' || byte == '\n';
  });
}

// An ONNX ModelProto as protobuf writes it: field 1 (ir_version, a small varint) first, then
// another of the model's fields (producer name, graph, opset imports, ...).
bool looks_like_onnx(std::string_view bytes) {
  if (bytes.size() < 3 || bytes[0] != '\x08') return false;
  const auto version = static_cast<unsigned char>(bytes[1]);
  static constexpr unsigned char kNextFields[] = {0x12, 0x1a, 0x22, 0x28, 0x32, 0x3a, 0x42, 0x72};
  return version >= 1 && version <= 20 &&
         std::find(std::begin(kNextFields), std::end(kNextFields), static_cast<unsigned char>(bytes[2])) !=
             std::end(kNextFields);
}

// What the bytes are, and the hint; empty when nothing is recognized.
std::string what_it_is(std::string_view bytes, const std::string& source) {
  if (starts_with(bytes, "PK\x03\x04") || starts_with(bytes, std::string_view("PK\x05\x06", 4)))
    return "it is a zip archive, as a Keras 3 .keras model is; did you mean to import it? `citadel import " + source +
           " --output model.safetensors` (in Python, load_model reads a file named .keras)";
  if (starts_with(bytes, "\x89HDF\r\n\x1a\n"))
    return "it is an HDF5 file, as a Keras .h5 model or .weights.h5 file is; did you mean to import it? `citadel "
           "import " + source + " --output model.safetensors` (weights alone need --config: docs/INTEROP.md)";
  if (starts_with(bytes, "\x1f\x8b"))
    return "it is gzip-compressed; did you mean to decompress it first (gunzip)? Fashion-MNIST's .gz files are "
           "data, read by `citadel train --data fashion-mnist`";
  if (is_encrypted(bytes))
    return "it is an encrypted citadel file; did you mean to give its key (--key-file or --passphrase-env; in "
           "Python key_file= or passphrase=)?";
  if (looks_like_onnx(bytes))
    return "it looks like an ONNX model; citadel writes ONNX (`citadel export`) but does not read it: did you mean "
           "the citadel model file it was exported from?";
  if (!looks_like_text(bytes)) return "";
  const std::string_view text = text_start(bytes);
  if (starts_with(text, "citadel-ed25519-"))
    return "it is a citadel key or signature file; did you mean the model file it belongs to?";
  if (starts_with_ignoring_case(text, "<!doctype html") || starts_with_ignoring_case(text, "<html") ||
      starts_with_ignoring_case(text, "<?xml") || starts_with(text, "<!--"))
    return "it looks like an HTML page (a --html report, or a web page saved in place of the file?); did you mean "
           "the .safetensors file the run saved (--save)?";
  if (starts_with(text, "{") || starts_with(text, "["))
    return "it looks like JSON (a --report file, or a Keras model config?); did you mean `citadel train "
           "--model-config " + source + "` (in Python, model_from_json) for a model config?";
  const std::string_view first_line = text.substr(0, text.find('\n'));
  if (first_line.find_first_of(",;\t") != std::string_view::npos)
    return "it looks like CSV data, not a model; did you mean to give it as data (--data, --input or --test " +
           source + ") and the model with --model?";
  return "it looks like a text file, not a model";
}

}  // namespace

bool starts_like_safetensors(std::string_view bytes) {
  if (bytes.size() < 9 || bytes[8] != '{') return false;
  uint64_t length = 0;
  std::memcpy(&length, bytes.data(), sizeof length);  // little-endian (checked where the file is parsed)
  return length >> 56 == 0;
}

std::string not_a_model_file_message(std::string_view bytes, const std::string& source) {
  std::string message = source + " is not a citadel model file (it does not start like a safetensors file)";
  std::string details;
  if (bytes.size() < 9)
    details = std::to_string(bytes.size()) + " bytes is too short to hold a header length and a header";
  const std::string hint = what_it_is(bytes, source);
  if (!hint.empty()) details += (details.empty() ? "" : "; ") + hint;
  return details.empty() ? message : message + ": " + details;
}

}  // namespace citadel::detail
