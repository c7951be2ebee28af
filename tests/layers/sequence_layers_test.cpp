// Sequence layers against values computed independently: a direct 1-D convolution loop
// for each padding (causal by its definition: step t sees only steps ≤ t), pooling windows
// by hand, layer normalization from its formula in double precision, Masking's and
// GlobalAveragePooling1D's masks; argument and shape errors naming the layer.
#include <gtest/gtest.h>

#include <cmath>

#include "citadel/core/error.hpp"
#include "citadel/layers/conv1d.hpp"
#include "citadel/layers/conv2d.hpp"
#include "citadel/layers/global_pooling1d.hpp"
#include "citadel/layers/layer_normalization.hpp"
#include "citadel/layers/masking.hpp"
#include "citadel/layers/pooling1d.hpp"
#include "citadel/model/sequential.hpp"
#include "grad_check.hpp"

namespace sequence_layers_test {

using namespace citadel;

namespace {

Tensor run(const Layer& prototype, const Tensor& x, testkit::BuiltLayer** keep = nullptr) {
  static std::unique_ptr<testkit::BuiltLayer> built;
  built = testkit::build_layer(prototype, x.shape(), 3);
  Tensor y;
  built->layer->forward(x, y, Mode::kInfer);
  if (keep) *keep = built.get();
  return y;
}

// y[n, o, f] = b[f] + Σ_k Σ_c x[n, o·s + k·d − pad, c] · w[k, c, f], zero outside the input.
void expect_direct_convolution(const Tensor& x, const Tensor& y, ConstTensorView kernel, ConstTensorView bias,
                               int64_t K, int64_t stride, int64_t dilation, int64_t pad) {
  const int64_t N = x.shape(0), T = x.shape(1), C = x.shape(2), O = y.shape(1), F = y.shape(2);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o)
      for (int64_t f = 0; f < F; ++f) {
        double sum = bias.empty() ? 0.0 : bias[f];
        for (int64_t k = 0; k < K; ++k) {
          const int64_t t = o * stride + k * dilation - pad;
          if (t < 0 || t >= T) continue;
          for (int64_t c = 0; c < C; ++c) sum += double(x[(n * T + t) * C + c]) * kernel[(k * C + c) * F + f];
        }
        EXPECT_NEAR(y[(n * O + o) * F + f], sum, 1e-5) << "n " << n << " o " << o << " f " << f;
      }
}

}  // namespace

TEST(Conv1DLayer, MatchesADirectConvolutionForEachPadding) {
  const Tensor x = testkit::random_input(Shape{2, 7, 3}, 4);
  struct Case {
    Conv1DOptions options;
    int64_t K, steps_out, pad;
  };
  const std::vector<Case> cases = {
      {{}, 3, 5, 0},                                            // valid
      {{.strides = 2, .padding = "same"}, 4, 4, 1},             // same: 7 → ⌈7/2⌉, TensorFlow pads 1 before
      {{.padding = "same", .dilation_rate = 2}, 3, 7, 2},       // same, dilated: span 5, 2 before
      {{.padding = "causal", .dilation_rate = 2}, 3, 7, 4},     // causal: (K−1)·d zeros before, none after
      {{.strides = 3, .padding = "causal", .use_bias = false}, 2, 3, 1},
  };
  for (const Case& c : cases) {
    testkit::BuiltLayer* built = nullptr;
    const Tensor y = run(Conv1D(2, c.K, c.options), x, &built);
    ASSERT_EQ(y.shape(), (Shape{2, c.steps_out, 2})) << c.options.padding;
    ASSERT_EQ(built->params.parameters()[0].shape, (Shape{c.K, 3, 2})) << "Keras's kernel layout (kernel_size, in, filters)";
    expect_direct_convolution(x, y, built->params.value(0),
                              c.options.use_bias ? ConstTensorView(built->params.value(1)) : ConstTensorView(), c.K,
                              c.options.strides, c.options.dilation_rate, c.pad);
  }
}

