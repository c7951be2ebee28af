// Triton's binary tensor data extension: an infer body is a JSON header of
// `Inference-Header-Content-Length` bytes followed by the tensors' raw bytes, in the order
// the JSON lists them: little-endian, row major, no padding; a BYTES element is a 4-byte
// little-endian length and its bytes. Every length is checked against what is there.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace citadel::serving {

struct BinaryBody {
  std::string_view json;     // the inference header
  std::string_view tensors;  // every binary tensor, one after another
};

// Splits a body by its Inference-Header-Content-Length value (a decimal count of bytes, at
// most the body's size); RequestError 400 otherwise.
BinaryBody split_binary_body(std::string_view body, std::string_view header_length);

// Hands out the tensors' bytes in order; each take() names the input it is for.
class BinaryTensorReader {
 public:
  explicit BinaryTensorReader(std::string_view tensors) : rest_(tensors) {}
  std::string_view take(int64_t bytes, const std::string& input);
  // A 400 when bytes are left that no input claimed.
  void expect_consumed() const;

 private:
  std::string_view rest_;
};

// The bytes of `elements` numbers of `datatype` (FP32, FP64, INT32 or INT64) as doubles;
// infinities, values beyond float's range and (unless `allow_nan`: a missing value the
// model imputes) NaN are a 400 naming the input and element.
std::vector<double> decode_binary_numbers(std::string_view bytes, const std::string& datatype, int64_t elements,
                                          const std::string& input, bool allow_nan = false);
// The bytes of `elements` BYTES strings, each at most `max_string_bytes` long.
std::vector<std::string> decode_binary_strings(std::string_view bytes, int64_t elements, size_t max_string_bytes,
                                               const std::string& input);
// The bytes per element of a numeric datatype, 0 for one that is not accepted.
int binary_element_size(const std::string& datatype);

void append_binary_floats(std::string& out, const float* values, int64_t count);
void append_binary_strings(std::string& out, const std::vector<std::string>& values);

}  // namespace citadel::serving
