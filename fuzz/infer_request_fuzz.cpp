// libFuzzer target for the KServe v2 infer request decoder (and the prediction after it):
// any body must give a response or a RequestError / citadel::Error, never a crash, a hang
// or undefined behaviour; and the fast scanner of number lists must change no answer: the
// body decoded without it gives the same rows or the same error (else the target aborts).
// The model reads two numeric columns and a categorical one; each body is also decoded
// (both ways, which must agree) and predicted for a schema-less model served as tensors,
// whose Inputs bear the same names ("features": 2, "colour": 3) and which has two outputs,
// and for a model that reads raw text (a BYTES input "message", tokenized on the way in).
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "citadel/layers/dense.hpp"
#include "citadel/layers/merge.hpp"
#include "citadel/serving/inference_protocol.hpp"
#include "../tests/support/colour_model.hpp"
#include "../tests/support/text_served_model.hpp"

namespace {

const citadel::serving::ServedModel& served() {
  static const citadel::serving::ServedModel model = colour_model("fuzz", "topk:1");
  return model;
}

const citadel::serving::ServedModel& text_served() {
  static const citadel::serving::ServedModel model = text_served_model("fuzz", "full");
  return model;
}

const citadel::serving::ServedModel& tensor_served() {
  static const citadel::serving::ServedModel model = [] {
    using namespace citadel;
    const SymbolicTensor features = Input({2}, {.name = "features"}), colour = Input({3}, {.name = "colour"});
    const SymbolicTensor joined = Concatenate()({Dense(3)(features), colour});
    Model graph({features, colour}, {Dense(2).named("p")(joined), Dense(1).named("q")(joined)});
    return serving::tensor_served_model("fuzz", "fuzz", std::move(graph), {}, serving::OutputPolicy::parse("round:2", "fuzz"));
  }();
  return model;
}

// The decoded cells (or tensors), or the error's message: what the two paths must agree on.
std::string decoded(std::string_view body, bool fast, citadel::serving::InferRequest* out,
                    const citadel::serving::ServedModel& model = served()) {
  try {
    citadel::serving::RequestLimits limits{.max_rows = 64, .max_elements = 4096};
    limits.fast_number_lists = fast;
    citadel::serving::InferRequest request = citadel::serving::decode_infer_request(body, model, limits);
    std::string cells = "rows " + std::to_string(request.rows);
    for (int64_t r = 0; r < request.table.rows; ++r)
      for (size_t c = 0; c < request.table.columns.size(); ++c)
        cells += "|" + std::string(request.table.cell(r, static_cast<int64_t>(c)));
    for (const citadel::Tensor& tensor : request.tensors)
      for (int64_t i = 0; i < tensor.numel(); ++i) cells += "|" + std::to_string(std::bit_cast<uint32_t>(tensor[i]));
    if (out != nullptr) *out = std::move(request);
    return cells;
  } catch (const citadel::Error& e) {
    return std::string("error: ") + e.what();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  for (const citadel::serving::ServedModel* model : {&served(), &tensor_served(), &text_served()}) {
    citadel::serving::InferRequest request;
    const std::string fast = decoded(body, true, &request, *model);
    if (fast != decoded(body, false, nullptr, *model)) std::abort();
    if (fast.rfind("rows", 0) != 0) continue;
    try {
      citadel::serving::infer(request, *model);
    } catch (const citadel::Error&) {
      // A 4xx answer naming the field at fault is the expected outcome.
    }
  }
  return 0;
}
