// L1/L2 penalties: part of the reported loss, with the right gradient.
#include <gtest/gtest.h>

#include <cmath>

#include "citadel/core/error.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/layers/regularizers.hpp"
#include "citadel/model/sequential.hpp"
#include "grad_check.hpp"

namespace regularizers_test {

using namespace citadel;

namespace {

Sequential regularized_model(Regularizer kernel, Regularizer bias) {
  random::set_seed(21);
  Sequential model;
  model.add(Dense(4, {.input_dim = 3, .activation = "tanh", .kernel_regularizer = kernel, .bias_regularizer = bias}));
  model.add(Dense(1, {.kernel_regularizer = kernel}));
  model.compile({.loss = "mse", .optimizer = "sgd"});
  model.build(Shape{3});
  // Non-zero biases, so that the bias penalty is visible.
  for (float& v : model.parameters().values()) v += 0.1f;
  return model;
}

}  // namespace

TEST(Regularizers, PenaltyIsAddedToTheReportedLoss) {
  Sequential model = regularized_model(L1L2(0.01f, 0.1f), L2(0.05f));
  const Tensor x = testkit::random_input(Shape{5, 3}, 4), y = testkit::random_input(Shape{5, 1}, 5);
  const Tensor p = model.predict(x);
  double mse = 0;
  for (int i = 0; i < 5; ++i) mse += (p[i] - y[i]) * (p[i] - y[i]);
  mse /= 5;
  double penalty = 0;
  const std::vector<Tensor> w = model.get_weights();  // kernel 1, bias 1, kernel 2, bias 2
  for (int k : {0, 2})
    for (int64_t i = 0; i < w[k].numel(); ++i) penalty += 0.01 * std::fabs(w[k][i]) + 0.1 * w[k][i] * w[k][i];
  for (int64_t i = 0; i < w[1].numel(); ++i) penalty += 0.05 * w[1][i] * w[1][i];
  EXPECT_NEAR(model.evaluate(x, y).at("loss"), mse + penalty, 1e-5);
}

TEST(Regularizers, GradientMatchesFiniteDifferences) {
  Sequential model = regularized_model(L1L2(0.02f, 0.1f), L1(0.03f));
  const Tensor x = testkit::random_input(Shape{6, 3}, 6), y = testkit::random_input(Shape{6, 1}, 7);
  EXPECT_LT(testkit::model_gradient_error(model, x, y), 1e-3);
}

TEST(Regularizers, KerasDefaultsAndValidation) {
  EXPECT_FLOAT_EQ(L2().l2, 0.01f);
  EXPECT_FLOAT_EQ(L1().l1, 0.01f);
  Sequential model;
  model.add(Dense(2, {.input_dim = 2, .kernel_regularizer = L2(-1.0f)}));
  EXPECT_THROW(model.build(Shape{2}), ValueError);
}

}  // namespace regularizers_test
