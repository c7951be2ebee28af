// Cross-validation: every fold trains a fresh model on the other folds.
#include <gtest/gtest.h>

#include <cmath>

#include "citadel/core/error.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/model/cross_validation.hpp"

namespace cross_validation_test {

using namespace citadel;

TEST(CrossValidate, FoldsCoverTheDataAndSummariesMatchTheFolds) {
  random::set_seed(41);
  // Two well separated blobs.
  Tensor x(Shape{100, 2}), y(Shape{100, 1});
  Rng rng(3);
  for (int i = 0; i < 100; ++i) {
    const int label = i % 2;
    x.at(i, 0) = float((label ? 2.0 : -2.0) + 0.5 * rng.normal());
    x.at(i, 1) = float(0.5 * rng.normal());
    y[i] = float(label);
  }
  int built = 0;
  auto build = [&] {
    ++built;
    Sequential model;
    model.add(Dense(4, {.input_dim = 2, .activation = "tanh"}));
    model.add(Dense(1, {.activation = "sigmoid"}));
    model.compile({.loss = "binary_crossentropy", .optimizer = Adam{.learning_rate = 0.05f}, .metrics = {"accuracy"}});
    return model;
  };
  const CrossValidationReport report = cross_validate(
      build, x, y, {.folds = 5, .seed = 1, .fit = {.epochs = 20, .verbose = 0}, .preprocess = standard_scaling()});
  EXPECT_EQ(built, 5);
  ASSERT_EQ(report.folds.size(), 5u);
  int64_t tested = 0;
  double sum = 0;
  for (const auto& fold : report.folds) {
    EXPECT_EQ(fold.train_rows + fold.test_rows, 100);
    EXPECT_EQ(fold.history.epoch.size(), 20u);
    tested += fold.test_rows;
    sum += fold.figures.at("accuracy");
  }
  EXPECT_EQ(tested, 100);
  EXPECT_NEAR(report.mean.at("accuracy"), sum / 5, 1e-12);
  EXPECT_GT(report.mean.at("accuracy"), 0.95);
  EXPECT_GE(report.std.at("accuracy"), 0.0);
  EXPECT_LT(report.std.at("accuracy"), 0.1);
}

TEST(CrossValidate, StandardScalingUsesTheFoldsTrainingRowsOnly) {
  Tensor train(Shape{2, 1}, {0, 2}), test(Shape{1, 1}, {4});
  standard_scaling()(train, test);
  EXPECT_FLOAT_EQ(train[0], -1.0f);
  EXPECT_FLOAT_EQ(test[0], 3.0f);  // (4 − 1) / 1 with the training mean and std
}

}  // namespace cross_validation_test
