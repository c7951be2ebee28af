// Losses: values worked out by hand, gradients by finite differences, stable logits
// forms, and target validation with helpful messages.
#include <gtest/gtest.h>

#include <cmath>

#include "citadel/core/error.hpp"
#include "citadel/losses/loss.hpp"
#include "grad_check.hpp"

namespace losses_test {

using namespace citadel;

namespace {

double value(const Loss& loss, const Tensor& p, const Tensor& y) { return loss.compute(p, y, TensorView()); }

std::string error_of(const Loss& loss, const Shape& predictions, const Tensor& targets) {
  try {
    loss.check_targets(predictions, targets);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Losses, RegressionValuesByHand) {
  const Tensor p(Shape{3, 1}, {1, 2, 3}), y(Shape{3, 1}, {1, 1, 1});
  EXPECT_NEAR(value(*make_loss("mse"), p, y), 5.0 / 3.0, 1e-9);  // (0 + 1 + 4) / 3
  EXPECT_NEAR(value(*make_loss("mae"), p, y), 1.0, 1e-9);        // (0 + 1 + 2) / 3
  EXPECT_NEAR(value(*make_loss("huber"), p, y), 2.0 / 3.0, 1e-9);  // (0 + 0.5 + 1.5) / 3
  EXPECT_NEAR(value(*make_loss(Huber{.delta = 2.0f}), p, y), (0 + 0.5 + 2.0) / 3.0, 1e-9);
}

TEST(Losses, MseIsTwiceTheTextbookHalfMeanSquare) {
  // J(θ) = 1/(2m)·Σ(h − y)²; Keras's mean_squared_error = 1/m·Σ(h − y)².
  const Tensor p(Shape{4, 1}, {0.5f, -1, 2, 3}), y(Shape{4, 1}, {0, 0, 0, 1});
  double textbook = 0;
  for (int i = 0; i < 4; ++i) textbook += (p[i] - y[i]) * (p[i] - y[i]);
  textbook /= 2 * 4;
  EXPECT_NEAR(value(*make_loss("mean_squared_error"), p, y), 2 * textbook, 1e-7);
}

TEST(Losses, CrossEntropyValuesByHand) {
  // −(ln 0.9 + ln 0.8) / 2
  EXPECT_NEAR(value(*make_loss("binary_crossentropy"), Tensor(Shape{2, 1}, {0.9f, 0.2f}), Tensor(Shape{2, 1}, {1, 0})),
              0.164252033486018, 1e-6);
  // (ln(1 + e^−2) + ln(1 + e^−1)) / 2
  EXPECT_NEAR(value(*make_loss(BinaryCrossentropy{.from_logits = true}), Tensor(Shape{2, 1}, {2, -1}),
                    Tensor(Shape{2, 1}, {1, 0})),
              0.22009484928059768, 1e-6);
  const Tensor probabilities(Shape{2, 3}, {0.7f, 0.2f, 0.1f, 0.1f, 0.1f, 0.8f});
  // −(ln 0.7 + ln 0.8) / 2
  EXPECT_NEAR(value(*make_loss("categorical_crossentropy"), probabilities, Tensor(Shape{2, 3}, {1, 0, 0, 0, 0, 1})),
              0.2899092476264711, 1e-6);
  EXPECT_NEAR(value(*make_loss("sparse_categorical_crossentropy"), probabilities, Tensor(Shape{2}, {0, 2})),
              0.2899092476264711, 1e-6);
  // log(e + e² + e³) − 3
  EXPECT_NEAR(value(*make_loss(SparseCategoricalCrossentropy{.from_logits = true}), Tensor(Shape{1, 3}, {1, 2, 3}),
                    Tensor(Shape{1}, {2})),
              0.40760596444438, 1e-6);
}

TEST(Losses, LogitsFormsAgreeWithProbabilityForms) {
  const Tensor logits(Shape{3, 1}, {-2, 0.5f, 3}), y(Shape{3, 1}, {0, 1, 1});
  Tensor probabilities(Shape{3, 1});
  for (int i = 0; i < 3; ++i) probabilities[i] = 1.0f / (1.0f + std::exp(-logits[i]));
  EXPECT_NEAR(value(*make_loss(BinaryCrossentropy{.from_logits = true}), logits, y),
              value(*make_loss("binary_crossentropy"), probabilities, y), 1e-6);
}

TEST(Losses, LogitsFormsStayExactWhereProbabilitiesSaturate) {
  // A confidently wrong logit of 100: the loss is 100, not the clipped −ln(1e−7) ≈ 16.1.
  const double loss = value(*make_loss(BinaryCrossentropy{.from_logits = true}), Tensor(Shape{1, 1}, {100}),
                            Tensor(Shape{1, 1}, {0}));
  EXPECT_NEAR(loss, 100.0, 1e-4);
  const double categorical = value(*make_loss(CategoricalCrossentropy{.from_logits = true}),
                                   Tensor(Shape{1, 2}, {1000, -1000}), Tensor(Shape{1, 2}, {0, 1}));
  EXPECT_NEAR(categorical, 2000.0, 1e-2);
}

struct LossCase {
  std::string name;
  LossSpec spec;
  Tensor predictions, targets;
};

class LossGradient : public ::testing::TestWithParam<int> {};

TEST_P(LossGradient, MatchesFiniteDifferences) {
  const Tensor regression_p(Shape{3, 2}, {0.3f, -1.2f, 2.5f, 0.8f, -0.4f, 1.7f});
  const Tensor regression_y(Shape{3, 2}, {0.1f, 0.4f, 0.2f, -2.0f, 0.9f, 1.0f});
  const Tensor probabilities(Shape{3, 2}, {0.3f, 0.6f, 0.8f, 0.2f, 0.45f, 0.55f});
  const Tensor binary_y(Shape{3, 2}, {1, 0, 1, 1, 0, 1});
  const Tensor onehot(Shape{3, 2}, {1, 0, 0, 1, 0, 1});
  const Tensor sparse(Shape{3}, {0, 1, 1});
  const std::vector<LossCase> cases{
      {"mse", "mse", regression_p, regression_y},
      {"mae", "mae", regression_p, regression_y},
      {"huber", "huber", regression_p, regression_y},
      {"bce", "binary_crossentropy", probabilities, binary_y},
      {"bce_logits", BinaryCrossentropy{.from_logits = true}, regression_p, binary_y},
      {"cce", "categorical_crossentropy", probabilities, onehot},
      {"cce_logits", CategoricalCrossentropy{.from_logits = true}, regression_p, onehot},
      {"scce", "sparse_categorical_crossentropy", probabilities, sparse},
      {"scce_logits", SparseCategoricalCrossentropy{.from_logits = true}, regression_p, sparse},
  };
  const LossCase& c = cases.at(GetParam());
  EXPECT_TRUE(testkit::check_loss_gradient(*c.spec.make(), c.predictions, c.targets, {.epsilon = 1e-3}))
      << c.name;
}

INSTANTIATE_TEST_SUITE_P(EveryLoss, LossGradient, ::testing::Range(0, 9));

TEST(Losses, TargetChecksSayWhatIsWrong) {
  const std::string binary = error_of(*make_loss("binary_crossentropy"), Shape{2, 1}, Tensor(Shape{2, 1}, {0, 2}));
  EXPECT_EQ(binary, "binary_crossentropy: row 1 has target 2, which must lie in [0, 1] (class labels 0 and 1)");
  const std::string flat = error_of(*make_loss("binary_crossentropy"), Shape{3, 1}, Tensor(Shape{3}, {0, 1, -1}));
  EXPECT_EQ(flat, "binary_crossentropy: row 2 has target -1, which must lie in [0, 1] (class labels 0 and 1)");
  const std::string one_hot = error_of(*make_loss("categorical_crossentropy"), Shape{2, 3},
                                       Tensor(Shape{2, 3}, {1, 0, 0, 0, 0, 1.5f}));
  EXPECT_EQ(one_hot, "categorical_crossentropy: row 1, column 2 has target 1.5, which must lie in [0, 1] "
                     "(one-hot rows or class probabilities)");
  const std::string sparse =
      error_of(*make_loss("sparse_categorical_crossentropy"), Shape{2, 3}, Tensor(Shape{2}, {0, 3}));
  EXPECT_NE(sparse.find("row 1"), std::string::npos) << sparse;
  EXPECT_NE(sparse.find("0 to 2"), std::string::npos) << sparse;
  const std::string one_output =
      error_of(*make_loss("sparse_categorical_crossentropy"), Shape{2, 1}, Tensor(Shape{2}, {0, 1}));
  EXPECT_NE(one_output.find("binary_crossentropy"), std::string::npos) << one_output;
  const std::string indices_for_onehot =
      error_of(*make_loss("categorical_crossentropy"), Shape{2, 3}, Tensor(Shape{2, 1}, {0, 2}));
  EXPECT_NE(indices_for_onehot.find("sparse_categorical_crossentropy"), std::string::npos) << indices_for_onehot;
  EXPECT_EQ(error_of(*make_loss("mse"), Shape{2, 1}, Tensor(Shape{2}, {0.5f, 2})), "");
}

TEST(Losses, UnknownNameListsTheKnownOnes) {
  try {
    make_loss("binary_cross_entropy");
    FAIL();
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("binary_crossentropy"), std::string::npos);
  }
}

}  // namespace losses_test
