// libFuzzer target for the Keras importer's zip and config path: any bytes, read as a
// .keras archive (zip: entry checks, config.json and metadata.json) or, when they are not
// a zip, as a Keras model config, must give an architecture or a citadel::Error — never a
// crash, a hang, undefined behaviour or an allocation beyond the limits. The HDF5 weights
// are left out: libhdf5 is not ours to fuzz, and the shapes are checked before any read.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "citadel/core/error.hpp"
#include "citadel/interop/keras_import.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  citadel::KerasImportLimits limits;
  limits.max_parameters = 1 << 22;
  try {
    if (bytes.substr(0, 4) == std::string_view("PK\x03\x04", 4)) {
      citadel::keras_archive_architecture(bytes, "fuzz.keras", limits);
    } else {
      citadel::keras_architecture(bytes, "fuzz.json", limits);
    }
  } catch (const citadel::Error&) {
    // Rejecting hostile input with a clear error is the expected outcome.
  }
  return 0;
}
