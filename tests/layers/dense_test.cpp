// Dense: hand-computed forward, finite-difference gradients, weight round trip, shape errors.
#include <gtest/gtest.h>

#include "citadel/core/error.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/model/sequential.hpp"
#include "grad_check.hpp"

namespace dense_test {

using namespace citadel;

TEST(Dense, ForwardMatchesHandComputed) {
  auto built = testkit::build_layer(Dense(2, {.activation = "relu"}), Shape{2, 3});
  TensorView w = built->params.value(0), b = built->params.value(1);
  const float kernel[6] = {1, -1, 2, 0, 0, 3};  // (3, 2)
  for (int i = 0; i < 6; ++i) w[i] = kernel[i];
  b[0] = 0.5f;
  b[1] = -4.0f;
  Tensor x(Shape{2, 3}, {1, 2, 3, -1, 0, 1}), y;
  built->layer->forward(x, y, Mode::kInfer);
  // Row 1: [1·1 + 2·2 + 3·0 + 0.5, 1·(−1) + 2·0 + 3·3 − 4] = [5.5, 4]
  // Row 2: [−1 + 0 + 0 + 0.5, 1 + 0 + 3 − 4] = [−0.5 → relu 0, 0]
  EXPECT_EQ(y.to_vector(), (std::vector<float>{5.5f, 4.0f, 0.0f, 0.0f}));
}

TEST(Dense, InputGradient) { EXPECT_TRUE(testkit::check_input_gradient(Dense(4), Shape{3, 5})); }

TEST(Dense, ParamGradients) {
  EXPECT_TRUE(testkit::check_param_gradients(Dense(4), Shape{3, 5}));
  EXPECT_TRUE(testkit::check_param_gradients(Dense(3, {.activation = "sigmoid"}), Shape{4, 2}));
  EXPECT_TRUE(testkit::check_param_gradients(Dense(3, {.activation = "elu", .use_bias = false}), Shape{2, 3}));
}

TEST(Dense, WeightsRoundTripGiveIdenticalOutputs) {
  auto make = [] {
    Sequential model;
    model.add(Dense(6, {.input_dim = 4, .activation = "tanh"}));
    model.add(Dense(2));
    model.build(Shape{4});
    return model;
  };
  Sequential original = make(), copy = make();
  copy.set_weights(original.get_weights());
  const Tensor x = testkit::random_input(Shape{5, 4}, 3);
  EXPECT_EQ(original.predict(x).to_vector(), copy.predict(x).to_vector());
  std::vector<Tensor> wrong = original.get_weights();
  wrong.pop_back();
  EXPECT_THROW(copy.set_weights(wrong), ValueError);
}

TEST(Dense, RejectsWrongInputWidth) {
  auto built = testkit::build_layer(Dense(2), Shape{2, 3});
  Tensor x(Shape{2, 4}), y;
  try {
    built->layer->forward(x, y, Mode::kInfer);
    FAIL();
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("expected input (N, 3)"), std::string::npos) << e.what();
  }
}

TEST(Dense, RejectsBadSettings) {
  EXPECT_THROW(Dense(0), ValueError);
  EXPECT_THROW(Dense(3, {.activation = "nope"}), ValueError);
  EXPECT_THROW(Dense(3, {.kernel_initializer = "glorot"}), ValueError);
}

TEST(Dense, CountsParametersAsKeras) {
  Sequential model;
  model.add(Dense(10, {.input_dim = 8}));
  model.add(Dense(1, {.use_bias = false}));
  model.build(Shape{8});
  EXPECT_EQ(model.layer(0).parameter_count(), 90);
  EXPECT_EQ(model.layer(1).parameter_count(), 10);
  EXPECT_EQ(model.count_params(), 100);
}

}  // namespace dense_test
