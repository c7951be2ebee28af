// Certified (IBP) training: the ε/κ schedule, the worst-case loss's gradient against finite
// differences, and a model trained so that verifies where a normally trained one does not.
#include "citadel/attacks/certified_training.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "citadel/attacks/interval_bounds.hpp"
#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"
#include "citadel/layers/conv2d.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/layers/flatten.hpp"
#include "citadel/layers/pooling2d.hpp"
#include "citadel/model/sequential.hpp"

namespace certified_training_test {

using namespace citadel;

namespace {

// Two classes in [0, 1]^8 that differ in the first four features' means only.
struct Blobs {
  Tensor x, y;
};
Blobs blobs(int64_t rows, uint64_t seed) {
  Rng rng(seed);
  Blobs data{Tensor(Shape{rows, 8}), Tensor(Shape{rows, 2})};
  for (int64_t r = 0; r < rows; ++r) {
    const int label = int(r % 2);
    data.y.at(r, label) = 1.0f;
    for (int64_t f = 0; f < 8; ++f) {
      const double centre = f < 4 ? (label ? 0.7 : 0.3) : 0.5;
      data.x[r * 8 + f] = float(std::clamp(centre + 0.1 * rng.normal(), 0.0, 1.0));
    }
  }
  return data;
}

Sequential classifier(uint64_t seed) {
  random::set_seed(seed);
  Sequential model;
  model.add(Dense(64, {.input_dim = 8, .activation = "relu"}));
  model.add(Dense(64, {.activation = "relu"}));
  model.add(Dense(2, {.activation = "softmax"}));
  model.compile({.loss = "categorical_crossentropy", .optimizer = Adam{.learning_rate = 0.005f},
                 .metrics = {"accuracy"}});
  return model;
}

}  // namespace

TEST(CertifiedTraining, TheScheduleWarmsUpThenRampsEpsilonUpAndKappaDown) {
  const CertifiedTrainingOptions options{.epsilon = 0.2, .final_kappa = 0.5, .warmup_steps = 3, .ramp_steps = 4};
  for (int64_t step = 0; step < 3; ++step) {
    EXPECT_EQ(certified_training_schedule(options, step).epsilon, 0.0);
    EXPECT_EQ(certified_training_schedule(options, step).kappa, 1.0);
  }
  EXPECT_NEAR(certified_training_schedule(options, 3).epsilon, 0.05, 1e-12);
  EXPECT_NEAR(certified_training_schedule(options, 3).kappa, 0.875, 1e-12);
  EXPECT_NEAR(certified_training_schedule(options, 6).epsilon, 0.2, 1e-12);
  EXPECT_NEAR(certified_training_schedule(options, 6).kappa, 0.5, 1e-12);
  EXPECT_NEAR(certified_training_schedule(options, 100).epsilon, 0.2, 1e-12);
  const CertifiedTrainingOptions at_once{.epsilon = 0.1, .final_kappa = 0.25};
  EXPECT_NEAR(certified_training_schedule(at_once, 0).epsilon, 0.1, 1e-12);
  EXPECT_NEAR(certified_training_schedule(at_once, 0).kappa, 0.25, 1e-12);
  EXPECT_THROW(certified_training({.epsilon = -1}), ValueError);
  EXPECT_THROW(certified_training({.final_kappa = 1.5}), ValueError);
}

TEST(CertifiedTraining, TheWorstCaseLossGradientMatchesFiniteDifferences) {
  for (const std::string output : {"softmax", "sigmoid"}) {
    random::set_seed(7);
    Sequential model;
    model.add(Conv2D(2, 2, {.input_shape = {4, 4, 1}, .activation = "tanh"}));
    model.add(MaxPooling2D());
    model.add(Flatten());
    model.add(Dense(5, {.activation = "relu"}));
    const bool binary = output == "sigmoid";
    model.add(Dense(binary ? 1 : 3, {.activation = output}));
    model.compile({.loss = binary ? "binary_crossentropy" : "categorical_crossentropy", .optimizer = "sgd"});
    Rng rng(3);
    Tensor x(Shape{4, 4, 4, 1}), y(Shape{4, binary ? 1 : 3});
    for (int64_t i = 0; i < x.numel(); ++i) x[i] = float(rng.uniform_double());
    for (int64_t r = 0; r < 4; ++r) binary ? void(y[r] = float(r % 2)) : void(y.at(r, r % 3) = 1.0f);
    const CertifiedTrainingOptions box{};
    ParameterStore& params = model.parameters();
    params.zero_grad();
    worst_case_loss(model, x, y, box, 0.05, 1.0);
    const std::vector<float> analytic(params.grads().begin(), params.grads().end());
    std::span<float> values = params.values();
    int checked = 0;
    for (size_t i = 0; i < values.size(); i += 3) {
      const float kept = values[i];
      const double h = 1e-3;
      values[i] = float(kept + h);
      const double up = worst_case_loss(model, x, y, box, 0.05, 0.0);
      values[i] = float(kept - h);
      const double down = worst_case_loss(model, x, y, box, 0.05, 0.0);
      values[i] = kept;
      const double numeric = (up - down) / (2 * h);
      EXPECT_NEAR(analytic[i], numeric, 2e-3 + 2e-2 * std::fabs(numeric)) << output << " parameter " << i;
      ++checked;
    }
    EXPECT_GT(checked, 10);
  }
}

TEST(CertifiedTraining, TrainsAModelThatVerifiesWhereANormalOneDoesNot) {
  const Blobs train = blobs(600, 1), test = blobs(300, 2);
  const double epsilon = 0.1;
  const int64_t steps = 20 * ((600 + 31) / 32);
  Sequential normal = classifier(5), certified = classifier(5);
  normal.fit(train.x, train.y, {.epochs = 20, .batch_size = 32, .verbose = 0});
  const History history = certified.fit(
      train.x, train.y,
      {.epochs = 20, .batch_size = 32, .verbose = 0,
       .gradient_step = certified_training({.epsilon = 1.1 * epsilon, .clip_min = 0, .clip_max = 1,
                                            .warmup_steps = steps / 10, .ramp_steps = steps / 2})});
  // The metrics still see the clean outputs: the training accuracy ends high.
  ASSERT_EQ(history.history.count("accuracy"), 1u);
  EXPECT_GT(history["accuracy"].back(), 0.9);
  const double normal_verified = verified_accuracy(normal, test.x, test.y, {epsilon}, 0, 1)[0].verified_accuracy;
  const double certified_verified =
      verified_accuracy(certified, test.x, test.y, {epsilon}, 0, 1)[0].verified_accuracy;
  const double certified_clean = verified_accuracy(certified, test.x, test.y, {0.0}, 0, 1)[0].verified_accuracy;
  EXPECT_GT(certified_clean, 0.9);
  EXPECT_GT(certified_verified, 0.8);
  EXPECT_GT(certified_verified, normal_verified + 0.2) << "normal " << normal_verified;
}

TEST(CertifiedTraining, IsRefusedWithPrivateTraining) {
  const Blobs train = blobs(64, 3);
  Sequential model = classifier(1);
  EXPECT_THROW(model.fit(train.x, train.y,
                         {.epochs = 1, .verbose = 0, .private_training = PrivateTraining{},
                          .gradient_step = certified_training({.epsilon = 0.1})}),
               ValueError);
}

}  // namespace certified_training_test
