// mixed_bfloat16 in a model: what the model computes in on this processor (and the
// warning where it cannot), predictions against a forward pass of bf16-rounded products
// computed here, gradients near float32's, and DP-SGD's clipping bound kept exactly.
// Where the processor has no bf16 instructions the bf16 cases skip, saying so; the
// products themselves are checked everywhere by tests/ops/gemm_bfloat16_test.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <sstream>
#include <vector>

#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/model/predictor.hpp"
#include "citadel/model/sequential.hpp"
#include "citadel/ops/precision.hpp"
#include "private_step.hpp"

namespace mixed_precision_test {

using namespace citadel;

namespace {

Sequential wide_model(const std::string& precision, const std::string& hidden = "relu") {
  random::set_seed(5);
  Sequential model;
  model.add(Dense(128, {.input_dim = 256, .activation = hidden}));
  model.add(Dense(64, {.activation = hidden}));
  model.add(Dense(1, {.activation = "sigmoid"}));
  model.compile({.loss = "binary_crossentropy", .optimizer = SGD{.learning_rate = 1.0f}, .precision = precision});
  return model;
}

// bf16 rounding by the nearest of the two neighbours (independent of the library's).
float rounded(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  float low, high;
  const uint32_t low_bits = bits & 0xffff0000u, high_bits = low_bits + 0x10000u;
  std::memcpy(&low, &low_bits, sizeof low);
  std::memcpy(&high, &high_bits, sizeof high);
  const double to_low = std::fabs(double(x) - low), to_high = std::fabs(double(x) - high);
  if (to_low != to_high) return to_low < to_high ? low : high;
  return (low_bits & 0x10000u) == 0 ? low : high;
}

// Dense layers' forward pass in double with each product's inputs rounded to bf16 when
// `bf16` and the product is one citadel runs in bf16 (over 16K multiply-adds, and each
// input used often enough: M·N ≥ 8·(M + N)); relu on hidden layers, sigmoid at the end.
std::vector<double> reference_forward(const Sequential& model, const Tensor& x, bool bf16) {
  const std::vector<Tensor> weights = model.get_weights();
  const int64_t rows = x.shape(0);
  std::vector<double> input(x.data(), x.data() + x.numel());
  int64_t width = x.shape(1);
  for (size_t layer = 0; layer < weights.size(); layer += 2) {
    const Tensor& kernel = weights[layer];
    const Tensor& bias = weights[layer + 1];
    const int64_t units = kernel.shape(1);
    const bool round = bf16 && rows * units * width > 16 * 1024 && rows * units >= 8 * (rows + units);
    auto r = [&](double v) { return round ? double(rounded(float(v))) : v; };
    std::vector<double> output(static_cast<size_t>(rows * units));
    for (int64_t n = 0; n < rows; ++n)
      for (int64_t u = 0; u < units; ++u) {
        double sum = 0;
        for (int64_t d = 0; d < width; ++d) sum += r(float(input[n * width + d])) * r(kernel[d * units + u]);
        sum = float(sum) + bias[u];
        output[n * units + u] = layer + 2 < weights.size() ? std::max(0.0, sum) : 1.0 / (1.0 + std::exp(-sum));
      }
    input = std::move(output);
    width = units;
  }
  return input;
}

#define SKIP_WITHOUT_BF16()                                                                           \
  if (!ops::processor_has_bf16())                                                                     \
  GTEST_SKIP() << "this processor has no bf16 instructions (AVX512-BF16 or AMX); the model computes " \
                  "in float32 here (MixedPrecision.FallsBackToFloat32WithAWarning)"

}  // namespace

TEST(MixedPrecision, ComputesInBf16OnlyWhereTheProcessorCan) {
  Sequential model = wide_model("mixed_bfloat16");
  if (ops::processor_has_bf16()) {
    EXPECT_EQ(model.precision(), ops::Precision::kMixedBFloat16);
    EXPECT_EQ(model.precision_warning(), "");
  } else {
    EXPECT_EQ(model.precision(), ops::Precision::kFloat32);
  }
  EXPECT_EQ(wide_model("float32").precision(), ops::Precision::kFloat32);
  EXPECT_THROW(wide_model("float16"), ValueError);
}

TEST(MixedPrecision, FallsBackToFloat32WithAWarning) {
  if (ops::processor_has_bf16()) GTEST_SKIP() << "this processor has bf16 instructions ("
                                              << ops::bf16_instructions() << "); ctest runs this case again "
                                              << "with ONEDNN_MAX_CPU_ISA=AVX512_CORE";
  Sequential model = wide_model("mixed_bfloat16");
  EXPECT_EQ(model.precision(), ops::Precision::kFloat32);
  const std::string warning = model.precision_warning();
  EXPECT_NE(warning.find("no bf16 instructions"), std::string::npos) << warning;
  EXPECT_NE(warning.find("float32"), std::string::npos) << warning;
  // fit says so too (as Keras prints its warnings), and computes exactly as float32 does.
  const Tensor x = random::uniform(Shape{32, 256}, -1, 1);
  Tensor y(Shape{32, 1});
  std::ostringstream captured;
  auto* previous = std::cout.rdbuf(captured.rdbuf());
  model.fit(x, y, {.epochs = 1, .batch_size = 32, .shuffle = false, .verbose = 2});
  std::cout.rdbuf(previous);
  EXPECT_NE(captured.str().find("no bf16 instructions"), std::string::npos) << captured.str();
  Sequential float32 = wide_model("float32");
  float32.fit(x, y, {.epochs = 1, .batch_size = 32, .shuffle = false, .verbose = 0});
  const Tensor a = model.predict(x), b = float32.predict(x);
  EXPECT_EQ(std::vector<float>(a.data(), a.data() + a.numel()), std::vector<float>(b.data(), b.data() + b.numel()));
}

TEST(MixedPrecision, PredictionsAreTheProductsOfRoundedInputs) {
  SKIP_WITHOUT_BF16();
  Sequential model = wide_model("mixed_bfloat16");
  random::set_seed(9);
  const Tensor x = random::uniform(Shape{40, 256}, -1, 1);
  const Tensor predicted = model.predict(x, {.batch_size = 40});
  Predictor predictor(model);
  const Tensor concurrent = predictor.predict(x, {.batch_size = 40});
  const std::vector<double> bf16 = reference_forward(model, x, true), float32 = reference_forward(model, x, false);
  double farthest = 0;
  for (int64_t i = 0; i < 40; ++i) {
    EXPECT_NEAR(predicted[i], bf16[i], 2e-5) << "row " << i;
    EXPECT_EQ(concurrent[i], predicted[i]) << "the Predictor computes in the model's precision, row " << i;
    farthest = std::max(farthest, std::fabs(bf16[i] - float32[i]));
  }
  EXPECT_GT(farthest, 1e-4) << "bf16 rounding should show at this size";
  // set_precision switches a compiled model back without recompiling.
  model.set_precision("float32");
  const Tensor back = model.predict(x, {.batch_size = 40});
  for (int64_t i = 0; i < 40; ++i) EXPECT_NEAR(back[i], float32[i], 1e-5) << "row " << i;
}

TEST(MixedPrecision, GradientsStayNearFloat32s) {
  SKIP_WITHOUT_BF16();
  random::set_seed(21);
  const Tensor x = random::uniform(Shape{64, 256}, -1, 1);
  Tensor y(Shape{64, 1});
  for (int64_t r = 0; r < 64; ++r) y[r] = float(x[r * 256] > 0);
  // tanh, not relu: a relu whose input is near 0 can switch off in one precision and not
  // the other, which moves the gradient by several percent with no error anywhere.
  Sequential bf16 = wide_model("mixed_bfloat16", "tanh"), float32 = wide_model("float32", "tanh");
  bf16.compute_gradients(x, y);
  float32.compute_gradients(x, y);
  const auto g = bf16.parameters().grads(), f = float32.parameters().grads();
  double difference = 0, norm = 0;
  for (size_t i = 0; i < f.size(); ++i) difference += std::pow(double(g[i]) - f[i], 2), norm += double(f[i]) * f[i];
  ASSERT_GT(norm, 0);
  // bf16 keeps 8 significant bits: the gradient moves by a few parts in a thousand, no more.
  EXPECT_LT(std::sqrt(difference / norm), 1e-2);
  EXPECT_GT(std::sqrt(difference / norm), 1e-5) << "the gradient was not computed in bf16";
}

// DP-SGD's guarantee rests on every example moving the weights by at most the clip norm.
// The norms come from float32 caches; were the clipped sum computed from bf16-rounded
// inputs, one example could move them by up to ~0.4 % more. Its backward passes therefore
// run in float32: with SGD at learning rate 1, no noise and one example a step, each
// update has norm C to float32 accuracy.
TEST(MixedPrecision, PrivateTrainingKeepsTheClipNormExactly) {
  SKIP_WITHOUT_BF16();
  random::set_seed(17);
  const Tensor x = random::uniform(Shape{6, 256}, -1, 1);
  Tensor y(Shape{6, 1});
  for (int64_t r = 0; r < 6; ++r) y[r] = float(r % 2);
  Sequential model = wide_model("mixed_bfloat16");
  const float clip = 0.01f;
  for (int64_t r = 0; r < 6; ++r)
    EXPECT_NEAR(testkit::private_step_distance(model, x.rows(r, r + 1), y.rows(r, r + 1), clip), clip, 2e-5 * clip)
        << "row " << r;
  EXPECT_EQ(model.precision(), ops::Precision::kMixedBFloat16) << "the forward pass stays bf16";
}

}  // namespace mixed_precision_test
