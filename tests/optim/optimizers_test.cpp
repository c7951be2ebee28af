// Optimizers: three steps on fixed gradients against the update formulas evaluated
// here in double precision, independently of the library's loops; clipping; settings.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "citadel/core/error.hpp"
#include "citadel/optim/optimizer.hpp"

namespace optimizers_test {

using namespace citadel;

namespace {

// A store with one parameter tensor of two values.
struct TwoValues {
  ParameterStore store;
  TwoValues(float a, float b) {
    store.declare("w", Shape{2}, "zeros");
    store.allocate();
    store.values()[0] = a;
    store.values()[1] = b;
  }
  void step(Optimizer& optimizer, float g0, float g1) {
    store.grads()[0] = g0;
    store.grads()[1] = g1;
    optimizer.step(store);
  }
};

const float kGradients[3][2] = {{0.5f, -1.0f}, {0.25f, 2.0f}, {-0.75f, 0.1f}};

// Runs three steps and returns the final values.
std::vector<float> run(const OptimizerSpec& spec) {
  auto optimizer = spec.make();
  TwoValues p(1.0f, -2.0f);
  for (const auto& g : kGradients) p.step(*optimizer, g[0], g[1]);
  return {p.store.values()[0], p.store.values()[1]};
}

void expect_near(const std::vector<float>& got, const std::vector<double>& expected) {
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], expected[i], 1e-5 * (1 + std::fabs(expected[i]))) << i;
}

}  // namespace

TEST(Optimizers, PlainGradientDescent) {
  std::vector<double> w{1.0, -2.0};
  for (const auto& g : kGradients)
    for (int i = 0; i < 2; ++i) w[i] -= 0.1 * g[i];
  expect_near(run(SGD{.learning_rate = 0.1f}), w);
}

TEST(Optimizers, MomentumAndNesterov) {
  for (bool nesterov : {false, true}) {
    std::vector<double> w{1.0, -2.0}, v{0, 0};
    for (const auto& g : kGradients)
      for (int i = 0; i < 2; ++i) {
        v[i] = 0.9 * v[i] - 0.1 * g[i];
        w[i] += nesterov ? 0.9 * v[i] - 0.1 * g[i] : v[i];
      }
    expect_near(run(SGD{.learning_rate = 0.1f, .momentum = 0.9f, .nesterov = nesterov}), w);
  }
}

TEST(Optimizers, AdamWithKerasDefaults) {
  const double lr = 0.001, b1 = 0.9, b2 = 0.999, eps = 1e-7;
  std::vector<double> w{1.0, -2.0}, m{0, 0}, v{0, 0};
  int t = 0;
  for (const auto& g : kGradients) {
    ++t;
    for (int i = 0; i < 2; ++i) {
      m[i] = b1 * m[i] + (1 - b1) * g[i];
      v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
      const double alpha = lr * std::sqrt(1 - std::pow(b2, t)) / (1 - std::pow(b1, t));
      w[i] -= alpha * m[i] / (std::sqrt(v[i]) + eps);
    }
  }
  expect_near(run("adam"), w);
  expect_near(run(Adam{}), w);
}

TEST(Optimizers, AdamWDecaysWeightsThenAdam) {
  const double lr = 0.01, wd = 0.1, b1 = 0.9, b2 = 0.999, eps = 1e-7;
  std::vector<double> w{1.0, -2.0}, m{0, 0}, v{0, 0};
  int t = 0;
  for (const auto& g : kGradients) {
    ++t;
    for (int i = 0; i < 2; ++i) {
      w[i] -= w[i] * wd * lr;
      m[i] = b1 * m[i] + (1 - b1) * g[i];
      v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
      w[i] -= lr * std::sqrt(1 - std::pow(b2, t)) / (1 - std::pow(b1, t)) * m[i] / (std::sqrt(v[i]) + eps);
    }
  }
  expect_near(run(AdamW{.learning_rate = 0.01f, .weight_decay = 0.1f}), w);
}

