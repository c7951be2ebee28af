// libFuzzer target for the whole Keras importer, HDF5 included: any bytes, read as a .keras
// archive (zip, config.json, metadata.json, then model.weights.h5 through the sandboxed
// HDF5 reader), as a Keras HDF5 file (a legacy .h5 with its own config, or weights only,
// given a fixed config of the Dense model the seeds hold), or else as a Keras config.
// Expected: a model, or a citadel::Error (a crash, a hang or a limit of the sandboxed child
// is one: a refusal). Findings: a crash, hang, leak or undefined behaviour of this process,
// an InternalError (the child's answer disagreeing with the plan is one), or an accepted
// model whose weights are not finite or not shaped as its architecture plans.
//
// The child's coverage counts (sandbox_coverage.hpp), so that the fuzzer is guided by what
// the HDF5 reading code does too (libhdf5 itself is not instrumented).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "citadel/core/error.hpp"
#include "citadel/interop/keras_import.hpp"
#include "sandbox_coverage.hpp"

namespace {

// The Dense model of the seeds (tests/interop/keras_files.py's "dense"), for weights-only files.
constexpr const char* kDenseConfig =
    R"({"class_name":"Sequential","config":{"name":"sequential","layers":[)"
    R"({"class_name":"InputLayer","config":{"batch_shape":[null,8],"name":"input_layer"}},)"
    R"({"class_name":"Dense","config":{"name":"dense","units":10,"activation":"relu"}},)"
    R"({"class_name":"Dense","config":{"name":"dense_1","units":10,"activation":"relu"}},)"
    R"({"class_name":"Dense","config":{"name":"dense_2","units":1,"activation":"sigmoid"}}]}})";

// An accepted model must hold what its architecture plans, and only finite weights.
void check_accepted(citadel::SavedModel& saved) {
  const citadel::Model::BuildPlan plan = saved.model.plan(saved.model.input_shape());
  const auto& parameters = saved.model.parameters().parameters();
  if (plan.parameters.size() != parameters.size()) std::abort();
  for (size_t i = 0; i < parameters.size(); ++i)
    if (plan.parameters[i].name != parameters[i].name || plan.parameters[i].shape != parameters[i].shape)
      std::abort();
  for (const float v : saved.model.parameters().values())
    if (!std::isfinite(v)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  relay_sandbox_coverage();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  citadel::KerasImportOptions options;
  options.limits.max_parameters = 1 << 22;
  // Below libFuzzer's -timeout (10 s): a child that spins or hangs is a refusal.
  options.limits.hdf5_cpu_seconds = 2;
  options.limits.hdf5_wall_seconds = 5;
  try {
    if (bytes.substr(0, 4) == std::string_view("PK\x03\x04", 4)) {
      citadel::SavedModel saved = citadel::import_keras_bytes(bytes, "fuzz.keras", "", options);
      check_accepted(saved);
    } else if (bytes.substr(0, 8) == std::string_view("\x89HDF\r\n\x1a\n", 8)) {
      try {
        citadel::SavedModel saved = citadel::import_keras_bytes(bytes, "fuzz.h5", "", options);
        check_accepted(saved);
      } catch (const citadel::ValueError&) {  // weights only: read them for the seeds' model
        citadel::SavedModel saved = citadel::import_keras_bytes(bytes, "fuzz.weights.h5", kDenseConfig, options);
        check_accepted(saved);
      }
    } else {
      citadel::keras_architecture(bytes, "fuzz.json", options.limits);
    }
  } catch (const citadel::InternalError&) {
    std::abort();  // citadel's own invariant broken: a finding
  } catch (const citadel::Error&) {
    // Rejecting hostile input with a clear error is the expected outcome.
  }
  return 0;
}