TEST(Conv1DLayer, CausalOutputsDoNotSeeLaterSteps) {
  const Conv1D prototype(2, 3, {.padding = "causal", .dilation_rate = 2});
  Tensor x = testkit::random_input(Shape{1, 8, 2}, 5);
  const Tensor before = run(prototype, x);
  for (int64_t c = 0; c < 2; ++c) x[5 * 2 + c] += 3.0f;  // change step 5
  const Tensor after = run(prototype, x);
  for (int64_t t = 0; t < 8; ++t)
    for (int64_t f = 0; f < 2; ++f) {
      if (t < 5) {
        EXPECT_EQ(before[t * 2 + f], after[t * 2 + f]) << "step " << t << " saw step 5";
      } else if (t == 5) {
        EXPECT_NE(before[t * 2 + f], after[t * 2 + f]);
      }
    }
}

TEST(Conv1DLayer, ArgumentAndShapeErrorsNameTheLayer) {
  EXPECT_THROW(Conv1D(2, 3, {.padding = "full"}), ValueError);
  EXPECT_THROW(Conv1D(0, 3), ValueError);
  EXPECT_THROW(Conv1D(2, 3, {.strides = 2, .dilation_rate = 2}), ValueError);
  Sequential model;
  model.add(Conv1D(2, 9));  // Sequential names it conv1d
  try {
    model.build(Shape{5, 3});
    FAIL() << "a kernel of 9 in 5 steps";
  } catch (const ShapeError& error) {
    EXPECT_NE(std::string(error.what()).find("conv1d (Conv1D): a kernel of 9"), std::string::npos) << error.what();
  }
  Sequential images;
  images.add(Conv1D(2, 3));
  try {
    images.build(Shape{5, 5, 3});
    FAIL() << "images are not sequences";
  } catch (const ShapeError& error) {
    EXPECT_NE(std::string(error.what()).find("conv1d (Conv1D): expected sequences"), std::string::npos) << error.what();
  }
}

TEST(Pooling1DLayers, WindowsByHand) {
  // One sequence of 5 steps, 2 channels: channel 1 is channel 0 negated.
  const std::vector<float> steps = {3, -1, 4, 1, -5};
  Tensor x(Shape{1, 5, 2});
  for (int64_t t = 0; t < 5; ++t) {
    x[t * 2] = steps[size_t(t)];
    x[t * 2 + 1] = -steps[size_t(t)];
  }
  const Tensor max_valid = run(MaxPooling1D(), x);  // windows {3,-1}, {4,1}
  ASSERT_EQ(max_valid.shape(), (Shape{1, 2, 2}));
  EXPECT_EQ(max_valid.to_vector(), (std::vector<float>{3, 1, 4, -1}));
  // "same", pool 3, stride 2: 3 windows; TensorFlow pads 1 before and after: {3,-1}, {-1,4,1}, {1,-5}.
  const Tensor max_same = run(MaxPooling1D(3, {.strides = 2, .padding = "same"}), x);
  ASSERT_EQ(max_same.shape(), (Shape{1, 3, 2}));
  EXPECT_EQ(max_same.to_vector(), (std::vector<float>{3, 1, 4, 1, 1, 5}));
  // The average divides by the steps inside the sequence, never the padding.
  const Tensor average_same = run(AveragePooling1D(3, {.strides = 2, .padding = "same"}), x);
  const std::vector<float> means = {(3 - 1) / 2.0f, (-1 + 4 + 1) / 3.0f, (1 - 5) / 2.0f};
  for (int64_t w = 0; w < 3; ++w) {
    EXPECT_NEAR(average_same[w * 2], means[size_t(w)], 1e-6);
    EXPECT_NEAR(average_same[w * 2 + 1], -means[size_t(w)], 1e-6);
  }
  EXPECT_THROW(MaxPooling1D(0), ValueError);
  EXPECT_THROW(AveragePooling1D(2, {.padding = "causal"}), ValueError);
}