TEST(Optimizers, RmspropPlainCenteredAndMomentum) {
  for (bool centered : {false, true})
    for (double momentum : {0.0, 0.5}) {
      const double lr = 0.01, rho = 0.9, eps = 1e-7;
      std::vector<double> w{1.0, -2.0}, v{0, 0}, mean_g{0, 0}, mom{0, 0};
      for (const auto& g : kGradients)
        for (int i = 0; i < 2; ++i) {
          v[i] = rho * v[i] + (1 - rho) * g[i] * g[i];
          double denominator = v[i] + eps;
          if (centered) {
            mean_g[i] = rho * mean_g[i] + (1 - rho) * g[i];
            denominator -= mean_g[i] * mean_g[i];
          }
          const double increment = lr * g[i] / std::sqrt(denominator);
          if (momentum > 0) {
            mom[i] = momentum * mom[i] + increment;
            w[i] -= mom[i];
          } else {
            w[i] -= increment;
          }
        }
      expect_near(run(RMSprop{.learning_rate = 0.01f, .momentum = float(momentum), .centered = centered}), w);
    }
}

TEST(Optimizers, Adagrad) {
  const double lr = 0.1, eps = 1e-7;
  std::vector<double> w{1.0, -2.0}, a{0.1, 0.1};
  for (const auto& g : kGradients)
    for (int i = 0; i < 2; ++i) {
      a[i] += g[i] * g[i];
      w[i] -= lr * g[i] / std::sqrt(a[i] + eps);
    }
  expect_near(run(Adagrad{.learning_rate = 0.1f}), w);
}

TEST(Optimizers, ClipnormRescalesEachTensor) {
  ParameterStore store;
  store.declare("a", Shape{2}, "zeros");
  store.declare("b", Shape{1}, "zeros");
  store.allocate();
  auto optimizer = make_optimizer(SGD{.learning_rate = 1.0f, .clipnorm = 1.0f});
  const float grads[3] = {3, 4, 0.5f};  // |a| = 5 → scaled to 1; |b| = 0.5 stays
  std::copy(grads, grads + 3, store.grads().begin());
  optimizer->step(store);
  EXPECT_NEAR(store.values()[0], -0.6, 1e-6);
  EXPECT_NEAR(store.values()[1], -0.8, 1e-6);
  EXPECT_NEAR(store.values()[2], -0.5, 1e-6);
}

TEST(Optimizers, GlobalClipnormAndClipvalue) {
  ParameterStore store;
  store.declare("a", Shape{2}, "zeros");
  store.declare("b", Shape{1}, "zeros");
  store.allocate();
  const float grads[3] = {3, 4, 12};  // global norm 13
  std::copy(grads, grads + 3, store.grads().begin());
  make_optimizer(SGD{.learning_rate = 1.0f, .global_clipnorm = 1.3f})->step(store);
  EXPECT_NEAR(store.values()[0], -0.3, 1e-6);
  EXPECT_NEAR(store.values()[2], -1.2, 1e-6);

  std::fill(store.values().begin(), store.values().end(), 0.0f);
  const float mixed[3] = {-3, 0.2f, 12};
  std::copy(mixed, mixed + 3, store.grads().begin());
  make_optimizer(SGD{.learning_rate = 1.0f, .clipvalue = 0.5f})->step(store);
  EXPECT_NEAR(store.values()[0], 0.5, 1e-6);
  EXPECT_NEAR(store.values()[1], -0.2, 1e-6);
  EXPECT_NEAR(store.values()[2], -0.5, 1e-6);
}

TEST(Optimizers, GradientHooksRunBeforeTheUpdate) {
  TwoValues p(0.0f, 0.0f);
  auto optimizer = make_optimizer(SGD{.learning_rate = 1.0f});
  optimizer->add_gradient_hook([](ParameterStore& store) { store.grads()[1] = 10.0f; });
  p.step(*optimizer, 1.0f, 1.0f);
  EXPECT_FLOAT_EQ(p.store.values()[0], -1.0f);
  EXPECT_FLOAT_EQ(p.store.values()[1], -10.0f);
}

TEST(Optimizers, RejectBadSettingsAndNames) {
  EXPECT_THROW(make_optimizer(SGD{.learning_rate = -1.0f}), ValueError);
  EXPECT_THROW(make_optimizer(Adam{.beta_1 = 1.0f}), ValueError);
  EXPECT_THROW(make_optimizer(SGD{.clipnorm = 1.0f, .global_clipnorm = 1.0f}), ValueError);
  try {
    make_optimizer("adamm");
    FAIL();
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("adam, adamw"), std::string::npos) << e.what();
  }
}

}  // namespace optimizers_test
