// Callbacks: early stopping with weight restoration, learning-rate changes, NaN
// handling, CSV logging, and a user's own callback.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "citadel/core/error.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/model/sequential.hpp"

namespace callbacks_test {

using namespace citadel;

namespace {

Sequential small_model(const OptimizerSpec& optimizer = "adam") {
  Sequential model;
  model.add(Dense(6, {.input_dim = 4, .activation = "relu"}));
  model.add(Dense(1, {.activation = "sigmoid"}));
  model.compile({.loss = "binary_crossentropy", .optimizer = optimizer, .metrics = {"accuracy"}});
  return model;
}

// Records the weights at the end of every epoch, and counts calls.
class Recorder final : public Callback {
 public:
  std::unique_ptr<Callback> clone() const override { return std::make_unique<Recorder>(*this); }
  void on_train_begin(Model& ) override { ++train_begin; }
  void on_train_end(Model& ) override { ++train_end; }
  void on_epoch_begin(int, Model& ) override { ++epoch_begin; }
  void on_batch_begin(int64_t, Model& ) override { ++batch_begin; }
  void on_batch_end(int64_t step, double, Model& model) override {
    ++batch_end;
    if (stop_at_batch >= 0 && batch_end == stop_at_batch) model.stop_training("recorder stop at step " + std::to_string(step));
  }
  void on_epoch_end(int, Logs&, Model& model) override {
    const auto values = model.parameters().values();
    weights.emplace_back(values.begin(), values.end());
  }
  int train_begin = 0, train_end = 0, epoch_begin = 0, batch_begin = 0, batch_end = 0, stop_at_batch = -1;
  std::vector<std::vector<float>> weights;
};

}  // namespace

TEST(EarlyStopping, StopsAfterPatienceEpochsWithoutImprovement) {
  Sequential model = small_model();
  model.build(Shape{4});
  EarlyStopping stopper({.monitor = "val_loss", .patience = 2});
  stopper.on_train_begin(model);
  const double val_losses[] = {1.0, 0.8, 0.9, 0.85, 0.95};
  int epoch = 0;
  for (double value : val_losses) {
    Logs logs{{"val_loss", value}};
    stopper.on_epoch_end(epoch++, logs, model);
  }
  EXPECT_EQ(stopper.best_epoch(), 1);
  EXPECT_DOUBLE_EQ(stopper.best(), 0.8);
  EXPECT_EQ(stopper.stopped_epoch(), 3);  // two epochs without improvement = patience 2
}

TEST(EarlyStopping, ModeFollowsTheFigure) {
  EXPECT_TRUE(lower_is_better("val_loss", MonitorMode::kAuto));
  EXPECT_FALSE(lower_is_better("val_accuracy", MonitorMode::kAuto));
  EXPECT_FALSE(lower_is_better("auc", MonitorMode::kAuto));
  EXPECT_FALSE(lower_is_better("loss", MonitorMode::kMax));
}

TEST(EarlyStopping, RestoresTheBestWeightsInFit) {
  random::set_seed(31);
  Sequential model = small_model();
  Tensor x = random::uniform({64, 4}), y = random::randint(0, 2, {64, 1});
  Recorder recorder;
  // min_delta so large that nothing after the first epoch counts as an improvement.
  EarlyStopping stopper({.monitor = "loss", .min_delta = 1e9, .patience = 1, .restore_best_weights = true});
  const History history = model.fit(x, y, {.epochs = 10, .verbose = 0, .callbacks = {&recorder, &stopper}});
  EXPECT_EQ(history.epoch.size(), 2u);
  EXPECT_EQ(stopper.stopped_epoch(), 1);
  EXPECT_NE(history.stop_reason.find("early stopping"), std::string::npos) << history.stop_reason;
  const auto final_values = model.parameters().values();
  EXPECT_EQ(std::vector<float>(final_values.begin(), final_values.end()), recorder.weights.at(0));
  EXPECT_NE(recorder.weights.at(0), recorder.weights.at(1));
}

TEST(EarlyStopping, MissingFigureIsAClearError) {
  Sequential model = small_model();
  Tensor x = random::uniform({16, 4}), y = random::randint(0, 2, {16, 1});
  try {
    model.fit(x, y, {.epochs = 2, .verbose = 0, .callbacks = {EarlyStopping()}});
    FAIL();
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("validation_split"), std::string::npos) << e.what();
  }
}

TEST(ReduceLROnPlateau, ReducesAfterPatienceThenCoolsDown) {
  Sequential model = small_model(SGD{.learning_rate = 0.4f});
  model.build(Shape{4});
  ReduceLROnPlateau reducer({.monitor = "loss", .factor = 0.5, .patience = 1, .cooldown = 2});
  reducer.on_train_begin(model);
  std::vector<float> rates;
  for (int epoch = 0; epoch < 6; ++epoch) {
    Logs logs{{"loss", 1.0}};  // never improves after the first epoch
    reducer.on_epoch_end(epoch, logs, model);
    rates.push_back(model.optimizer().learning_rate());
  }
  // Epoch 0 sets the best; epoch 1 waits 1 → 0.2 and starts a 2-epoch cooldown, which
  // counts down in epochs 2 and 3; epoch 3 waits again → 0.1; the same again at epoch 5.
  EXPECT_EQ(rates, (std::vector<float>{0.4f, 0.2f, 0.2f, 0.1f, 0.1f, 0.05f}));
}

