// libFuzzer target for resuming from a checkpoint: any bytes must restore the reference
// network (the Pima default: Dense 10 relu → Dense 10 relu → Dense 1 sigmoid, Adam) or
// raise a citadel::Error; a restored one then takes a training step on its state.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"
#include "citadel/io/checkpoint.hpp"
#include "citadel/layers/dense.hpp"

namespace {

citadel::Sequential reference_model() {
  citadel::Sequential model;
  model.add(citadel::Dense(10, {.input_dim = 8, .activation = "relu"}));
  model.add(citadel::Dense(10, {.activation = "relu"}));
  model.add(citadel::Dense(1, {.activation = "sigmoid"}));
  model.compile({.loss = "binary_crossentropy", .optimizer = "adam", .metrics = {"accuracy"}});
  return model;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static citadel::Sequential model = reference_model();
  static const citadel::Tensor x = citadel::random::uniform({4, 8}), y(citadel::Shape{4, 1});
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    const citadel::ResumePoint point = citadel::restore_checkpoint_from_bytes(model, bytes, "fuzz.ckpt");
    (void)point;
    model.train_on_batch(x, y);
  } catch (const citadel::Error&) {
    // Rejecting hostile input with a clear error is the expected outcome.
  }
  return 0;
}