TEST(LayerNormalizationLayer, MatchesItsFormulaPerStep) {
  const Tensor x = testkit::random_input(Shape{2, 3, 5}, 6);
  testkit::BuiltLayer* built = nullptr;
  const Tensor y = run(LayerNormalization(LayerNormalizationOptions{.beta_initializer = "glorot_uniform",
                                                                    .gamma_initializer = "glorot_uniform"}),
                       x, &built);
  ASSERT_TRUE(built->params.parameters()[0].name.ends_with("/gamma")) << "Keras's order: gamma, then beta";
  ASSERT_TRUE(built->params.parameters()[1].name.ends_with("/beta"));
  const ConstTensorView gamma = built->params.value(0), beta = built->params.value(1);
  for (int64_t r = 0; r < 6; ++r) {
    double mean = 0, variance = 0;
    for (int64_t d = 0; d < 5; ++d) mean += x[r * 5 + d] / 5.0;
    for (int64_t d = 0; d < 5; ++d) variance += (x[r * 5 + d] - mean) * (x[r * 5 + d] - mean) / 5.0;
    for (int64_t d = 0; d < 5; ++d)
      EXPECT_NEAR(y[r * 5 + d], (x[r * 5 + d] - mean) / std::sqrt(variance + 1e-3) * gamma[d] + beta[d], 1e-5);
  }
  EXPECT_THROW(LayerNormalization(LayerNormalizationOptions{.epsilon = 0}), ValueError);
}

TEST(MaskingLayer, ZeroesAndMasksTheStepsWhoseFeaturesAllEqualTheMaskValue) {
  // Steps: all -1 (masked), one feature -1 (kept), none -1 (kept), all -1 again (masked).
  const Tensor x(Shape{1, 4, 2}, {-1, -1, -1, 2, 3, 4, -1, -1});
  testkit::BuiltLayer* built = nullptr;
  const Tensor y = run(Masking(-1.0f), x, &built);
  EXPECT_EQ(y.to_vector(), (std::vector<float>{0, 0, -1, 2, 3, 4, 0, 0}));
  Tensor mask;
  const ConstTensorView inputs[1] = {x}, masks[1] = {ConstTensorView()};
  built->layer->compute_mask(inputs, masks, mask);
  EXPECT_EQ(mask.shape(), (Shape{1, 4}));
  EXPECT_EQ(mask.to_vector(), (std::vector<float>{0, 1, 1, 0}));
  // No gradient reaches a masked step.
  Tensor dx;
  built->layer->backward(Tensor::full(Shape{1, 4, 2}, 1.0f), dx);
  EXPECT_EQ(dx.to_vector(), (std::vector<float>{0, 0, 1, 1, 1, 1, 0, 0}));
  Sequential flat;
  flat.add(Masking());
  try {
    flat.build(Shape{4});
    FAIL() << "a mask needs a time axis";
  } catch (const ShapeError& error) {
    EXPECT_NE(std::string(error.what()).find("masking (Masking): expected sequences"), std::string::npos) << error.what();
  }
}

TEST(GlobalAveragePooling1DLayer, AveragesTheKeptStepsOnly) {
  const Tensor x(Shape{2, 3, 1}, {1, 2, 30, 4, 5, 6});
  testkit::BuiltLayer* built = nullptr;
  EXPECT_EQ(run(GlobalAveragePooling1D(), x, &built).to_vector(), (std::vector<float>{11, 5}));
  // Row 0 keeps steps 0 and 1; row 1 keeps none (zeros, where Keras's 0/0 gives NaN).
  const Tensor mask(Shape{2, 3}, {1, 1, 0, 0, 0, 0});
  built->layer->set_input_mask(mask);
  Tensor y;
  built->layer->forward(x, y, Mode::kInfer);
  EXPECT_EQ(y.to_vector(), (std::vector<float>{1.5f, 0.0f}));
  Tensor dx;
  built->layer->backward(Tensor(Shape{2, 1}, {2, 7}), dx);
  EXPECT_EQ(dx.to_vector(), (std::vector<float>{1, 1, 0, 0, 0, 0}));
  // GlobalMaxPooling1D takes every step, as Keras 3's does.
  EXPECT_EQ(run(GlobalMaxPooling1D(), x).to_vector(), (std::vector<float>{30, 6}));
}

}  // namespace sequence_layers_test
