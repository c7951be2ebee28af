// libFuzzer target for the KServe v2 infer request decoder (and the prediction after it):
// any body must give a response or a RequestError / citadel::Error, never a crash, a hang
// or undefined behaviour. The model reads two numeric columns and a categorical one.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "citadel/serving/inference_protocol.hpp"
#include "../tests/support/colour_model.hpp"

namespace {

const citadel::serving::ServedModel& served() {
  static const citadel::serving::ServedModel model = colour_model("fuzz", "topk:1");
  return model;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  try {
    const citadel::serving::InferRequest request =
        citadel::serving::decode_infer_request(body, served(), {.max_rows = 64, .max_elements = 4096});
    citadel::serving::infer(request, served());
  } catch (const citadel::Error&) {
    // A 4xx answer naming the field at fault is the expected outcome.
  }
  return 0;
}
