// SpatialDropout1D: whole channels dropped per example in training (the same mask at every
// step), identity at inference, the backward through the same mask, masks passed through.
#include <gtest/gtest.h>

#include <cmath>

#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"
#include "citadel/layers/global_pooling1d.hpp"
#include "citadel/layers/masking.hpp"
#include "citadel/layers/spatial_dropout.hpp"
#include "citadel/model/model_config.hpp"
#include "citadel/model/sequential.hpp"
#include "grad_check.hpp"

namespace spatial_dropout_test {

using namespace citadel;

TEST(SpatialDropout1D, TrainingDropsWholeChannelsAboutRateOfThem) {
  const int64_t n = 200, steps = 7, channels = 50;
  const float rate = 0.3f;
  auto built = testkit::build_layer(SpatialDropout1D(rate), Shape{n, steps, channels});
  const Tensor x = random::uniform(Shape{n, steps, channels}, 0.5f, 2.0f);
  Tensor y;
  built->layer->forward(x, y, Mode::kTrain);
  int64_t dropped = 0;
  for (int64_t b = 0; b < n; ++b)
    for (int64_t c = 0; c < channels; ++c) {
      const bool zero = y[(b * steps) * channels + c] == 0.0f;
      dropped += zero;
      for (int64_t t = 0; t < steps; ++t) {  // the whole (example, channel) column: zero or scaled
        const int64_t i = (b * steps + t) * channels + c;
        if (zero) ASSERT_EQ(y[i], 0.0f) << b << " " << t << " " << c;
        else ASSERT_FLOAT_EQ(y[i], x[i] / (1.0f - rate)) << b << " " << t << " " << c;
      }
    }
  // 10,000 Bernoulli(0.3) columns: the share lies within 5 standard deviations (~0.023).
  const double columns = double(n * channels), bound = 5.0 * std::sqrt(rate * (1.0 - rate) / columns);
  EXPECT_NEAR(double(dropped) / columns, rate, bound);
}

TEST(SpatialDropout1D, InactiveAtInference) {
  auto built = testkit::build_layer(SpatialDropout1D(0.5f), Shape{4, 3, 2});
  const Tensor x = testkit::random_input(Shape{4, 3, 2}, 2);
  Tensor y, dx;
  built->layer->forward(x, y, Mode::kInfer);
  EXPECT_EQ(y.to_vector(), x.to_vector());
  built->layer->backward(x, dx);
  EXPECT_EQ(dx.to_vector(), x.to_vector());
}

TEST(SpatialDropout1D, BackwardUsesTheForwardMask) {
  auto built = testkit::build_layer(SpatialDropout1D(0.5f), Shape{10, 4, 6});
  const Tensor x = Tensor::full(Shape{10, 4, 6}, 1.0f);
  Tensor y, dx;
  built->layer->forward(x, y, Mode::kTrain);
  built->layer->backward(x, dx);
  EXPECT_EQ(dx.to_vector(), y.to_vector());  // both are 1 ⊙ mask
}

TEST(SpatialDropout1D, Gradients) {
  EXPECT_TRUE(testkit::check_input_gradient(SpatialDropout1D(0.4f), Shape{3, 5, 6}));
}

TEST(SpatialDropout1D, RefusesBadRatesAndInputsOfAnotherRank) {
  EXPECT_THROW(SpatialDropout1D(1.0f), ValueError);
  EXPECT_THROW(SpatialDropout1D(-0.1f), ValueError);
  Sequential flat;
  flat.add(SpatialDropout1D(0.2f, {.input_shape = {6}}));
  EXPECT_THROW(flat.build(Shape{6}), ShapeError);
}

TEST(SpatialDropout1D, PassesAMaskOn) {
  random::set_seed(3);
  Sequential model;
  model.add(Masking(MaskingOptions{.input_shape = {5, 3}}));
  model.add(SpatialDropout1D(0.5f));
  model.add(GlobalAveragePooling1D());
  model.build(Shape{5, 3});
  Tensor x = random::uniform(Shape{2, 5, 3}, 0.5f, 2.0f);
  for (int64_t t = 3; t < 5; ++t)
    for (int64_t c = 0; c < 3; ++c) x[(0 * 5 + t) * 3 + c] = 0.0f;  // row 0: 3 steps, then padding
  const Tensor y = model.predict(x);
  for (int64_t c = 0; c < 3; ++c) {
    float sum = 0.0f;
    for (int64_t t = 0; t < 3; ++t) sum += x[t * 3 + c];
    EXPECT_NEAR(y[c], sum / 3.0f, 1e-6) << c;  // the average of the kept steps only
  }
  EXPECT_TRUE(model.mask_warnings().empty());
}

TEST(SpatialDropout1D, ConfigAsKerasWritesIt) {
  Sequential model = model_from_config(R"({"class_name": "Sequential", "config": {"name": "s", "layers": [
      {"class_name": "InputLayer", "config": {"batch_shape": [null, 4, 3]}},
      {"class_name": "SpatialDropout1D", "config": {"name": "sd", "rate": 0.25, "seed": 7, "trainable": true,
                                                   "dtype": "float32"}}]}})",
                                       "test config");
  model.build(Shape{4, 3});
  const auto& layer = dynamic_cast<const SpatialDropout1D&>(model.layer(0));
  EXPECT_FLOAT_EQ(layer.rate(), 0.25f);
  EXPECT_NE(model_to_config(model).find("\"SpatialDropout1D\""), std::string::npos);
  EXPECT_THROW(model_from_config(R"({"class_name": "Sequential", "config": {"layers": [
      {"class_name": "SpatialDropout1D", "config": {"rate": 0.25, "noise_shape": [null, 1, 3]}}]}})",
                                 "test config"),
               Error);
}

}  // namespace spatial_dropout_test
