// Adversarial examples: input gradients against finite differences, FGSM/PGD strength,
// the ε-ball and range constraints, targeted attacks and adversarial training.
#include "citadel/attacks/adversarial.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"
#include "citadel/layers/conv2d.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/layers/dropout.hpp"
#include "citadel/layers/flatten.hpp"
#include "citadel/layers/merge.hpp"
#include "citadel/data/split.hpp"
#include "citadel/privacy/membership.hpp"
#include "citadel/layers/pooling2d.hpp"

namespace adversarial_test {

using namespace citadel;

namespace {

// Two classes in [0, 1]^8: class 1 has larger values in the first four features.
struct Blobs {
  Tensor x, y;
};
Blobs blobs(int64_t rows, uint64_t seed) {
  Rng rng(seed);
  Blobs data{Tensor(Shape{rows, 8}), Tensor(Shape{rows, 1})};
  for (int64_t r = 0; r < rows; ++r) {
    const int label = static_cast<int>(r % 2);
    data.y[r] = static_cast<float>(label);
    for (int64_t f = 0; f < 8; ++f) {
      const double center = f < 4 ? (label ? 0.65 : 0.35) : 0.5;
      data.x[r * 8 + f] = static_cast<float>(std::clamp(center + 0.12 * rng.normal(), 0.0, 1.0));
    }
  }
  return data;
}

Sequential mlp(uint64_t seed) {
  random::set_seed(seed);
  Sequential model;
  model.add(Dense(16, {.input_dim = 8, .activation = "relu"}));
  model.add(Dropout(0.1f));
  model.add(Dense(1, {.activation = "sigmoid"}));
  model.compile({.loss = "binary_crossentropy", .optimizer = Adam{.learning_rate = 0.01f}, .metrics = {"accuracy"}});
  return model;
}

double mean_loss(Sequential& model, const Tensor& x, const Tensor& y) {
  const Tensor losses = model.per_example_loss(x, y);
  return std::accumulate(losses.data(), losses.data() + losses.numel(), 0.0) / double(losses.numel());
}

double accuracy(Sequential& model, const Tensor& x, const Tensor& y) {
  const auto correct = correct_predictions(model, x, y);
  return double(std::count(correct.begin(), correct.end(), 1)) / double(correct.size());
}

class Attacks : public ::testing::Test {
 protected:
  void SetUp() override {
    train = blobs(400, 1);
    test = blobs(200, 2);
    model.fit(train.x, train.y, {.epochs = 30, .batch_size = 32, .verbose = 0});
  }
  Blobs train, test;
  Sequential model = mlp(3);
};

}  // namespace

TEST(InputGradient, MatchesFiniteDifferencesOfTheMeanLoss) {
  random::set_seed(5);
  Sequential model;
  model.add(Conv2D(3, 3, {.input_shape = {5, 5, 2}, .padding = "same", .activation = "tanh"}));
  model.add(MaxPooling2D());
  model.add(Flatten());
  model.add(Dense(4, {.activation = "softmax"}));
  model.add(Dropout(0.5f));  // inactive: attacks see the inference-mode model
  model.compile({.loss = "sparse_categorical_crossentropy"});
  const Tensor x = random::uniform(Shape{3, 5, 5, 2}, 0.0f, 1.0f);
  Tensor y(Shape{3});
  y[0] = 0, y[1] = 2, y[2] = 3;
  const Tensor gradient = model.input_gradient(x, y);
  ASSERT_EQ(gradient.shape(), x.shape());
  Tensor probe = x;
  double worst = 0, largest = 0;
  for (int64_t i = 0; i < x.numel(); ++i) {
    const float saved = probe[i];
    probe[i] = saved + 1e-3f;
    const double plus = model.evaluate(probe, y, {.batch_size = 3}).at("loss");
    probe[i] = saved - 1e-3f;
    const double minus = model.evaluate(probe, y, {.batch_size = 3}).at("loss");
    probe[i] = saved;
    worst = std::max(worst, std::fabs((plus - minus) / 2e-3 - gradient[i]));
    largest = std::max(largest, double(std::fabs(gradient[i])));
  }
  EXPECT_GT(largest, 1e-3);  // the check is not vacuous
  EXPECT_LT(worst, 2e-3 + 0.02 * largest);
}

TEST_F(Attacks, EpsilonZeroChangesNothing) {
  for (const char* method : {"fgsm", "pgd"}) {
    const Tensor adversarial = adversarial_examples(model, test.x, test.y, {.method = method, .epsilon = 0.0f});
    for (int64_t i = 0; i < test.x.numel(); ++i) ASSERT_EQ(adversarial[i], test.x[i]) << method;
  }
}

TEST_F(Attacks, FgsmRaisesTheLossAndPgdIsAtLeastAsStrong) {
  const double clean = mean_loss(model, test.x, test.y);
  const Tensor fgsm = adversarial_examples(model, test.x, test.y, {.method = "fgsm", .epsilon = 0.1f});
  const Tensor pgd = adversarial_examples(model, test.x, test.y,
                                          {.method = "pgd", .epsilon = 0.1f, .steps = 20, .restarts = 2});
  const double fgsm_loss = mean_loss(model, fgsm, test.y), pgd_loss = mean_loss(model, pgd, test.y);
  EXPECT_GT(fgsm_loss, clean * 1.5);
  EXPECT_GE(pgd_loss, fgsm_loss * 0.999);
  EXPECT_LE(accuracy(model, pgd, test.y), accuracy(model, fgsm, test.y));
  EXPECT_LT(accuracy(model, pgd, test.y), accuracy(model, test.x, test.y) - 0.2);
}

TEST_F(Attacks, ExamplesStayInsideTheBallAndTheRange) {
  Tensor low(Shape{8}), high(Shape{8});
  for (int64_t f = 0; f < 8; ++f) low[f] = 0.2f, high[f] = 0.8f;
  for (const char* norm : {"linf", "l2"})
    for (const char* method : {"fgsm", "pgd"}) {
      const float epsilon = 0.15f;
      AttackOptions options{.method = method, .norm = norm, .epsilon = epsilon, .restarts = 2};
      options.feature_min = low;
      options.feature_max = high;
      const Tensor adversarial = adversarial_examples(model, test.x, test.y, options);
      double moved = 0;
      for (int64_t r = 0; r < test.x.shape(0); ++r) {
        double linf = 0, squared = 0;
        for (int64_t f = 0; f < 8; ++f) {
          const float original = test.x[r * 8 + f], value = adversarial[r * 8 + f];
          const double d = double(value) - original;
          linf = std::max(linf, std::fabs(d));
          squared += d * d;
          // The range, widened to contain the original.
          ASSERT_GE(value, std::min(0.2f, original)) << norm << " " << method;
          ASSERT_LE(value, std::max(0.8f, original)) << norm << " " << method;
        }
        const double size = std::string(norm) == "linf" ? linf : std::sqrt(squared);
        ASSERT_LE(size, epsilon * (1 + 1e-5)) << norm << " " << method << " row " << r;
        moved += size;
      }
      EXPECT_GT(moved / double(test.x.shape(0)), epsilon * 0.3) << norm << " " << method;  // they did move
    }
}

TEST_F(Attacks, TargetedAttacksReachTheirTarget) {
  Tensor targets(test.y.shape());
  for (int64_t r = 0; r < targets.numel(); ++r) targets[r] = 1.0f - test.y[r];  // the other class
  AttackOptions options{.method = "pgd", .epsilon = 0.2f, .steps = 20};
  options.targets = targets;
  const auto curve = robustness_curve(model, test.x, test.y, options, {0.0, 0.2});
  EXPECT_LT(curve[0].attack_success, 0.2);  // clean: most rows are not the other class
  EXPECT_GT(curve[1].attack_success, 0.6);
  EXPECT_DOUBLE_EQ(curve[0].mean_linf, 0.0);
  EXPECT_LE(curve[1].mean_linf, 0.2 + 1e-6);
}

TEST_F(Attacks, AdversarialTrainingRaisesRobustAccuracy) {
  const AttackOptions attack{.method = "pgd", .epsilon = 0.12f, .steps = 10};
  const double before = robustness_curve(model, test.x, test.y, attack, {0.12})[0].accuracy;
  Sequential robust = mlp(3);
  robust.fit(train.x, train.y,
             {.epochs = 30, .batch_size = 32, .verbose = 0, .batch_transform = adversarial_training(attack, 0.0)});
  const double after = robustness_curve(robust, test.x, test.y, attack, {0.12})[0].accuracy;
  EXPECT_GT(after, before + 0.1) << "robust accuracy " << before << " -> " << after;
}

TEST_F(Attacks, RejectsBadOptions) {
  EXPECT_THROW(adversarial_examples(model, test.x, test.y, {.method = "cw"}), ValueError);
  EXPECT_THROW(adversarial_examples(model, test.x, test.y, {.norm = "l1"}), ValueError);
  EXPECT_THROW(adversarial_examples(model, test.x, test.y, {.epsilon = -1.0f}), ValueError);
  AttackOptions wrong{.epsilon = 0.1f};
  wrong.feature_min = Tensor(Shape{3});
  EXPECT_THROW(adversarial_examples(model, test.x, test.y, wrong), ShapeError);
}

namespace {

// Two inputs (image-like features and a side channel), two outputs.
Model two_input_model() {
  random::set_seed(61);
  const SymbolicTensor pixels = Input({6}, {.name = "pixels"}), side = Input({2}, {.name = "side"});
  const SymbolicTensor h = Concatenate()({Dense(8, {.activation = "tanh"})(pixels), Dense(4, {.activation = "tanh"})(side)});
  Model model({pixels, side}, {Dense(3, {.activation = "softmax"}).named("kind")(h), Dense(1).named("size")(h)});
  model.compile({.loss = LossSpec(), .optimizer = "adam",
                 .losses = {{"kind", LossSpec("sparse_categorical_crossentropy")}, {"size", LossSpec("mse")}}});
  return model;
}

}  // namespace

// The gradient an attack follows, for a chosen input of a two-input model, is the finite
// difference of the (weighted) mean loss in that input; the other input's is not touched.
TEST(InputGradient, OfAChosenInputOfAGraphMatchesFiniteDifferences) {
  Model model = two_input_model();
  random::set_seed(62);
  const Tensor pixels = random::uniform({4, 6}, -1, 1), side = random::uniform({4, 2}, -1, 1);
  const Tensor kind = random::randint(0, 3, {4}), size = random::uniform({4, 1}, -1, 1);
  const std::vector<ConstTensorView> y{kind, size};
  for (const int input : {0, 1}) {
    std::vector<Tensor> x{pixels, side};
    const Tensor gradient = model.input_gradient({x[0], x[1]}, y, input);
    ASSERT_EQ(gradient.shape(), x[size_t(input)].shape());
    double worst = 0;
    for (int64_t i = 0; i < gradient.numel(); ++i) {
      const float saved = x[size_t(input)][i];
      x[size_t(input)][i] = saved + 1e-3f;
      const double plus = model.evaluate({x[0], x[1]}, y).at("loss");
      x[size_t(input)][i] = saved - 1e-3f;
      const double minus = model.evaluate({x[0], x[1]}, y).at("loss");
      x[size_t(input)][i] = saved;
      worst = std::max(worst, std::fabs((plus - minus) / 2e-3 - gradient[i]));
    }
    EXPECT_LT(worst, 1e-3) << "input " << input;
  }
}

// FGSM and PGD on one input of a two-input, two-output model: that input moves within its
// ε-ball, the loss rises, the other input is what the model saw all along.
TEST(GraphAttacks, OnAChosenInputOfAGraphModel) {
  Model model = two_input_model();
  random::set_seed(63);
  const Tensor pixels = random::uniform({40, 6}, 0, 1), side = random::uniform({40, 2}, 0, 1);
  const Tensor kind = random::randint(0, 3, {40}), size = random::uniform({40, 1});
  model.fit({pixels, side}, {kind, size}, {.epochs = 20, .batch_size = 8, .verbose = 0});
  const double clean = model.evaluate({pixels, side}, {kind, size}).at("loss");
  for (const char* method : {"fgsm", "pgd"}) {
    const AttackOptions options{.method = method, .epsilon = 0.1f, .input = 0};
    const Tensor attacked = adversarial_examples(model, {pixels, side}, {kind, size}, options);
    ASSERT_EQ(attacked.shape(), pixels.shape());
    double largest = 0;
    for (int64_t i = 0; i < attacked.numel(); ++i) largest = std::max(largest, double(std::fabs(attacked[i] - pixels[i])));
    EXPECT_LE(largest, 0.1 + 1e-6) << method;
    EXPECT_GT(largest, 0.05) << method;
    EXPECT_GT(model.evaluate({attacked, side}, {kind, size}).at("loss"), clean) << method;
  }
  const Tensor side_attacked =
      adversarial_examples(model, {pixels, side}, {kind, size}, {.method = "fgsm", .epsilon = 0.2f, .input = 1});
  EXPECT_EQ(side_attacked.shape(), side.shape());
  EXPECT_THROW(adversarial_examples(model, {pixels, side}, {kind, size}, {.input = 2}), ValueError);
  // Adversarial training attacks the chosen input of each batch and trains.
  AttackOptions attack{.method = "fgsm", .epsilon = 0.1f, .input = 0};
  const History history = model.fit({pixels, side}, {kind, size},
                                    {.epochs = 2, .batch_size = 8, .verbose = 0,
                                     .batch_transform = adversarial_training(attack)});
  EXPECT_TRUE(std::isfinite(history["loss"].back()));
}

// The membership audit on a graph model: an overfit two-input model leaks membership.
TEST(GraphAttacks, MembershipAuditRunsOnAGraphModel) {
  Model model = two_input_model();
  random::set_seed(64);
  const Tensor pixels = random::normal({80, 6}), side = random::normal({80, 2});
  const Tensor kind = random::randint(0, 3, {80}), size = random::normal({80, 1});
  const std::vector<int64_t> first = [] { std::vector<int64_t> r(40); std::iota(r.begin(), r.end(), 0); return r; }();
  const std::vector<int64_t> last = [] { std::vector<int64_t> r(40); std::iota(r.begin(), r.end(), 40); return r; }();
  const Tensor mp = take_rows(pixels, first), ms = take_rows(side, first), mk = take_rows(kind, first),
               mz = take_rows(size, first);
  const Tensor hp = take_rows(pixels, last), hs = take_rows(side, last), hk = take_rows(kind, last),
               hz = take_rows(size, last);
  model.fit({mp, ms}, {mk, mz}, {.epochs = 150, .batch_size = 8, .verbose = 0});
  const auto results = audit_membership(model, {mp, ms}, {mk, mz}, {hp, hs}, {hk, hz}, [] { return two_input_model(); },
                                        {.reference_epochs = 30});
  ASSERT_EQ(results.size(), 2u);
  EXPECT_GT(results[0].auc, 0.6) << "random labels learned by heart: members have lower loss";
  EXPECT_EQ(results[0].members, 40);
}

}  // namespace adversarial_test
