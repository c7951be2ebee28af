// LiRA (Carlini et al. 2022): the confidence transform and the Gaussian scores against hand
// computations, balanced halves, an overfit model leaking more to LiRA than to the loss
// attack at low false-positive rates, and a DP-trained model whose leak LiRA measures below
// what its ε allows.
#include "citadel/privacy/lira.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/model/sequential.hpp"
#include "citadel/privacy/accountant.hpp"

namespace lira_test {

using namespace citadel;

namespace {

// Rows in 12 dimensions whose label is a noisy linear rule: a wide network memorizes the
// flipped labels of the rows it trains on, which is what membership attacks see.
struct Rows {
  Tensor x, y;
};
Rows noisy_rows(int64_t rows, uint64_t seed) {
  Rng rng(seed);
  Rows data{Tensor(Shape{rows, 12}), Tensor(Shape{rows, 1})};
  for (int64_t r = 0; r < rows; ++r) {
    double sum = 0;
    for (int64_t f = 0; f < 12; ++f) sum += data.x[r * 12 + f] = float(rng.normal());
    const bool flipped = rng.uniform() < 0.2f;
    data.y[r] = float((sum > 0) != flipped);
  }
  return data;
}

Model wide_mlp(uint64_t seed) {
  random::set_seed(seed);
  Sequential model;
  model.add(Dense(128, {.input_dim = 12, .activation = "relu"}));
  model.add(Dense(1, {.activation = "sigmoid"}));
  model.compile({.loss = "binary_crossentropy", .optimizer = Adam{.learning_rate = 0.01f}});
  return model;
}

const MembershipAttackResult& named(const std::vector<MembershipAttackResult>& results, const std::string& attack) {
  for (const auto& r : results)
    if (r.attack == attack) return r;
  throw std::runtime_error("no attack " + attack);
}

}  // namespace

TEST(Lira, LogitConfidenceIsTheLogOddsOfTheTrueLabel) {
  for (const double loss : {1e-6, 0.01, 0.3, 0.6931471805599453, 2.0, 8.0}) {
    const double p = std::exp(-loss);
    EXPECT_NEAR(logit_confidence(loss), std::log(p) - std::log(1 - p), 1e-9 * (1 + std::abs(std::log(p / (1 - p)))))
        << loss;
  }
  EXPECT_NEAR(logit_confidence(std::log(2.0)), 0.0, 1e-12);  // p = ½
  EXPECT_TRUE(std::isfinite(logit_confidence(0.0)));
  EXPECT_GT(logit_confidence(0.0), 27.0);  // p rounded to 1 reads as 1 − 1e-12
  EXPECT_THROW(logit_confidence(std::nan("")), ValueError);
}

TEST(Lira, EveryRowIsInHalfOfTheShadows) {
  const auto included = lira_halves(500, 8, 3);
  ASSERT_EQ(included.size(), 8u);
  for (int64_t r = 0; r < 500; ++r) {
    int in = 0;
    for (const auto& shadow : included) in += shadow[size_t(r)];
    EXPECT_EQ(in, 4) << "row " << r;
  }
  for (const auto& shadow : included) {
    const int64_t size = std::count(shadow.begin(), shadow.end(), 1);
    EXPECT_GT(size, 200);  // about half of the rows, not a fixed split
    EXPECT_LT(size, 300);
  }
  EXPECT_NE(lira_halves(500, 8, 3)[0], lira_halves(500, 8, 4)[0]);
  EXPECT_THROW(lira_halves(10, 1, 1), ValueError);
}

TEST(Lira, ScoresAreTheGaussianLikelihoodRatioComputedByHand) {
  // Two rows, four shadows; row 0 in shadows 0 and 1, row 1 in shadows 2 and 3.
  const std::vector<std::vector<uint8_t>> included = {{1, 0}, {1, 0}, {0, 1}, {0, 1}};
  const std::vector<std::vector<double>> shadow = {{3.0, -1.0}, {5.0, 0.0}, {1.0, 2.0}, {-1.0, 4.0}};
  const std::vector<double> target = {4.5, 1.0};
  // In: row 0 {3, 5} (mean 4), row 1 {2, 4} (mean 3); pooled variance (1 + 1 + 1 + 1) / 2 = 2.
  // Out: row 0 {1, −1} (mean 0), row 1 {−1, 0} (mean −0.5); pooled (1 + 1 + 0.25 + 0.25) / 2 = 1.25.
  const auto log_normal = [](double x, double mean, double variance) {
    return -0.5 * std::log(2 * M_PI * variance) - (x - mean) * (x - mean) / (2 * variance);
  };
  const LiraScores scores = lira_scores(target, shadow, included);
  ASSERT_EQ(scores.online.size(), 2u);
  EXPECT_NEAR(scores.online[0], log_normal(4.5, 4, 2) - log_normal(4.5, 0, 1.25), 1e-12);
  EXPECT_NEAR(scores.online[1], log_normal(1.0, 3, 2) - log_normal(1.0, -0.5, 1.25), 1e-12);
  EXPECT_NEAR(scores.offline[0], (4.5 - 0) / std::sqrt(1.25), 1e-12);
  EXPECT_NEAR(scores.offline[1], (1.0 + 0.5) / std::sqrt(1.25), 1e-12);
  EXPECT_THROW(lira_scores(target, shadow, {{1, 0}}), ValueError);
}

TEST(Lira, AnOverfitModelLeaksMoreToLiraThanToTheLossAttack) {
  const Rows members = noisy_rows(400, 1), non_members = noisy_rows(400, 2);
  Model target = wide_mlp(7);
  target.fit(members.x, members.y, {.epochs = 60, .batch_size = 32, .verbose = 0, .seed = 7});
  const std::vector<ConstTensorView> mx = {members.x}, my = {members.y}, nx = {non_members.x}, ny = {non_members.y};
  const auto lira = lira_membership_attacks(target, mx, my, nx, ny, [] { return wide_mlp(11); },
                                            {.shadows = 8, .epochs = 60, .batch_size = 32, .seed = 5});
  const auto baseline = audit_membership(target, mx, my, nx, ny, nullptr);
  const MembershipAttackResult& online = named(lira, "lira_online");
  const MembershipAttackResult& loss = named(baseline, "loss_threshold");
  EXPECT_EQ(online.members, 400);
  EXPECT_EQ(online.non_members, 400);
  // At 1 % FPR the loss attack barely beats guessing on rows whose labels are noisy; LiRA's
  // per-row calibration finds far more members there.
  EXPECT_GT(online.tpr_at_1_percent_fpr, 2 * loss.tpr_at_1_percent_fpr + 0.02)
      << "LiRA " << online.tpr_at_1_percent_fpr << ", loss " << loss.tpr_at_1_percent_fpr;
  EXPECT_GT(online.auc, 0.6);
  EXPECT_GT(online.epsilon_lower_bound, 0.0);
  EXPECT_GE(named(lira, "lira_offline").auc, 0.5);
}

TEST(Lira, ADpTrainedModelLeaksNoMoreThanItsEpsilonAllows) {
  const Rows members = noisy_rows(400, 3), non_members = noisy_rows(400, 4);
  Model target = wide_mlp(9);
  const float noise = 1.2f;
  const int epochs = 10;
  const int64_t batch = 40;
  target.fit(members.x, members.y,
             {.epochs = epochs, .batch_size = batch, .verbose = 0, .seed = 9,
              .private_training = PrivateTraining{.l2_norm_clip = 1.0f, .noise_multiplier = noise}});
  const double epsilon =
      dp_sgd_epsilon(double(batch) / 400.0, noise, int64_t(epochs) * (400 / batch), 1e-5).epsilon;
  const std::vector<ConstTensorView> mx = {members.x}, my = {members.y}, nx = {non_members.x}, ny = {non_members.y};
  const auto lira = lira_membership_attacks(target, mx, my, nx, ny, [] { return wide_mlp(13); },
                                            {.shadows = 8, .epochs = 10, .batch_size = 40, .seed = 6});
  for (const MembershipAttackResult& r : lira) {
    // The measured ε is a 95 % lower bound: above the accountant's ε, DP would be broken.
    EXPECT_LE(r.epsilon_lower_bound, epsilon) << r.attack;
    EXPECT_LT(r.auc, 0.6) << r.attack << " at ε " << epsilon;
  }
}

TEST(Lira, ModelsItCannotReadAreRefusedByName) {
  Sequential regression;
  regression.add(Dense(1, {.input_dim = 12}));
  regression.compile({.loss = "mse", .optimizer = Adam{}});
  const Rows rows = noisy_rows(20, 1);
  const std::vector<ConstTensorView> x = {rows.x}, y = {rows.y};
  try {
    lira_membership_attacks(regression, x, y, x, y, [] { return wide_mlp(1); });
    FAIL() << "an MSE model was audited";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("cross-entropy"), std::string::npos) << e.what();
  }
  Model target = wide_mlp(1);
  EXPECT_THROW(lira_membership_attacks(target, x, y, x, y, [] { return wide_mlp(1); }, {.shadows = 1}), ValueError);
  EXPECT_THROW(lira_membership_attacks(target, x, y, x, y, nullptr), ValueError);
}

}  // namespace lira_test
