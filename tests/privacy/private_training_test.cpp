// DP-SGD: per-example gradient norms from the layers' caches against per-example backward
// passes, the clipped and noised step against a brute-force computation, the accountant
// in the History, and the options' errors.
#include "citadel/privacy/private_fit.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"
#include "citadel/layers/batch_normalization.hpp"
#include "citadel/layers/conv2d.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/layers/flatten.hpp"
#include "citadel/privacy/accountant.hpp"

using namespace citadel;

namespace {

Sequential conv_model(uint64_t seed) {
  random::set_seed(seed);
  Sequential model;
  model.add(Conv2D(2, 3, {.input_shape = {5, 5, 1}, .activation = "relu"}));
  model.add(Flatten());
  model.add(Dense(4, {.activation = "tanh"}));
  model.add(Dense(3, {.activation = "softmax"}));
  model.compile({.loss = "sparse_categorical_crossentropy", .optimizer = SGD{.learning_rate = 0.1f}});
  return model;
}

struct Batch {
  Tensor x, y;
};
Batch batch(int64_t rows) {
  random::set_seed(9);
  Batch b{random::uniform(Shape{rows, 5, 5, 1}, 0.0f, 1.0f), Tensor(Shape{rows})};
  for (int64_t r = 0; r < rows; ++r) b.y[r] = static_cast<float>(r % 3);
  return b;
}

std::vector<float> gradient_of(Sequential& model, ConstTensorView x, ConstTensorView y) {
  model.compute_gradients(x, y);
  const auto g = model.parameters().trainable_grads();
  return {g.begin(), g.end()};
}

// The DP-SGD update computed the slow way: one backward pass per example.
std::vector<float> brute_force_private_update(Sequential& model, const Batch& b, float clip) {
  const auto& params = model.parameters();
  std::vector<double> sum(static_cast<size_t>(params.trainable_size()), 0.0);
  for (int64_t r = 0; r < b.x.shape(0); ++r) {
    const std::vector<float> g = gradient_of(model, b.x.rows(r, r + 1), b.y.rows(r, r + 1));
    double squared = 0;
    for (float v : g) squared += double(v) * v;
    const double factor = std::min(1.0, clip / std::sqrt(squared));
    for (size_t i = 0; i < g.size(); ++i) sum[i] += factor * g[i];
  }
  std::vector<float> update(sum.size());
  for (size_t i = 0; i < sum.size(); ++i) update[i] = static_cast<float>(sum[i] / double(b.x.shape(0)));
  return update;
}

}  // namespace

TEST(PrivateTraining, ClippedSumMatchesPerExampleBackwardPasses) {
  const Batch b = batch(6);
  for (float clip : {0.05f, 1e6f}) {  // every example clipped; none clipped
    Sequential reference = conv_model(3);
    reference.build(Shape{5, 5, 1});
    const std::vector<float> before(reference.parameters().values().begin(), reference.parameters().values().end());
    const std::vector<float> update = brute_force_private_update(reference, b, clip);

    Sequential model = conv_model(3);
    // One epoch of one full fixed-size batch with no noise: w ← w − lr · update.
    model.fit(b.x, b.y,
              {.epochs = 1, .batch_size = 6, .shuffle = false, .verbose = 0,
               .private_training = PrivateTraining{.l2_norm_clip = clip, .noise_multiplier = 0.0f,
                                                   .poisson_sampling = false}});
    const auto after = model.parameters().values();
    double worst = 0, largest = 0;
    for (size_t i = 0; i < update.size(); ++i) {
      worst = std::max(worst, std::fabs(double(before[i]) - 0.1 * update[i] - after[i]));
      largest = std::max(largest, std::fabs(0.1 * update[i]));
    }
    EXPECT_GT(largest, 1e-5) << clip;
    EXPECT_LT(worst, 1e-5 + 1e-3 * largest) << "clip " << clip;
  }
}

TEST(PrivateTraining, NoiseHasTheStandardDeviationOfTheMechanism) {
  // With a zero learning signal (clip tiny) the update is noise: σ·C / batch per coordinate.
  const Batch b = batch(64);
  Sequential model = conv_model(4);
  model.build(Shape{5, 5, 1});
  const std::vector<float> before(model.parameters().values().begin(), model.parameters().values().end());
  const float clip = 1e-6f, sigma = 2000.0f;
  model.fit(b.x, b.y,
            {.epochs = 1, .batch_size = 64, .verbose = 0,
             .private_training = PrivateTraining{.l2_norm_clip = clip, .noise_multiplier = sigma,
                                                 .poisson_sampling = false}});
  const auto after = model.parameters().values();
  double squared = 0;
  for (size_t i = 0; i < before.size(); ++i) squared += std::pow((after[i] - before[i]) / 0.1, 2);
  const double measured = std::sqrt(squared / double(before.size()));
  const double expected = double(sigma) * clip / 64;
  EXPECT_NEAR(measured, expected, 0.15 * expected);
}

TEST(PrivateTraining, FitPrivateReportsEpsilonPerEpoch) {
  random::set_seed(1);
  Tensor x = random::uniform(Shape{200, 4}, 0.0f, 1.0f), y(Shape{200, 1});
  for (int64_t r = 0; r < 200; ++r) y[r] = x[r * 4] > 0.5f ? 1.0f : 0.0f;
  Sequential model;
  model.add(Dense(8, {.input_dim = 4, .activation = "relu"}));
  model.add(Dense(1, {.activation = "sigmoid"}));
  model.compile({.loss = "binary_crossentropy", .optimizer = Adam{.learning_rate = 0.05f}, .metrics = {"accuracy"}});
  const History history =
      fit_private(model, x, y, {.epochs = 3, .batch_size = 20, .verbose = 0}, {.l2_norm_clip = 1.0f,
                                                                               .noise_multiplier = 1.0f});
  const auto& epsilons = history.history.at("epsilon");
  ASSERT_EQ(epsilons.size(), 3u);
  for (int e = 0; e < 3; ++e)  // q = 0.1, 10 steps per epoch
    EXPECT_NEAR(epsilons[e], dp_sgd_epsilon(0.1, 1.0, 10 * (e + 1), 1e-5).epsilon, 1e-9);
  EXPECT_LT(epsilons[0], epsilons[2]);
  // With a budget the noise is found for it.
  const PrivateTrainingPlan plan = plan_private_training(200, 20, 3, {.target_epsilon = 2.0});
  EXPECT_LE(plan.epsilon, 2.0);
  EXPECT_GT(plan.noise_multiplier, 0.5);
}

TEST(PrivateTraining, RejectsLayersWithoutPerExampleNormsAndBadOptions) {
  Sequential model;
  model.add(Dense(4, {.input_dim = 3}));
  model.add(BatchNormalization());
  model.add(Dense(1, {.activation = "sigmoid"}));
  model.compile({.loss = "binary_crossentropy"});
  const Tensor x = random::uniform(Shape{8, 3}), y(Shape{8, 1});
  EXPECT_THROW(model.fit(x, y, {.verbose = 0, .private_training = PrivateTraining{}}), NotImplementedError);
  Sequential dense;
  dense.add(Dense(1, {.input_dim = 3, .activation = "sigmoid"}));
  dense.compile({.loss = "binary_crossentropy"});
  EXPECT_THROW(dense.fit(x, y, {.verbose = 0, .private_training = PrivateTraining{.l2_norm_clip = 0.0f}}), ValueError);
  EXPECT_THROW(dense.fit(x, y, {.verbose = 0, .private_training = PrivateTraining{.noise_multiplier = -1.0f}}),
               ValueError);
}
