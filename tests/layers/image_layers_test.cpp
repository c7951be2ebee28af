// Image layers against values computed independently: a direct convolution loop, pooling
// windows by hand, batch normalization from its formula; Keras's summary of the W3 network;
// argument errors.
#include <gtest/gtest.h>

#include <cmath>

#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"
#include "citadel/layers/batch_normalization.hpp"
#include "citadel/layers/conv2d.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/layers/flatten.hpp"
#include "citadel/layers/global_pooling2d.hpp"
#include "citadel/layers/pooling2d.hpp"
#include "citadel/layers/reshape.hpp"
#include "citadel/model/sequential.hpp"
#include "grad_check.hpp"

namespace image_layers_test {

using namespace citadel;

namespace {

Tensor run(const Layer& prototype, const Tensor& x, Mode mode, testkit::BuiltLayer** keep = nullptr) {
  static std::unique_ptr<testkit::BuiltLayer> built;
  built = testkit::build_layer(prototype, x.shape(), 3);
  Tensor y;
  built->layer->forward(x, y, mode);
  if (keep) *keep = built.get();
  return y;
}

}  // namespace

TEST(Conv2DLayer, MatchesADirectConvolution) {
  // strides 2 and "same" padding with an even kernel: TensorFlow pads 0 before, 1 after.
  const Conv2D prototype(3, std::array<int64_t, 2>{2, 2}, {.strides = {2, 2}, .padding = "same"});
  const Tensor x = testkit::random_input(Shape{2, 5, 5, 2}, 4);
  testkit::BuiltLayer* built = nullptr;
  const Tensor y = run(prototype, x, Mode::kInfer, &built);
  ASSERT_EQ(y.shape(), (Shape{2, 3, 3, 3}));
  const ConstTensorView kernel = built->params.value(0), bias = built->params.value(1);
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t oh = 0; oh < 3; ++oh)
      for (int64_t ow = 0; ow < 3; ++ow)
        for (int64_t f = 0; f < 3; ++f) {
          double sum = bias[f];
          for (int64_t kh = 0; kh < 2; ++kh)
            for (int64_t kw = 0; kw < 2; ++kw)
              for (int64_t c = 0; c < 2; ++c) {
                const int64_t ih = oh * 2 + kh, iw = ow * 2 + kw;
                if (ih >= 5 || iw >= 5) continue;  // the padding at the end
                sum += double(x[((n * 5 + ih) * 5 + iw) * 2 + c]) * kernel[((kh * 2 + kw) * 2 + c) * 3 + f];
              }
          EXPECT_NEAR(y[((n * 3 + oh) * 3 + ow) * 3 + f], sum, 1e-5);
        }
}

TEST(PoolingLayers, WindowsByHand) {
  Tensor x(Shape{1, 3, 3, 1});
  for (int64_t i = 0; i < 9; ++i) x[i] = static_cast<float>(i);  // 0 1 2 / 3 4 5 / 6 7 8
  const Tensor max = run(MaxPooling2D(), x, Mode::kInfer);  // "valid": one 2x2 window
  ASSERT_EQ(max.shape(), (Shape{1, 1, 1, 1}));
  EXPECT_EQ(max[0], 4.0f);
  // "same" 2x2 stride 2 on 3x3: windows {0,1,3,4}, {2,5}, {6,7}, {8}; averages over pixels inside.
  const Tensor average = run(AveragePooling2D({2, 2}, {.padding = "same"}), x, Mode::kInfer);
  ASSERT_EQ(average.shape(), (Shape{1, 2, 2, 1}));
  EXPECT_FLOAT_EQ(average[0], 2.0f);
  EXPECT_FLOAT_EQ(average[1], 3.5f);
  EXPECT_FLOAT_EQ(average[2], 6.5f);
  EXPECT_FLOAT_EQ(average[3], 8.0f);
  EXPECT_FLOAT_EQ(run(GlobalAveragePooling2D(), x, Mode::kInfer)[0], 4.0f);
  EXPECT_FLOAT_EQ(run(GlobalMaxPooling2D(), x, Mode::kInfer)[0], 8.0f);
}