TEST(LearningRateScheduler, SchedulesFollowTheirFormulas) {
  const auto step = step_decay(0.1, 0.5, 2);
  EXPECT_DOUBLE_EQ(step(0, 0), 0.1);
  EXPECT_DOUBLE_EQ(step(1, 0), 0.1);
  EXPECT_DOUBLE_EQ(step(2, 0), 0.05);
  EXPECT_DOUBLE_EQ(step(5, 0), 0.025);
  EXPECT_DOUBLE_EQ(exponential_decay(0.1, 0.5, 2)(2, 0), 0.05);
  EXPECT_NEAR(exponential_decay(0.1, 0.5, 2)(1, 0), 0.1 / std::sqrt(2.0), 1e-15);
  EXPECT_NEAR(cosine_decay(1.0, 4)(2, 0), 0.5, 1e-15);
  EXPECT_NEAR(cosine_decay(1.0, 4)(4, 0), 0.0, 1e-15);
  EXPECT_NEAR(cosine_decay(1.0, 4, 0.1)(9, 0), 0.1, 1e-15);
}

TEST(LearningRateScheduler, SetsTheRateEachEpochAndRecordsIt) {
  Sequential model = small_model();
  Tensor x = random::uniform({32, 4}), y = random::randint(0, 2, {32, 1});
  const History history =
      model.fit(x, y, {.epochs = 4, .verbose = 0, .callbacks = {LearningRateScheduler(step_decay(0.01, 0.1, 2))}});
  const std::vector<double> expected{0.01, 0.01, 0.001, 0.001};
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(history["learning_rate"][i], expected[i], 1e-9);
}

TEST(TerminateOnNaN, StopsCalmlyInsteadOfRaising) {
  Sequential model = small_model();
  Tensor x = random::uniform({64, 4}), y = random::randint(0, 2, {64, 1});
  x.at(40, 1) = std::nanf("");
  const History history =
      model.fit(x, y, {.epochs = 3, .batch_size = 32, .shuffle = false, .verbose = 0, .callbacks = {TerminateOnNaN()}});
  EXPECT_NE(history.stop_reason.find("TerminateOnNaN"), std::string::npos);
  for (float v : model.parameters().values()) EXPECT_TRUE(std::isfinite(v));  // the bad step was not applied
}

TEST(CSVLogger, WritesOneRowPerEpochAndCanAppend) {
  const auto path = std::filesystem::temp_directory_path() / ("citadel_log_" + std::to_string(::getpid()) + ".csv");
  std::filesystem::remove(path);
  Sequential model = small_model();
  Tensor x = random::uniform({32, 4}), y = random::randint(0, 2, {32, 1});
  model.fit(x, y, {.epochs = 3, .verbose = 0, .callbacks = {CSVLogger(path.string())}});
  model.fit(x, y, {.epochs = 2, .verbose = 0, .callbacks = {CSVLogger(path.string(), {.append = true})}});
  std::ifstream file(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(file, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 6u);  // header, 3 rows, then 2 appended rows
  EXPECT_EQ(lines[0], "epoch,accuracy,loss");
  EXPECT_EQ(lines[1].substr(0, 2), "0,");
  EXPECT_EQ(lines[5].substr(0, 2), "1,");
  std::filesystem::remove(path);
}

TEST(Callbacks, UserCallbackSeesEveryPointAndCanStop) {
  Sequential model = small_model();
  Tensor x = random::uniform({40, 4}), y = random::randint(0, 2, {40, 1});
  Recorder recorder;
  model.fit(x, y, {.epochs = 3, .batch_size = 16, .verbose = 0, .callbacks = {&recorder}});
  EXPECT_EQ(recorder.train_begin, 1);
  EXPECT_EQ(recorder.train_end, 1);
  EXPECT_EQ(recorder.epoch_begin, 3);
  EXPECT_EQ(recorder.batch_begin, 9);  // 3 steps of 16, 16, 8 rows per epoch
  EXPECT_EQ(recorder.batch_end, 9);

  Recorder stopper;
  stopper.stop_at_batch = 4;
  const History history = model.fit(x, y, {.epochs = 5, .batch_size = 16, .verbose = 0, .callbacks = {&stopper}});
  EXPECT_EQ(stopper.batch_end, 4);
  EXPECT_EQ(history.epoch.size(), 2u);  // the second epoch ends early and is recorded
  EXPECT_EQ(history.stop_reason, "recorder stop at step 0");
}

}  // namespace callbacks_test
