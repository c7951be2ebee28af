// libFuzzer target for the model-file loader: any bytes must give a model or a
// citadel::Error, never a crash, a hang or undefined behaviour.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "citadel/core/error.hpp"
#include "citadel/io/model_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    citadel::LoadedModel loaded = citadel::load_model_from_bytes(bytes, "fuzz.safetensors", {.max_header_bytes = 1 << 20});
    (void)loaded;
  } catch (const citadel::Error&) {
    // Rejecting hostile input with a clear error is the expected outcome.
  }
  return 0;
}
