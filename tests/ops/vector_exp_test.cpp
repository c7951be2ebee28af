// The attention softmax's exponential and its vectorized row: every lane of the eight-float
// form equals the scalar form bit for bit, the scalar form is within 2 ulp of exp, and the
// masked softmax (eight steps at a time, a scalar tail) matches a double-precision softmax
// for rows of every length from 1 to 40 and any mask. The recurrent cells' tanh and sigmoid
// built on it: lanes equal to the scalar form, within 4 ulp of tanh and 3 of the sigmoid.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "../../src/ops/cpu/vector_activations.hpp"
#include "../../src/ops/cpu/vector_exp.hpp"
#include "citadel/ops/attention.hpp"

namespace citadel {
namespace vector_exp_test {
namespace {

using ops::detail::Float8;

// Units in the last place between a float and a double reference.
double ulps(float value, double reference) {
  const double spacing = std::nextafter(float(reference), INFINITY) - float(reference);
  return std::abs(double(value) - reference) / spacing;
}

TEST(VectorExp, LanesEqualTheScalarFormAndStayWithinTwoUlp) {
  std::vector<float> xs;
  for (float x = -90.0f; x <= 90.0f; x += 0.0137f) xs.push_back(x);
  for (float edge : {-87.0f, std::nextafter(-87.0f, 0.0f), std::nextafter(-87.0f, -100.0f), 88.0f,
                     std::nextafter(88.0f, 100.0f), 0.0f, -0.0f, 1e-30f, -1e-30f})
    xs.push_back(edge);
  while (xs.size() % 8 != 0) xs.push_back(0.5f);
  for (size_t i = 0; i < xs.size(); i += 8) {
    Float8 lanes;
    std::memcpy(&lanes, &xs[i], sizeof lanes);
    ops::detail::exponentiate(lanes);
    for (int l = 0; l < 8; ++l) {
      const float x = xs[i + size_t(l)], scalar = ops::detail::vector_exp(x);
      EXPECT_EQ(std::memcmp(&lanes[l], &scalar, sizeof scalar), 0) << "x = " << x;
      if (x < -87.0f) {
        EXPECT_EQ(scalar, 0.0f) << x;
      } else if (x > 88.0f) {
        EXPECT_EQ(scalar, ops::detail::vector_exp(88.0f)) << x;
      } else if (x > -87.0f) {
        EXPECT_LE(ulps(scalar, std::exp(double(x))), 2.0) << "x = " << x;
      }
    }
  }
}

// Every lane of `F` on eight floats equals `f` on the float; `check(x, y)` on each result.
template <void (*F)(Float8&), float (*f)(float), class Check>
void expect_lanes_match_the_scalar_form(std::vector<float> xs, const Check& check) {
  while (xs.size() % 8 != 0) xs.push_back(0.25f);
  for (size_t i = 0; i < xs.size(); i += 8) {
    Float8 lanes;
    std::memcpy(&lanes, &xs[i], sizeof lanes);
    F(lanes);
    for (int l = 0; l < 8; ++l) {
      const float x = xs[i + size_t(l)], scalar = f(x);
      EXPECT_EQ(std::memcmp(&lanes[l], &scalar, sizeof scalar), 0) << "x = " << x;
      check(x, scalar);
    }
  }
}

std::vector<float> activation_arguments() {
  std::vector<float> xs;
  for (float x = -100.0f; x <= 100.0f; x += 0.0731f) xs.push_back(x);
  for (float x = -1.0f; x <= 1.0f; x += 0.00123f) xs.push_back(x);  // both sides of tanh's 0.625 switch
  for (float edge : {0.625f, std::nextafter(0.625f, 0.0f), -0.625f, 9.0f, std::nextafter(9.0f, 10.0f), 0.0f, -0.0f,
                     1e-30f, -1e-30f, 1e-6f, -3e-4f, 87.0f, -87.0f, 88.5f, -88.5f})
    xs.push_back(edge);
  return xs;
}

TEST(VectorActivations, TanhLanesEqualTheScalarFormWithinFourUlp) {
  expect_lanes_match_the_scalar_form<ops::detail::hyperbolic_tangent<Float8>, ops::detail::vector_tanh>(
      activation_arguments(), [](float x, float y) {
        EXPECT_LE(ulps(y, std::tanh(double(x))), 4.0) << "x = " << x << ": " << y;
        EXPECT_LE(std::abs(y), 1.0f) << x;
        if (x == 0.0f) {
          EXPECT_EQ(std::signbit(y), std::signbit(x)) << "tanh(±0) = ±0";
        }
      });
}

TEST(VectorActivations, SigmoidLanesEqualTheScalarFormWithinThreeUlp) {
  expect_lanes_match_the_scalar_form<ops::detail::logistic<Float8>, ops::detail::vector_sigmoid>(
      activation_arguments(), [](float x, float y) {
        const double exact = 1.0 / (1.0 + std::exp(-double(x)));
        if (exact >= 1e-37)  // below, a float result is denormal: an absolute error is what matters
          EXPECT_LE(ulps(y, exact), 3.0) << "x = " << x << ": " << y;
        else
          EXPECT_LE(std::abs(double(y) - exact), 1e-37) << x;
        EXPECT_GE(y, 0.0f);
        EXPECT_LE(y, 1.0f);
      });
}

TEST(VectorExp, MaskedSoftmaxRowsMatchADoublePrecisionSoftmax) {
  std::mt19937 engine(5);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  for (int64_t steps = 1; steps <= 40; ++steps) {
    // One query step, one head, key_dim 1: the scores are q·k = the keys themselves.
    const ops::AttentionShape shape{.batch = 1, .heads = 1, .query_steps = 1, .value_steps = steps, .key_dim = 1,
                                    .value_dim = 1, .scale = 1.0f};
    std::vector<float> k(static_cast<size_t>(steps)), allowed(k.size()), probs(k.size());
    for (int64_t j = 0; j < steps; ++j) {
      k[size_t(j)] = normal(engine);
      allowed[size_t(j)] = (j % 3 == 1 || j % 7 == 5) ? 0.0f : 1.0f;  // masked steps inside every block of 8
    }
    if (steps == 40) std::fill(allowed.begin(), allowed.end(), 0.0f);  // nothing allowed: all alike
    const float q = 1.0f;
    ops::attention_probabilities(shape, &q, k.data(), allowed.data(), probs.data());
    double top = -INFINITY, sum = 0;
    for (int64_t j = 0; j < steps; ++j)
      if (allowed[size_t(j)] != 0.0f) top = std::max(top, double(k[size_t(j)]));
    for (int64_t j = 0; j < steps; ++j) sum += allowed[size_t(j)] != 0.0f ? std::exp(k[size_t(j)] - top) : 0.0;
    for (int64_t j = 0; j < steps; ++j) {
      const double expected = top == -INFINITY          ? 1.0 / double(steps)
                              : allowed[size_t(j)] != 0 ? std::exp(k[size_t(j)] - top) / sum
                                                        : 0.0;
      EXPECT_NEAR(probs[size_t(j)], expected, 1e-6) << "steps " << steps << ", step " << j;
    }
  }
}

}  // namespace
}  // namespace vector_exp_test
}  // namespace citadel
