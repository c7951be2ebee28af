// Dropout: inverted scaling in training, identity at inference, seeded masks.
#include <gtest/gtest.h>

#include "citadel/core/error.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/layers/dropout.hpp"
#include "citadel/model/sequential.hpp"
#include "grad_check.hpp"

namespace dropout_test {

using namespace citadel;

TEST(Dropout, TrainingZeroesAboutRateAndScalesTheRest) {
  auto built = testkit::build_layer(Dropout(0.25f), Shape{200, 50});
  const Tensor x = Tensor::full(Shape{200, 50}, 2.0f);
  Tensor y;
  built->layer->forward(x, y, Mode::kTrain);
  int64_t zeros = 0;
  for (int64_t i = 0; i < y.numel(); ++i) {
    if (y[i] == 0.0f) ++zeros;
    else EXPECT_FLOAT_EQ(y[i], 2.0f / 0.75f);
  }
  EXPECT_NEAR(double(zeros) / double(y.numel()), 0.25, 0.015);
}

TEST(Dropout, InactiveAtInference) {
  auto built = testkit::build_layer(Dropout(0.5f), Shape{4, 3});
  const Tensor x = testkit::random_input(Shape{4, 3}, 2);
  Tensor y, dx;
  built->layer->forward(x, y, Mode::kInfer);
  EXPECT_EQ(y.to_vector(), x.to_vector());
  built->layer->backward(x, dx);
  EXPECT_EQ(dx.to_vector(), x.to_vector());
}

TEST(Dropout, BackwardUsesTheForwardMask) {
  auto built = testkit::build_layer(Dropout(0.5f), Shape{10, 10});
  const Tensor x = Tensor::full(Shape{10, 10}, 1.0f);
  Tensor y, dx;
  built->layer->forward(x, y, Mode::kTrain);
  built->layer->backward(x, dx);
  EXPECT_EQ(dx.to_vector(), y.to_vector());  // both are x ⊙ mask with x = 1
}

TEST(Dropout, InputGradient) { EXPECT_TRUE(testkit::check_input_gradient(Dropout(0.4f), Shape{3, 7})); }

TEST(Dropout, ModelPredictionsAreDeterministicAndSeeded) {
  auto make = [](uint64_t seed) {
    random::set_seed(seed);
    Sequential model;
    model.add(Dense(16, {.input_dim = 4, .activation = "relu"}));
    model.add(Dropout(0.5f));
    model.add(Dense(1, {.activation = "sigmoid"}));
    model.compile({.loss = "binary_crossentropy", .optimizer = "sgd"});
    return model;
  };
  Sequential model = make(1);
  const Tensor x = random::uniform({8, 4}), y = random::randint(0, 2, {8, 1});
  EXPECT_EQ(model.predict(x).to_vector(), model.predict(x).to_vector());
  EXPECT_DOUBLE_EQ(model.evaluate(x, y).at("loss"), model.evaluate(x, y).at("loss"));
  // Training steps differ from one another (new masks) but repeat under the same seed.
  Sequential a = make(2), b = make(2);
  EXPECT_EQ(a.compute_gradients(x, y), b.compute_gradients(x, y));
  EXPECT_NE(a.compute_gradients(x, y), a.compute_gradients(x, y));
}

TEST(Dropout, RejectsBadRate) {
  EXPECT_THROW(Dropout(1.0f), ValueError);
  EXPECT_THROW(Dropout(-0.1f), ValueError);
}

}  // namespace dropout_test
