// The binary tensor layout, read with every length checked before it is used: a hostile
// header length, tensor size or string length is a 400, never a read past the body.
#include "citadel/serving/binary_tensors.hpp"

#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

#include "citadel/serving/inference_protocol.hpp"
#include "bad_request.hpp"

namespace citadel::serving {
namespace {

static_assert(std::endian::native == std::endian::little, "the binary tensor layout is little-endian");

template <typename T>
T load(const char* at) {
  T value;
  std::memcpy(&value, at, sizeof value);
  return value;
}

double checked(double value, const std::string& input, int64_t index, bool allow_nan) {
  if (allow_nan && std::isnan(value)) return value;
  if (!std::isfinite(value) || std::abs(value) > double(std::numeric_limits<float>::max()))
    bad_request("input '" + input + "': element " + std::to_string(index) + " is not a finite number float can hold");
  return value;
}

}  // namespace

BinaryBody split_binary_body(std::string_view body, std::string_view header_length) {
  size_t length = 0;
  const auto [end, error] = std::from_chars(header_length.data(), header_length.data() + header_length.size(), length);
  if (error != std::errc() || end != header_length.data() + header_length.size() || header_length.empty())
    bad_request("Inference-Header-Content-Length must be a whole number of bytes");
  if (length > body.size())
    bad_request("Inference-Header-Content-Length (" + std::to_string(length) + ") is more than the body's " +
                std::to_string(body.size()) + " bytes");
  return {body.substr(0, length), body.substr(length)};
}

std::string_view BinaryTensorReader::take(int64_t bytes, const std::string& input) {
  if (bytes < 0 || static_cast<uint64_t>(bytes) > rest_.size())
    bad_request("input '" + input + "': binary_data_size " + std::to_string(bytes) + " is more than the " +
                std::to_string(rest_.size()) + " bytes left in the body");
  const std::string_view taken = rest_.substr(0, static_cast<size_t>(bytes));
  rest_.remove_prefix(static_cast<size_t>(bytes));
  return taken;
}

void BinaryTensorReader::expect_consumed() const {
  if (!rest_.empty())
    bad_request(std::to_string(rest_.size()) + " bytes after the JSON header belong to no input's binary_data_size");
}

int binary_element_size(const std::string& datatype) {
  if (datatype == "FP32" || datatype == "INT32") return 4;
  if (datatype == "FP64" || datatype == "INT64") return 8;
  return 0;
}

std::vector<double> decode_binary_numbers(std::string_view bytes, const std::string& datatype, int64_t elements,
                                          const std::string& input, bool allow_nan) {
  const int size = binary_element_size(datatype);
  if (size == 0) bad_request("input '" + input + "': datatype '" + datatype + "' is not accepted; use FP32");
  if (elements < 0 || static_cast<uint64_t>(elements) != bytes.size() / size || bytes.size() % size != 0)
    bad_request("input '" + input + "': binary_data_size " + std::to_string(bytes.size()) + " is not " +
                std::to_string(elements) + " elements of " + datatype);
  std::vector<double> values(static_cast<size_t>(elements));
  for (int64_t i = 0; i < elements; ++i) {
    const char* at = bytes.data() + i * size;
    double v = 0;
    if (datatype == "FP32") v = load<float>(at);
    else if (datatype == "FP64") v = load<double>(at);
    else if (datatype == "INT32") v = load<int32_t>(at);
    else v = double(load<int64_t>(at));
    values[static_cast<size_t>(i)] = checked(v, input, i, allow_nan);
  }
  return values;
}

std::vector<std::string> decode_binary_strings(std::string_view bytes, int64_t elements, size_t max_string_bytes,
                                               const std::string& input) {
  std::vector<std::string> values;
  for (int64_t i = 0; i < elements; ++i) {
    if (bytes.size() < 4)
      bad_request("input '" + input + "': binary data ends before element " + std::to_string(i) + "'s length");
    const uint32_t length = load<uint32_t>(bytes.data());
    bytes.remove_prefix(4);
    if (length > max_string_bytes)
      bad_request("input '" + input + "': element " + std::to_string(i) + " is longer than " +
                  std::to_string(max_string_bytes) + " bytes");
    if (length > bytes.size())
      bad_request("input '" + input + "': element " + std::to_string(i) + "'s length " + std::to_string(length) +
                  " runs past its binary data");
    values.emplace_back(bytes.substr(0, length));
    bytes.remove_prefix(length);
  }
  if (!bytes.empty())
    bad_request("input '" + input + "': " + std::to_string(bytes.size()) + " bytes after its " +
                std::to_string(elements) + " elements");
  return values;
}

void append_binary_floats(std::string& out, const float* values, int64_t count) {
  out.append(reinterpret_cast<const char*>(values), static_cast<size_t>(count) * sizeof(float));
}

void append_binary_strings(std::string& out, const std::vector<std::string>& values) {
  for (const std::string& value : values) {
    const auto length = static_cast<uint32_t>(value.size());
    out.append(reinterpret_cast<const char*>(&length), 4);
    out.append(value);
  }
}

}  // namespace citadel::serving
