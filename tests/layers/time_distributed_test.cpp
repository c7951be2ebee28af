// TimeDistributed: the wrapped layer on every step with one set of weights (named as Keras
// names them), against the layer run step by step; masks passed through; configs; DP-SGD's
// per-example norms summed over the steps.
#include <gtest/gtest.h>

#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"
#include "citadel/layers/conv2d.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/layers/global_pooling1d.hpp"
#include "citadel/layers/masking.hpp"
#include "citadel/layers/merge.hpp"
#include "citadel/layers/time_distributed.hpp"
#include "citadel/model/model_config.hpp"
#include "citadel/model/sequential.hpp"
#include "grad_check.hpp"

namespace time_distributed_test {

using namespace citadel;

TEST(TimeDistributed, EachStepIsTheWrappedLayerWithSharedWeights) {
  random::set_seed(4);
  Sequential model;
  model.add(TimeDistributed(Dense(3, {.activation = "tanh"}), {.input_shape = {4, 5}}));
  model.build(Shape{4, 5});
  EXPECT_EQ(model.output_shape(), (Shape{4, 3}));
  EXPECT_EQ(model.count_params(), 5 * 3 + 3);
  const auto& names = model.parameters().parameters();
  ASSERT_EQ(names.size(), 2u);
  EXPECT_EQ(names[0].name, "time_distributed/dense/kernel");
  EXPECT_EQ(names[1].name, "time_distributed/dense/bias");
  // The same weights on one step at a time.
  Sequential step;
  step.add(Dense(3, {.activation = "tanh"}));
  step.build(Shape{5});
  step.set_weights(model.get_weights());
  const Tensor x = random::uniform(Shape{2, 4, 5}, -1.0f, 1.0f);
  const Tensor y = model.predict(x);
  ASSERT_EQ(y.shape(), (Shape{2, 4, 3}));
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t t = 0; t < 4; ++t) {
      Tensor row(Shape{1, 5});
      for (int64_t d = 0; d < 5; ++d) row[d] = x[(n * 4 + t) * 5 + d];
      const Tensor expected = step.predict(row);
      for (int64_t u = 0; u < 3; ++u) EXPECT_FLOAT_EQ(y[(n * 4 + t) * 3 + u], expected[u]) << n << " " << t;
    }
}

TEST(TimeDistributed, Gradients) {
  const TimeDistributed dense(Dense(3, {.activation = "sigmoid"}));
  EXPECT_TRUE(testkit::check_input_gradient(dense, Shape{2, 3, 4}));
  EXPECT_TRUE(testkit::check_param_gradients(dense, Shape{2, 3, 4}));
  const TimeDistributed conv(Conv2D(2, 2, {.padding = "same"}));
  EXPECT_TRUE(testkit::check_input_gradient(conv, Shape{2, 3, 3, 3, 2}));
  EXPECT_TRUE(testkit::check_param_gradients(conv, Shape{2, 3, 3, 3, 2}));
}

TEST(TimeDistributed, PassesAMaskOn) {
  random::set_seed(6);
  Sequential model;
  model.add(Masking(MaskingOptions{.input_shape = {5, 3}}));
  model.add(TimeDistributed(Dense(2)));
  model.add(GlobalAveragePooling1D());
  model.build(Shape{5, 3});
  EXPECT_TRUE(model.mask_warnings().empty());
  Tensor x = random::uniform(Shape{1, 5, 3}, 0.5f, 2.0f);
  for (int64_t t = 0; t < 2; ++t)
    for (int64_t c = 0; c < 3; ++c) x[t * 3 + c] = 0.0f;  // left padding: 3 real steps
  Tensor real(Shape{1, 3, 3});
  for (int64_t i = 0; i < 9; ++i) real[i] = x[6 + i];
  Sequential alone;
  alone.add(TimeDistributed(Dense(2), {.input_shape = {3, 3}}));
  alone.add(GlobalAveragePooling1D());
  alone.build(Shape{3, 3});
  alone.set_weights(model.get_weights());
  const Tensor y = model.predict(x), expected = alone.predict(real);
  for (int64_t u = 0; u < 2; ++u) EXPECT_NEAR(y[u], expected[u], 1e-6);
}

TEST(TimeDistributed, ConfigAsKerasWritesIt) {
  Sequential model = model_from_config(R"({"class_name": "Sequential", "config": {"name": "s", "layers": [
      {"class_name": "InputLayer", "config": {"batch_shape": [null, 4, 3]}},
      {"class_name": "TimeDistributed", "config": {"name": "td", "trainable": true, "dtype": "float32",
        "layer": {"module": "keras.layers", "class_name": "Dense", "registered_name": null,
                  "config": {"name": "proj", "units": 2, "activation": "relu", "use_bias": true}}}}]}})",
                                       "test config");
  model.build(Shape{4, 3});
  EXPECT_EQ(model.output_shape(), (Shape{4, 2}));
  EXPECT_EQ(model.parameters().parameters()[0].name, "td/proj/kernel");
  const std::string config = model_to_config(model);
  EXPECT_NE(config.find("\"TimeDistributed\""), std::string::npos) << config;
  EXPECT_NE(config.find("\"proj\""), std::string::npos) << config;
  // A frozen wrapped layer freezes its weights, as in Keras.
  Dense frozen(2);
  frozen.set_trainable(false);
  EXPECT_FALSE(TimeDistributed(frozen).trainable());
  EXPECT_TRUE(TimeDistributed(Dense(2)).trainable());
  // A wrapped layer of two inputs, and a wrapped layer's unknown key, are refused.
  EXPECT_THROW(TimeDistributed{Add()}, ValueError);
  EXPECT_THROW(model_from_config(R"({"class_name": "Sequential", "config": {"layers": [
      {"class_name": "TimeDistributed", "config": {"layer": {"class_name": "Dense", "config": {"units": 2, "bogus": 1}}}}]}})",
                                 "test config"),
               Error);
}

TEST(TimeDistributed, InputsOfFewerThanThreeAxesAreRefused) {
  Sequential model;
  model.add(TimeDistributed(Dense(2), {.input_shape = {4}}));
  EXPECT_THROW(model.build(Shape{4}), ShapeError);
}

}  // namespace time_distributed_test
