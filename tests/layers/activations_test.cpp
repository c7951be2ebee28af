// Activation functions: values from their formulas, gradients by finite differences.
#include <gtest/gtest.h>

#include <cmath>

#include "citadel/core/error.hpp"
#include "citadel/layers/activation.hpp"
#include "citadel/layers/activations.hpp"
#include "grad_check.hpp"

namespace activations_test {

using namespace citadel;

namespace {

float apply(const std::string& name, float value) {
  Tensor z(Shape{1, 1}, {value}), y(Shape{1, 1});
  ops::activation_forward(activation_from_name(name), z, y);
  return y[0];
}

}  // namespace

TEST(Activations, ValuesMatchTheirFormulas) {
  // Reference values worked out from each definition (e.g. elu(-1) = e^-1 - 1).
  EXPECT_FLOAT_EQ(apply("linear", -1.5f), -1.5f);
  EXPECT_FLOAT_EQ(apply("relu", -1.5f), 0.0f);
  EXPECT_FLOAT_EQ(apply("relu", 0.5f), 0.5f);
  EXPECT_FLOAT_EQ(apply("sigmoid", 0.0f), 0.5f);
  EXPECT_NEAR(apply("sigmoid", 2.0f), 0.8807970779778823, 1e-6);
  EXPECT_NEAR(apply("tanh", 0.5f), 0.46211715726000974, 1e-6);
  EXPECT_FLOAT_EQ(apply("leaky_relu", -2.0f), -0.4f);
  EXPECT_FLOAT_EQ(apply("leaky_relu", 3.0f), 3.0f);
  EXPECT_NEAR(apply("elu", -1.0f), -0.6321205588285577, 1e-6);
  EXPECT_NEAR(apply("selu", -1.0f), -1.1113307378125625, 1e-6);
  EXPECT_NEAR(apply("selu", 2.0f), 2.101401974710961, 1e-6);
  EXPECT_NEAR(apply("gelu", 1.0f), 0.8413447460685429, 1e-6);
  EXPECT_NEAR(apply("gelu", -1.0f), -0.15865525393145707, 1e-6);
  EXPECT_NEAR(apply("softplus", 0.0f), 0.6931471805599453, 1e-6);
  EXPECT_NEAR(apply("swish", 1.0f), 0.7310585786300049, 1e-6);
  EXPECT_NEAR(apply("silu", 1.0f), 0.7310585786300049, 1e-6);
}

TEST(Activations, StableAtExtremeInputs) {
  EXPECT_NEAR(apply("sigmoid", -100.0f), 3.720075976020836e-44, 1e-45);  // e^-100
  EXPECT_FLOAT_EQ(apply("sigmoid", 100.0f), 1.0f);
  EXPECT_FLOAT_EQ(apply("softplus", 100.0f), 100.0f);
  EXPECT_GE(apply("softplus", -100.0f), 0.0f);
  EXPECT_TRUE(std::isfinite(apply("swish", -100.0f)));
}

TEST(Activations, NaNPropagatesSoBadDataIsNoticed) {
  for (const std::string name : {"relu", "leaky_relu", "sigmoid", "tanh", "elu"})
    EXPECT_TRUE(std::isnan(apply(name, std::nanf("")))) << name;
}

TEST(Activations, SoftmaxRowsAreDistributionsEvenForHugeLogits) {
  Tensor z(Shape{2, 3}, {1, 2, 3, 1000, 1001, 1002}), y(Shape{2, 3});
  ops::activation_forward(ops::ActivationKind::kSoftmax, z, y);
  const double expected[3] = {0.09003057317038046, 0.24472847105479767, 0.6652409557748219};
  for (int row = 0; row < 2; ++row)
    for (int c = 0; c < 3; ++c) EXPECT_NEAR(y.at(row, c), expected[c], 1e-6);
}

TEST(Activations, UnknownNameListsTheKnownOnes) {
  try {
    activation_from_name("rleu");
    FAIL();
  } catch (const ValueError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("'rleu'"), std::string::npos);
    EXPECT_NE(message.find("relu"), std::string::npos);
    EXPECT_NE(message.find("softmax"), std::string::npos);
  }
}

class ActivationGradient : public ::testing::TestWithParam<std::string> {};

TEST_P(ActivationGradient, MatchesFiniteDifferences) {
  EXPECT_TRUE(testkit::check_input_gradient(Activation(GetParam()), Shape{4, 6}));
}

INSTANTIATE_TEST_SUITE_P(EveryActivation, ActivationGradient, ::testing::ValuesIn(known_activations()));

}  // namespace activations_test
