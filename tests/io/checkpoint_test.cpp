// Checkpoints: training 6 epochs straight and training 3, checkpointing, and resuming a
// fresh model to 6 give bit-identical weights (Adam state, dropout masks, shuffling).
#include <gtest/gtest.h>

#include <filesystem>

#include "citadel/core/error.hpp"
#include "citadel/io/checkpoint.hpp"
#include "citadel/io/model_file.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/layers/dropout.hpp"

namespace checkpoint_test {

using namespace citadel;
namespace fs = std::filesystem;

namespace {

Sequential fresh_model() {
  random::set_seed(61);
  Sequential model;
  model.add(Dense(12, {.input_dim = 5, .activation = "relu"}));
  model.add(Dropout(0.3f));
  model.add(Dense(1, {.activation = "sigmoid"}));
  model.compile({.loss = "binary_crossentropy", .optimizer = "adam", .metrics = {"accuracy"}});
  return model;
}

std::vector<float> weights_of(Sequential& model) {
  const auto values = model.parameters().values();
  return {values.begin(), values.end()};
}

}  // namespace

TEST(Checkpoint, ResumingGivesBitIdenticalWeights) {
  Rng data_rng(5);
  Tensor x(Shape{100, 5}), y(Shape{100, 1});
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = data_rng.uniform();
  for (int64_t i = 0; i < 100; ++i) y[i] = x.at(i, 0) + x.at(i, 1) > 1.0f ? 1.0f : 0.0f;
  const FitOptions options{.epochs = 6, .batch_size = 16, .validation_split = 0.2, .verbose = 0};

  Sequential straight = fresh_model();
  const History full = straight.fit(x, y, options);

  const fs::path path = fs::temp_directory_path() / ("citadel_ckpt_" + std::to_string(::getpid()) + ".safetensors");
  Sequential first = fresh_model();
  FitOptions half = options;
  half.epochs = 3;
  half.callbacks = {ModelCheckpoint(path.string(), 3)};
  first.fit(x, y, half);

  Sequential resumed = fresh_model();
  FitOptions rest = options;
  rest.resume = restore_checkpoint(resumed, path.string());
  EXPECT_EQ(rest.resume->epoch, 3);
  const History continued = resumed.fit(x, y, rest);
  EXPECT_EQ(weights_of(resumed), weights_of(straight));
  EXPECT_EQ(continued.epoch, full.epoch);
  EXPECT_EQ(continued["val_loss"], full["val_loss"]);
  EXPECT_EQ(resumed.optimizer().iterations(), straight.optimizer().iterations());
}

TEST(Checkpoint, RefusesAModelFileOrAnotherOptimizer) {
  const fs::path path = fs::temp_directory_path() / ("citadel_ckpt2_" + std::to_string(::getpid()) + ".safetensors");
  Sequential model = fresh_model();
  model.build(Shape{5});
  save_model(model, path.string());
  EXPECT_THROW(restore_checkpoint(model, path.string()), IoError);
  Tensor x(Shape{8, 5}), y(Shape{8, 1});
  model.fit(x, y, {.epochs = 1, .verbose = 0, .callbacks = {ModelCheckpoint(path.string())}});
  Sequential other;
  other.add(Dense(12, {.input_dim = 5, .activation = "relu"}));
  other.add(Dropout(0.3f));
  other.add(Dense(1, {.activation = "sigmoid"}));
  other.compile({.loss = "binary_crossentropy", .optimizer = "sgd"});
  try {
    restore_checkpoint(other, path.string());
    FAIL();
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("checkpointed with optimizer adam"), std::string::npos) << e.what();
  }
}

}  // namespace checkpoint_test
