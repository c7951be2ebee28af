// Membership-inference audits: the scoring against hand-computed figures, and an overfit
// model leaking clearly more than a DP-trained one on the same data.
#include "citadel/privacy/membership.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/privacy/private_fit.hpp"

namespace membership_test {

using namespace citadel;

TEST(MembershipAudit, ScoresByHand) {
  // Members 3, 4, 5 vs non-members 1, 2, 3.5: 8 of 9 pairs ordered right (4 > 3.5, 5 > 3.5,
  // 3 < 3.5) → AUC 8/9; the best threshold 4 flags 2 of 3 members and no non-member →
  // balanced accuracy (2/3 + 1) / 2; at 1 % false positives TPR is 2/3.
  const auto result = score_membership_attack("t", {3, 4, 5}, {1, 2, 3.5});
  EXPECT_NEAR(result.auc, 8.0 / 9.0, 1e-6);
  EXPECT_NEAR(result.balanced_accuracy, (2.0 / 3.0 + 1.0) / 2.0, 1e-9);
  EXPECT_NEAR(result.tpr_at_1_percent_fpr, 2.0 / 3.0, 1e-9);
  const auto none = score_membership_attack("t", {1, 1}, {1, 1});
  EXPECT_NEAR(none.auc, 0.5, 1e-9);
}

namespace {

struct Split {
  Tensor train_x, train_y, holdout_x, holdout_y;
};

// Labels that are mostly noise, so a large model can only memorize them.
Split noisy_data() {
  random::set_seed(21);
  Rng rng(22);
  Split s{random::uniform(Shape{120, 10}), Tensor(Shape{120, 1}), random::uniform(Shape{120, 10}),
          Tensor(Shape{120, 1})};
  for (int64_t r = 0; r < 120; ++r) {
    s.train_y[r] = (s.train_x[r * 10] > 0.5f) != (rng.uniform() < 0.3f) ? 1.0f : 0.0f;
    s.holdout_y[r] = (s.holdout_x[r * 10] > 0.5f) != (rng.uniform() < 0.3f) ? 1.0f : 0.0f;
  }
  return s;
}

Sequential wide_model() {
  random::set_seed(23);
  Sequential model;
  model.add(Dense(128, {.input_dim = 10, .activation = "relu"}));
  model.add(Dense(128, {.activation = "relu"}));
  model.add(Dense(1, {.activation = "sigmoid"}));
  model.compile({.loss = "binary_crossentropy", .optimizer = Adam{.learning_rate = 0.003f}});
  return model;
}

}  // namespace

TEST(MembershipAudit, OverfitModelLeaksMoreThanPrivateOne) {
  const Split s = noisy_data();
  Sequential overfit = wide_model();
  overfit.fit(s.train_x, s.train_y, {.epochs = 300, .batch_size = 16, .verbose = 0});
  Sequential private_model = wide_model();
  fit_private(private_model, s.train_x, s.train_y, {.epochs = 30, .batch_size = 16, .verbose = 0},
              {.l2_norm_clip = 1.0f, .noise_multiplier = 3.0, .reproducible = true});
  const auto leaky = audit_membership(overfit, s.train_x, s.train_y, s.holdout_x, s.holdout_y, wide_model,
                                      {.reference_epochs = 100});
  const auto safe = audit_membership(private_model, s.train_x, s.train_y, s.holdout_x, s.holdout_y, wide_model,
                                     {.reference_epochs = 100});
  ASSERT_EQ(leaky.size(), 2u);
  ASSERT_EQ(safe.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_GT(leaky[i].auc, 0.65) << leaky[i].attack;
    EXPECT_LT(safe[i].auc, 0.65) << safe[i].attack;  // near 0.5: little better than guessing
    EXPECT_GT(leaky[i].auc, safe[i].auc + 0.1) << leaky[i].attack;
    EXPECT_GT(leaky[i].balanced_accuracy, safe[i].balanced_accuracy) << leaky[i].attack;
    std::printf("%s: overfit AUC %.3f, DP AUC %.3f\n", leaky[i].attack.c_str(), leaky[i].auc, safe[i].auc);
  }
}

TEST(Membership, NanScoresAreAClearError) {
  EXPECT_THROW(score_membership_attack("loss_threshold", {0.1, std::nan("")}, {0.2, 0.3}), ValueError);
}

}  // namespace membership_test
