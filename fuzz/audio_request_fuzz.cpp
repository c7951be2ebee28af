// libFuzzer target for a speech model's served input, the whole request path `citadel serve`
// takes for it: the binary body split at the Inference-Header-Content-Length value, the BYTES
// input "audio" read as length-prefixed WAV files (or base64 strings in JSON), each bounded
// by the model's clip before it is parsed, the WAV reader, the resampling to the model's
// rate, the MFCCs, the prediction and the answer. Any bytes must give a response or a
// citadel::Error (a 4xx naming the row), never a crash, undefined behaviour or an allocation
// beyond the fuzzer's limits; an answered request's probabilities are finite. The first two
// bytes of an input are the header length (little-endian; 0xffff: no binary data, the body
// is JSON alone); the rest is the body.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "citadel/serving/binary_tensors.hpp"
#include "citadel/serving/inference_protocol.hpp"
#include "../tests/support/speech_served_model.hpp"

namespace {

const citadel::serving::ServedModel& served() {
  static const citadel::serving::ServedModel model = speech_served_model("fuzz", "full");
  return model;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const unsigned header = data[0] | (data[1] << 8);
  const std::string_view body(reinterpret_cast<const char*>(data) + 2, size - 2);
  try {
    citadel::serving::BinaryBody split{body, {}};
    if (header != 0xffff) split = citadel::serving::split_binary_body(body, std::to_string(header));
    const citadel::serving::InferRequest request = citadel::serving::decode_infer_request(
        split.json, served(), {.max_rows = 16, .max_elements = 4096, .max_string_bytes = 256}, split.tensors);
    // Every row a clip of the model's length, whatever the file held.
    if (request.clips.rank() != 2 || request.clips.shape(0) != request.rows || request.clips.shape(1) != 800)
      __builtin_trap();
    // infer()'s steps, so that the probabilities can be checked: a file the reader takes is
    // finite audio, so its answer is finite too.
    const citadel::RowPredictions predictions =
        citadel::serving::predict_request(citadel::serving::encode_request(request, served()), served());
    for (int64_t i = 0; i < predictions.probabilities.numel(); ++i)
      if (!std::isfinite(predictions.probabilities[i])) __builtin_trap();
    const auto response = citadel::serving::encode_infer_response(request, predictions, served());
    if (response.json_bytes > response.body.size()) __builtin_trap();  // the header length must be within the body
  } catch (const citadel::Error&) {
    // A 4xx answer naming the input and row at fault is the expected outcome.
  }
  return 0;
}
