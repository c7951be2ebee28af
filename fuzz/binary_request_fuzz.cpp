// libFuzzer target for Triton's binary tensor extension: the body split at the
// Inference-Header-Content-Length value, the inputs' binary_data_size claims, the FP32 and
// BYTES decoders, the prediction and the binary response. The first two bytes of an input
// are the header length (little-endian, as text to the splitter); the rest is the body.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "citadel/serving/binary_tensors.hpp"
#include "citadel/serving/inference_protocol.hpp"
#include "../tests/support/colour_model.hpp"

namespace {

const citadel::serving::ServedModel& served() {
  static const citadel::serving::ServedModel model = colour_model("fuzz", "full");
  return model;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const std::string header_length = std::to_string(data[0] | (data[1] << 8));
  const std::string_view body(reinterpret_cast<const char*>(data) + 2, size - 2);
  try {
    const auto split = citadel::serving::split_binary_body(body, header_length);
    const citadel::serving::InferRequest request = citadel::serving::decode_infer_request(
        split.json, served(), {.max_rows = 64, .max_elements = 4096, .max_string_bytes = 256}, split.tensors);
    const auto response = citadel::serving::infer(request, served());
    if (response.json_bytes > response.body.size()) __builtin_trap();  // the header length must be within the body
  } catch (const citadel::Error&) {
    // A 4xx answer naming the field at fault is the expected outcome.
  }
  return 0;
}
