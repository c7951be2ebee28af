// libFuzzer target for the KServe v2 infer request decoder (and the prediction after it):
// any body must give a response or a RequestError / citadel::Error, never a crash, a hang
// or undefined behaviour. The model reads two numeric columns and a categorical one.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "citadel/data/csv.hpp"
#include "citadel/data/dataset.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/serving/inference_protocol.hpp"

namespace {

const citadel::serving::ServedModel& served() {
  static const citadel::serving::ServedModel model = [] {
    using namespace citadel;
    const CsvTable table = parse_csv("a,b,colour,label\n1,2,red,yes\n3,4,blue,no\n5,6,red,no\n", "seed.csv");
    const Dataset data = to_dataset(table, {.categorical = {"colour"}});
    SavedModel saved;
    saved.model.add(Dense(2, {.input_dim = data.x.shape(1), .activation = "softmax"}));
    saved.model.build(data.x.shape().without_batch());
    saved.schema = data.schema;
    saved.preprocessor = Preprocessor({.scaling = "none"});
    saved.preprocessor.fit(data.x);
    return serving::ServedModel{"fuzz", "fuzz", std::move(saved), serving::OutputPolicy::parse("topk:1", "fuzz")};
  }();
  return model;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  try {
    const citadel::serving::InferRequest request =
        citadel::serving::decode_infer_request(body, served(), {.max_rows = 64, .max_elements = 4096});
    citadel::serving::infer_response_json(request, served());
  } catch (const citadel::Error&) {
    // A 4xx answer naming the field at fault is the expected outcome.
  }
  return 0;
}
