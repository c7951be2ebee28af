// Interval bound propagation: the bounds against an independent per-weight interval computation,
// their soundness on sampled inputs of the box (MLP and CNN), the last layer's elision against
// plain bounds, verified rows against PGD, and the layers it refuses.
#include "citadel/attacks/interval_bounds.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "citadel/attacks/adversarial.hpp"
#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"
#include "citadel/layers/activation.hpp"
#include "citadel/layers/batch_normalization.hpp"
#include "citadel/layers/conv2d.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/layers/dropout.hpp"
#include "citadel/layers/flatten.hpp"
#include "citadel/layers/merge.hpp"
#include "citadel/layers/pooling2d.hpp"
#include "citadel/model/sequential.hpp"

namespace interval_bounds_test {

using namespace citadel;

namespace {

Tensor uniform(const Shape& shape, Rng& rng, double low, double high) {
  Tensor t(shape);
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = float(low + (high - low) * rng.uniform_double());
  return t;
}

// Interval arithmetic one product at a time: w·[l, u] is [w·l, w·u] or [w·u, w·l] by w's sign.
void dense_interval(const std::vector<double>& l, const std::vector<double>& u, const Tensor& kernel,
                    const Tensor& bias, bool relu, std::vector<double>& out_l, std::vector<double>& out_u) {
  const int64_t in = kernel.shape(0), units = kernel.shape(1);
  out_l.assign(size_t(units), 0), out_u.assign(size_t(units), 0);
  for (int64_t j = 0; j < units; ++j) {
    double low = bias[j], high = bias[j];
    for (int64_t i = 0; i < in; ++i) {
      const double a = kernel[i * units + j] * l[size_t(i)], b = kernel[i * units + j] * u[size_t(i)];
      low += std::min(a, b), high += std::max(a, b);
    }
    out_l[size_t(j)] = relu ? std::max(0.0, low) : low;
    out_u[size_t(j)] = relu ? std::max(0.0, high) : high;
  }
}

Sequential linear_mlp(uint64_t seed) {
  random::set_seed(seed);
  Sequential model;
  model.add(Dense(6, {.input_dim = 4, .activation = "relu"}));
  model.add(Dropout(0.2f));
  model.add(Dense(5, {.activation = "tanh"}));
  model.add(Dense(3));
  model.compile({.loss = "mse", .optimizer = "sgd"});
  return model;
}

Sequential small_cnn(uint64_t seed, const std::string& last_activation) {
  random::set_seed(seed);
  Sequential model;
  model.add(Conv2D(3, 3, {.input_shape = {6, 6, 2}, .padding = "same", .activation = "relu"}));
  model.add(MaxPooling2D());
  model.add(Conv2D(4, 2, {.activation = "elu"}));
  model.add(AveragePooling2D({2, 2}));
  model.add(Flatten());
  model.add(Dense(3, {.activation = last_activation}));
  model.compile({.loss = "categorical_crossentropy", .optimizer = "sgd"});
  return model;
}

// Every sampled input of each row's box (corners included) has logits inside the bounds.
void expect_sound(Sequential& model, const Tensor& x, double epsilon, uint64_t seed) {
  IntervalPropagation bounds(model);
  Tensor lower, upper, logits_lower, logits_upper;
  input_box(x, {.epsilon = epsilon}, lower, upper);
  bounds.forward(lower, upper, logits_lower, logits_upper);
  Rng rng(seed);
  for (int sample = 0; sample < 200; ++sample) {
    Tensor moved(x.shape());
    for (int64_t i = 0; i < x.numel(); ++i) {
      const double t = sample < 2 ? double(sample) : sample < 10 ? double(rng.uniform_double() < 0.5)
                                                                  : rng.uniform_double();
      moved[i] = float(lower[i] + t * (upper[i] - lower[i]));
    }
    const Tensor logits = model.predict(moved);
    for (int64_t i = 0; i < logits.numel(); ++i) {
      ASSERT_LE(logits_lower[i], logits[i] + 1e-4) << "sample " << sample << " logit " << i;
      ASSERT_GE(logits_upper[i], logits[i] - 1e-4) << "sample " << sample << " logit " << i;
    }
  }
}

}  // namespace

TEST(IntervalBounds, MatchAnIndependentIntervalComputationOfAnMlp) {
  random::set_seed(11);
  Sequential model;
  model.add(Dense(5, {.input_dim = 3, .activation = "relu"}));
  model.add(Dense(2));
  model.compile({.loss = "mse", .optimizer = "sgd"});
  Rng rng(4);
  const Tensor x = uniform(Shape{7, 3}, rng, -1, 1);
  const std::vector<Tensor> weights = model.get_weights();
  IntervalPropagation bounds(model);
  Tensor lower, upper, logits_lower, logits_upper;
  input_box(x, {.epsilon = 0.3}, lower, upper);
  bounds.forward(lower, upper, logits_lower, logits_upper);
  for (int64_t r = 0; r < 7; ++r) {
    std::vector<double> l(3), u(3), hl, hu, ol, ou;
    for (int64_t f = 0; f < 3; ++f) l[size_t(f)] = x[r * 3 + f] - 0.3, u[size_t(f)] = x[r * 3 + f] + 0.3;
    dense_interval(l, u, weights[0], weights[1], true, hl, hu);
    dense_interval(hl, hu, weights[2], weights[3], false, ol, ou);
    for (int64_t j = 0; j < 2; ++j) {
      EXPECT_NEAR(logits_lower.at(r, j), ol[size_t(j)], 1e-5);
      EXPECT_NEAR(logits_upper.at(r, j), ou[size_t(j)], 1e-5);
    }
  }
}

TEST(IntervalBounds, HoldEveryInputOfTheBoxForAnMlpAndACnn) {
  Rng rng(9);
  Sequential mlp = linear_mlp(3);
  expect_sound(mlp, uniform(Shape{5, 4}, rng, -1, 1), 0.2, 1);
  Sequential cnn = small_cnn(5, "linear");
  expect_sound(cnn, uniform(Shape{3, 6, 6, 2}, rng, 0, 1), 0.05, 2);
}

TEST(IntervalBounds, ShrinkToThePredictionAtEpsilonZeroAndGrowWithEpsilon) {
  Rng rng(2);
  Sequential cnn = small_cnn(6, "linear");
  const Tensor x = uniform(Shape{4, 6, 6, 2}, rng, 0, 1);
  const Tensor logits = cnn.predict(x);
  IntervalPropagation bounds(cnn);
  Tensor lower, upper, small_lower, small_upper, big_lower, big_upper;
  input_box(x, {.epsilon = 0}, lower, upper);
  bounds.forward(lower, upper, small_lower, small_upper);
  for (int64_t i = 0; i < logits.numel(); ++i) {
    EXPECT_NEAR(small_lower[i], logits[i], 1e-4);
    EXPECT_NEAR(small_upper[i], logits[i], 1e-4);
  }
  input_box(x, {.epsilon = 0.02}, lower, upper);
  bounds.forward(lower, upper, small_lower, small_upper);
  input_box(x, {.epsilon = 0.1}, lower, upper);
  bounds.forward(lower, upper, big_lower, big_upper);
  for (int64_t i = 0; i < logits.numel(); ++i) {
    EXPECT_LE(big_lower[i], small_lower[i] + 1e-5);
    EXPECT_GE(big_upper[i], small_upper[i] - 1e-5);
    EXPECT_LT(big_lower[i], big_upper[i]);
  }
}

TEST(IntervalBounds, TheInputBoxStaysInTheValidRangeAndHoldsTheInput) {
  const Tensor x(Shape{1, 3}, {0.05f, 0.5f, 1.2f});
  Tensor lower, upper;
  input_box(x, {.epsilon = 0.1, .clip_min = 0, .clip_max = 1}, lower, upper);
  EXPECT_FLOAT_EQ(lower[0], 0.0f);
  EXPECT_FLOAT_EQ(upper[0], 0.15f);
  EXPECT_FLOAT_EQ(lower[1], 0.4f);
  EXPECT_FLOAT_EQ(upper[1], 0.6f);
  EXPECT_FLOAT_EQ(lower[2], 1.1f);  // outside the range, which is widened to hold the input itself
  EXPECT_FLOAT_EQ(upper[2], 1.2f);
  EXPECT_THROW(input_box(x, {.epsilon = -0.1}, lower, upper), ValueError);
}

TEST(IntervalBounds, TheElidedMarginsAreSoundAndNoLooserThanTheLogitsBounds) {
  Rng rng(12);
  Sequential cnn = small_cnn(8, "softmax");
  const Tensor x = uniform(Shape{6, 6, 6, 2}, rng, 0, 1);
  const std::vector<int64_t> labels = {0, 1, 2, 0, 1, 2};
  IntervalPropagation bounds(cnn);
  EXPECT_EQ(bounds.output_activation(), ops::ActivationKind::kSoftmax);
  Tensor lower, upper, logits_lower, logits_upper, margins;
  input_box(x, {.epsilon = 0.03}, lower, upper);
  bounds.forward(lower, upper, logits_lower, logits_upper);
  bounds.margin_lower_bounds(lower, upper, labels, margins);
  // The linear twin of the network gives the logits of sampled inputs.
  Sequential twin = small_cnn(8, "linear");
  twin.set_weights(cnn.get_weights());
  Rng sampler(3);
  for (int sample = 0; sample < 100; ++sample) {
    Tensor moved(x.shape());
    for (int64_t i = 0; i < x.numel(); ++i)
      moved[i] = float(lower[i] + sampler.uniform_double() * (upper[i] - lower[i]));
    const Tensor logits = twin.predict(moved);
    for (int64_t r = 0; r < 6; ++r) {
      for (int64_t j = 0; j < 3; ++j) {
        if (j == labels[size_t(r)]) continue;
        ASSERT_LE(margins.at(r, j), logits.at(r, labels[size_t(r)]) - logits.at(r, j) + 1e-4);
      }
    }
  }
  for (int64_t r = 0; r < 6; ++r) {
    for (int64_t j = 0; j < 3; ++j) {
      if (j == labels[size_t(r)]) continue;
      EXPECT_GE(margins.at(r, j), logits_lower.at(r, labels[size_t(r)]) - logits_upper.at(r, j) - 1e-4);
    }
  }
}

TEST(IntervalBounds, VerifiedRowsAreRightAndSurvivePgd) {
  // Two separated blobs; a small MLP that learns them.
  Rng rng(21);
  const int64_t rows = 300;
  Tensor x(Shape{rows, 2}), y(Shape{rows, 1});
  for (int64_t r = 0; r < rows; ++r) {
    const int label = int(r % 2);
    y[r] = float(label);
    for (int f = 0; f < 2; ++f) x[r * 2 + f] = float((label ? 0.75 : 0.25) + 0.08 * rng.normal());
  }
  random::set_seed(4);
  Sequential model;
  model.add(Dense(16, {.input_dim = 2, .activation = "relu"}));
  model.add(Dense(1, {.activation = "sigmoid"}));
  model.compile({.loss = "binary_crossentropy", .optimizer = Adam{.learning_rate = 0.02f}});
  model.fit(x, y, {.epochs = 40, .batch_size = 32, .verbose = 0});

  const std::vector<uint8_t> right = correct_predictions(model, x, y);
  const std::vector<uint8_t> at_zero = verified_rows(model, x, y, {.epsilon = 0});
  EXPECT_EQ(at_zero, right);  // no ties on continuous data
  const double epsilon = 0.1;
  const std::vector<uint8_t> verified = verified_rows(model, x, y, {.epsilon = epsilon, .clip_min = 0, .clip_max = 1});
  const Tensor attacked = adversarial_examples(
      model, x, y, {.method = "pgd", .norm = "linf", .epsilon = float(epsilon), .steps = 20, .restarts = 2});
  const std::vector<uint8_t> survived = correct_predictions(model, attacked, y);
  int64_t count = 0;
  for (size_t r = 0; r < verified.size(); ++r) {
    if (!verified[r]) continue;
    ++count;
    EXPECT_TRUE(right[r]) << "row " << r;
    EXPECT_TRUE(survived[r]) << "row " << r << " was verified at " << epsilon << " but PGD changed its class";
  }
  EXPECT_GT(count, rows / 2);  // the blobs are far apart: most rows verify

  const auto curve = verified_accuracy(model, x, y, {0.0, 0.05, 0.1, 0.3}, 0, 1);
  ASSERT_EQ(curve.size(), 4u);
  for (size_t i = 1; i < curve.size(); ++i) EXPECT_LE(curve[i].verified_accuracy, curve[i - 1].verified_accuracy);
  EXPECT_NEAR(curve[2].verified_accuracy, double(count) / double(rows), 1e-12);
}

TEST(IntervalBounds, RefuseLayersTheyCannotBoundNamingThem) {
  Sequential normalized;
  normalized.add(Dense(4, {.input_dim = 3}));
  normalized.add(BatchNormalization());
  normalized.add(Dense(2, {.activation = "softmax"}));
  normalized.compile({.loss = "categorical_crossentropy", .optimizer = "sgd"});
  try {
    IntervalPropagation bounds(normalized);
    FAIL() << "BatchNormalization was accepted";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("'batch_normalization' (BatchNormalization)"), std::string::npos) << e.what();
  }
  Sequential inner_softmax;
  inner_softmax.add(Dense(4, {.input_dim = 3, .activation = "softmax"}));
  inner_softmax.add(Dense(2, {.activation = "softmax"}));
  inner_softmax.compile({.loss = "categorical_crossentropy", .optimizer = "sgd"});
  EXPECT_THROW(IntervalPropagation{inner_softmax}, ValueError);
  // A graph that is not a chain.
  SymbolicTensor input = Input(Shape{3});
  SymbolicTensor a = Dense(4, {.activation = "relu"})(input);
  SymbolicTensor b = Dense(4, {.activation = "relu"})(input);
  Model branched(input, Dense(2, {.activation = "softmax"})(Add()({a, b})));
  branched.compile({.loss = "categorical_crossentropy", .optimizer = "sgd"});
  EXPECT_THROW(IntervalPropagation{branched}, ValueError);
}

}  // namespace interval_bounds_test
