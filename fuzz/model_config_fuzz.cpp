// libFuzzer target for the model-config parser: any bytes must give a model or a
// citadel::Error, never a crash, a hang or undefined behaviour.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "citadel/core/error.hpp"
#include "citadel/model/model_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    citadel::Sequential model = citadel::model_from_config(text, "fuzz.json", {.max_units = 4096});
    if (model.size() > 0 && model.layer(0).declared_input_shape()) model.build(*model.layer(0).declared_input_shape());
  } catch (const citadel::Error&) {
    // Rejecting hostile input with a clear error is the expected outcome.
  }
  return 0;
}