TEST(BatchNormalizationLayer, TrainingAndInferenceFollowTheFormula) {
  const Tensor x = testkit::random_input(Shape{8, 3}, 6);
  testkit::BuiltLayer* built = nullptr;
  BatchNormalizationOptions options;
  options.momentum = 0.9f;
  const Tensor y = run(BatchNormalization(options), x, Mode::kTrain, &built);
  // Parameter order: gamma, beta, moving_mean, moving_variance (non-trainable, last).
  const auto& params = built->params;
  EXPECT_EQ(params.trainable_size(), 6);
  EXPECT_EQ(params.size(), 12);
  const ConstTensorView gamma = params.value(0), beta = params.value(1);
  for (int64_t c = 0; c < 3; ++c) {
    double mean = 0, variance = 0;
    for (int64_t n = 0; n < 8; ++n) mean += x[n * 3 + c] / 8.0;
    for (int64_t n = 0; n < 8; ++n) variance += std::pow(x[n * 3 + c] - mean, 2) / 8.0;
    for (int64_t n = 0; n < 8; ++n)
      EXPECT_NEAR(y[n * 3 + c], gamma[c] * (x[n * 3 + c] - mean) / std::sqrt(variance + 1e-3) + beta[c], 1e-4);
  }
  // Inference uses the moving statistics: set them and check.
  TensorView moving_mean = built->params.value(2), moving_variance = built->params.value(3);
  for (int64_t c = 0; c < 3; ++c) moving_mean[c] = 0.5f * float(c), moving_variance[c] = 1.0f + float(c);
  Tensor inferred;
  built->layer->forward(x, inferred, Mode::kInfer);
  for (int64_t n = 0; n < 8; ++n)
    for (int64_t c = 0; c < 3; ++c)
      EXPECT_NEAR(inferred[n * 3 + c],
                  gamma[c] * (x[n * 3 + c] - 0.5 * c) / std::sqrt(1.0 + c + 1e-3) + beta[c], 1e-4);
}

TEST(ImageLayers, KerasSummaryOfTheW3Network) {
  Sequential model;
  model.add(Conv2D(32, {3, 3}, {.input_shape = {28, 28, 1}, .activation = "relu"}));
  model.add(MaxPooling2D({2, 2}));
  model.add(Conv2D(64, {3, 3}, {.activation = "relu"}));
  model.add(MaxPooling2D({2, 2}));
  model.add(Flatten());
  model.add(Dense(128, {.activation = "relu"}));
  model.add(BatchNormalization());
  model.add(Dense(10, {.activation = "softmax"}));
  const std::string summary = model.summary_text();
  // Keras: 3·3·1·32 + 32 = 320; 3·3·32·64 + 64 = 18,496; 5·5·64 = 1,600 → 1,600·128 + 128 =
  // 204,928; BatchNormalization 4·128 = 512 of which 256 non-trainable; 128·10 + 10 = 1,290.
  for (const char* expected : {"(None, 26, 26, 32)", "(None, 13, 13, 32)", "(None, 11, 11, 64)", "(None, 5, 5, 64)",
                               "(None, 1600)", "320", "18496", "204928", "512", "1290", "Total params: 225546",
                               "Trainable params: 225290", "Non-trainable params: 256"})
    EXPECT_NE(summary.find(expected), std::string::npos) << expected << "\n" << summary;
}

TEST(ImageLayers, ReshapeInfersOneDimensionAndArgumentsAreChecked) {
  ParameterStore params;
  EXPECT_EQ(Reshape({-1, 4}).build(Shape{2, 6}, params), (Shape{3, 4}));
  EXPECT_THROW(Reshape({5, -1}).build(Shape{12}, params), ShapeError);
  EXPECT_THROW(Reshape({-1, -1}), ValueError);
  EXPECT_THROW(Conv2D(0, 3), ValueError);
  EXPECT_THROW(Conv2D(4, 3, {.padding = "full"}), ValueError);
  EXPECT_THROW(Conv2D(4, 3, {.strides = {2, 2}, .dilation_rate = {2, 2}}), ValueError);
  EXPECT_THROW(Conv2D(4, 5).build(Shape{3, 3, 1}, params), ShapeError);  // the kernel does not fit
  EXPECT_THROW(Conv2D(4, 3).build(Shape{28, 28}, params), ShapeError);   // no channel axis
  EXPECT_THROW(MaxPooling2D({0, 2}), ValueError);
  EXPECT_THROW(BatchNormalization({.momentum = 1.5f}), ValueError);
}

}  // namespace image_layers_test
