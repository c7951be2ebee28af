// libFuzzer target for the KServe v2 infer request decoder (and the prediction after it):
// any body must give a response or a RequestError / citadel::Error, never a crash, a hang
// or undefined behaviour; and the fast scanner of number lists must change no answer: the
// body decoded without it gives the same rows or the same error (else the target aborts).
// The model reads two numeric columns and a categorical one.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "citadel/serving/inference_protocol.hpp"
#include "../tests/support/colour_model.hpp"

namespace {

const citadel::serving::ServedModel& served() {
  static const citadel::serving::ServedModel model = colour_model("fuzz", "topk:1");
  return model;
}

// The decoded cells, or the error's message: what the two paths must agree on.
std::string decoded(std::string_view body, bool fast, citadel::serving::InferRequest* out) {
  try {
    citadel::serving::RequestLimits limits{.max_rows = 64, .max_elements = 4096};
    limits.fast_number_lists = fast;
    citadel::serving::InferRequest request = citadel::serving::decode_infer_request(body, served(), limits);
    std::string cells = "rows " + std::to_string(request.rows);
    for (int64_t r = 0; r < request.table.rows; ++r)
      for (size_t c = 0; c < request.table.columns.size(); ++c)
        cells += "|" + std::string(request.table.cell(r, static_cast<int64_t>(c)));
    if (out != nullptr) *out = std::move(request);
    return cells;
  } catch (const citadel::Error& e) {
    return std::string("error: ") + e.what();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  citadel::serving::InferRequest request;
  const std::string fast = decoded(body, true, &request);
  if (fast != decoded(body, false, nullptr)) std::abort();
  if (fast.rfind("rows", 0) != 0) return 0;
  try {
    citadel::serving::infer(request, served());
  } catch (const citadel::Error&) {
    // A 4xx answer naming the field at fault is the expected outcome.
  }
  return 0;
}
