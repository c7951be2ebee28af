// Randomized smoothing (Cohen et al. 2019): the certificate against a brute-force binomial
// computation, the abstention rules, certificates of a linear model against the exact distance
// to its boundary, and attacks on the smoothed classifier that try to beat certificates.
#include "citadel/attacks/randomized_smoothing.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "citadel/attacks/adversarial.hpp"
#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/model/predictor.hpp"
#include "citadel/model/sequential.hpp"
#include "brute_force_statistics.hpp"

namespace randomized_smoothing_test {

using namespace citadel;
using namespace citadel::testkit;

namespace {

// Two classes by a fixed linear rule: class 1 where w·x + b > 0 (softmax over two logits
// whose difference is w·x + b).
Sequential linear_model(const std::vector<float>& w, float b) {
  Sequential model;
  model.add(Dense(2, {.input_dim = int64_t(w.size()), .activation = "softmax"}));
  Tensor kernel(Shape{int64_t(w.size()), 2}), bias(Shape{2}, {0.0f, b});
  for (size_t f = 0; f < w.size(); ++f) kernel[int64_t(f) * 2 + 1] = w[f];
  model.build(Shape{int64_t(w.size())});
  model.set_weights({kernel, bias});
  return model;
}

// Two noisy rings in the plane: a model whose boundary is curved.
struct Rings {
  Tensor x, y;
};
Rings rings(int64_t rows, uint64_t seed) {
  Rng rng(seed);
  Rings data{Tensor(Shape{rows, 2}), Tensor(Shape{rows, 1})};
  for (int64_t r = 0; r < rows; ++r) {
    const int label = int(r % 2);
    const double angle = 6.283185307179586 * rng.uniform_double(), radius = (label ? 1.8 : 1.0) + 0.15 * rng.normal();
    data.x[r * 2] = float(radius * std::cos(angle));
    data.x[r * 2 + 1] = float(radius * std::sin(angle));
    data.y[r] = float(label);
  }
  return data;
}

}  // namespace

TEST(RandomizedSmoothing, CertificatesMatchABruteForceBinomialComputation) {
  const double sigma = 0.5;
  for (const auto& [count, samples, alpha] :
       std::vector<std::tuple<int64_t, int64_t, double>>{{100, 100, 0.001},
                                                         {990, 1000, 0.001},
                                                         {9000, 10000, 0.01},
                                                         {700, 1000, 0.05},
                                                         {530, 1000, 0.001},
                                                         {51, 100, 0.001},
                                                         {0, 100, 0.001},
                                                         {99999, 100000, 0.001}}) {
    const double lower = clopper_pearson_lower_by_bisection(count, samples, alpha);
    const SmoothedCertificate certificate = certificate_from_counts(3, count, samples, sigma, alpha);
    EXPECT_NEAR(certificate.probability_lower, lower, 1e-7 + 1e-6 * lower) << count << " of " << samples;
    EXPECT_EQ(certificate.count, count);
    EXPECT_EQ(certificate.samples, samples);
    if (lower < 0.5) {  // CERTIFY abstains: no class, no radius
      EXPECT_EQ(certificate.predicted_class, kAbstain) << count << " of " << samples;
      EXPECT_EQ(certificate.radius, 0.0);
    } else {
      EXPECT_EQ(certificate.predicted_class, 3);
      EXPECT_NEAR(certificate.radius, sigma * normal_quantile_by_bisection(lower), 1e-6) << count << " of " << samples;
    }
  }
  // 530 of 1,000 is not enough at α = 0.001 (the bound is below ½); 990 is.
  EXPECT_EQ(certificate_from_counts(0, 530, 1000, sigma, 0.001).predicted_class, kAbstain);
  EXPECT_EQ(certificate_from_counts(0, 990, 1000, sigma, 0.001).predicted_class, 0);
  EXPECT_THROW(certificate_from_counts(0, 11, 10, sigma, 0.001), ValueError);
}

TEST(RandomizedSmoothing, PredictAbstainsUnlessTheBinomialTestRejectsATie) {
  for (const auto& [top, trials] : std::vector<std::pair<int64_t, int64_t>>{{7, 10}, {10, 10}, {60, 100}, {5, 10},
                                                                            {4, 10}, {520, 1000}, {0, 30}}) {
    const int64_t larger = std::max(top, trials - top);
    const double exact =
        2 * larger == trials ? 1.0 : std::min(1.0, double(2 * binomial_upper_tail(larger, trials, 0.5L)));
    EXPECT_NEAR(binomial_tie_p_value(top, trials), exact, 1e-12 + 1e-9 * exact) << top << " of " << trials;
  }
  // 60 against 40: p = 0.057; 70 against 30: p = 7.9e-5.
  EXPECT_EQ(smoothed_class_from_counts({40, 60, 0}, 0.05), kAbstain);
  EXPECT_EQ(smoothed_class_from_counts({40, 60, 0}, 0.06), 1);
  EXPECT_EQ(smoothed_class_from_counts({30, 0, 70}, 0.001), 2);
  EXPECT_EQ(smoothed_class_from_counts({50, 50}, 0.5), kAbstain);  // a tie never predicts
  // The test is of the top two only: a third class's count does not enter it.
  EXPECT_EQ(smoothed_class_from_counts({30, 0, 70, 900}, 0.001), 3);
}

// The Predictor form (what a server's threads use) counts as the Model form does on the same
// stream, and both as the exact law: for a linear rule, class 1 on a copy with probability
// Φ((w·x + b) / (σ‖w‖)) — here Φ(0.5) = 0.691462.
TEST(RandomizedSmoothing, NoisyCountsOnAPredictorAreTheModelsAndFollowTheNormalLaw) {
  const double sigma = 0.5;
  Sequential model = linear_model({1.0f, 0.0f}, 0.0f);
  const Tensor row(Shape{1, 2}, {float(0.5 * sigma), 3.0f});
  SecureRng for_model = SecureRng::from_seed(7, 0), for_predictor = SecureRng::from_seed(7, 0);
  const std::vector<int64_t> counts = noisy_class_counts(model, row, 20000, sigma, 1000, for_model);
  Predictor predictor(model);
  EXPECT_EQ(noisy_class_counts(predictor, row, 20000, sigma, 1000, for_predictor), counts);
  ASSERT_EQ(counts.size(), 2u);
  EXPECT_EQ(counts[0] + counts[1], 20000);
  // 5 standard deviations of the share: sqrt(0.69 · 0.31 / 20000) = 0.0033.
  EXPECT_NEAR(double(counts[1]) / 20000, 0.691462, 5 * 0.0033);
}

TEST(RandomizedSmoothing, ALinearModelsCertificatesNeverExceedItsDistanceToTheBoundary) {
  // For a linear base classifier the smoothed classifier is the same classifier, and the
  // largest radius any certificate may claim is the exact distance |w·x + b| / ‖w‖.
  const std::vector<float> w = {3.0f, -4.0f};  // ‖w‖ = 5
  const float b = 0.5f;
  Sequential model = linear_model(w, b);
  const double sigma = 0.5;
  const int64_t points = 25;
  Tensor x(Shape{points, 2});
  std::vector<double> signed_distance(points);
  Rng rng(7);
  for (int64_t i = 0; i < points; ++i) {
    // From −3σ to 3σ along the normal, plus a random offset along the boundary.
    const double d = -3 * sigma + 6 * sigma * double(i) / double(points - 1), along = rng.normal();
    const double px = d * 0.6 + along * 0.8 - 0.5 * 0.6 / 5, py = -d * 0.8 + along * 0.6 + 0.5 * 0.8 / 5;
    x[i * 2] = float(px), x[i * 2 + 1] = float(py);
    signed_distance[size_t(i)] = (w[0] * x[i * 2] + w[1] * x[i * 2 + 1] + b) / 5.0;
  }
  const SmoothingOptions options{.sigma = sigma, .selection_samples = 100, .estimation_samples = 4000,
                                 .alpha = 0.001, .batch_size = 512, .seed = 11};
  const auto certificates = certify(model, x, options);
  ASSERT_EQ(certificates.size(), size_t(points));
  int certified = 0;
  for (int64_t i = 0; i < points; ++i) {
    const SmoothedCertificate& c = certificates[size_t(i)];
    const double d = signed_distance[size_t(i)];
    if (c.predicted_class == kAbstain) {
      // Abstaining is only right where the class is uncertain under the noise.
      EXPECT_LT(std::abs(d), sigma) << "point " << i << " at distance " << d;
      continue;
    }
    ++certified;
    EXPECT_EQ(c.predicted_class, d > 0 ? 1 : 0) << "point " << i;
    EXPECT_LE(c.radius, std::abs(d) + 1e-4) << "point " << i << ": a radius past the boundary";
    // And the bound is tight where the class is clear but not so clear that n copies cannot
    // show it (n = 4,000 at α = 0.001 certifies at most 2.92σ): within a third of σ of the truth.
    if (std::abs(d) >= sigma && std::abs(d) <= 2 * sigma) {
      EXPECT_GE(c.radius, std::abs(d) - sigma / 3) << "point " << i;
    }
  }
  EXPECT_GE(certified, points / 2);
  // The row's result does not depend on which other rows are certified with it.
  const auto alone = certify(model, x.rows(5, 6), {.sigma = sigma, .selection_samples = 100,
                                                   .estimation_samples = 4000, .alpha = 0.001, .batch_size = 77,
                                                   .seed = 11});
  // (Row 5 alone is row 0 of its call: its own stream; the same counts need the same row index.)
  const auto again = certify(model, x, options);
  for (int64_t i = 0; i < points; ++i) EXPECT_EQ(again[size_t(i)].count, certificates[size_t(i)].count);
  EXPECT_EQ(alone.size(), 1u);
}

TEST(RandomizedSmoothing, NoAttackOnTheSmoothedClassifierBeatsACertificate) {
  // A curved boundary (two rings), a base model trained with the noise it is smoothed with,
  // and for every certified point: PGD (ℓ2) against the base model at 0.95 of the certified
  // radius, and 24 directions at that distance, each judged by the smoothed classifier's
  // PREDICT. A different class anywhere inside the radius breaks the certificate.
  random::set_seed(5);
  const Rings train = rings(600, 1), test = rings(24, 2);
  const double sigma = 0.25;
  Sequential model;
  model.add(Dense(32, {.input_dim = 2, .activation = "relu"}));
  model.add(Dense(32, {.activation = "relu"}));
  model.add(Dense(1, {.activation = "sigmoid"}));
  model.compile({.loss = "binary_crossentropy", .optimizer = Adam{.learning_rate = 0.01f}});
  model.fit(train.x, train.y, {.epochs = 40, .batch_size = 32, .verbose = 0,
                               .batch_transform = gaussian_augmentation(sigma, 3)});
  const SmoothingOptions options{.sigma = sigma, .selection_samples = 64, .estimation_samples = 1000,
                                 .alpha = 0.001, .batch_size = 1000, .seed = 21};
  const auto certificates = certify(model, test.x, options);
  const std::vector<double> radii = {0.0, 0.2, 0.4, 0.6, 0.8};
  const auto curve = certified_accuracy(certificates, test.y, radii);
  EXPECT_GE(curve[0].certified_accuracy, 0.6) << "the smoothed model should certify most rings points";

  int64_t attacked = 0, broken = 0;
  std::vector<int64_t> correct_under_attack(radii.size(), 0);
  for (int64_t i = 0; i < test.x.shape(0); ++i) {
    const SmoothedCertificate& c = certificates[size_t(i)];
    std::vector<Tensor> candidates;
    if (c.predicted_class != kAbstain && c.radius > 0.02) {
      const float reach = float(0.95 * c.radius);
      for (int k = 0; k < 24; ++k) {
        Tensor moved(Shape{1, 2});
        moved[0] = test.x[i * 2] + reach * float(std::cos(6.283185307179586 * k / 24));
        moved[1] = test.x[i * 2 + 1] + reach * float(std::sin(6.283185307179586 * k / 24));
        candidates.push_back(moved);
      }
      AttackOptions pgd{.method = "pgd", .norm = "l2", .epsilon = reach, .steps = 20, .restarts = 2,
                        .clip_min = -10.0f, .clip_max = 10.0f, .seed = uint64_t(i)};
      Tensor label(Shape{1, 1});
      label[0] = float(c.predicted_class);
      candidates.push_back(adversarial_examples(model, test.x.rows(i, i + 1), label, pgd));
    }
    for (const Tensor& candidate : candidates) {
      ++attacked;
      const int64_t answer = smoothed_predict(model, candidate, {.sigma = sigma, .estimation_samples = 1000,
                                                                 .alpha = 0.001, .batch_size = 1000,
                                                                 .seed = uint64_t(1000 + attacked)})
                                 .front();
      if (answer != kAbstain && answer != c.predicted_class) ++broken;
    }
    // The smoothed classifier's accuracy under the PGD attack at each radius (an upper bound
    // on its robust accuracy) against its certified accuracy (a lower bound).
    for (size_t k = 0; k < radii.size(); ++k) {
      const int64_t label = int64_t(test.y[i]);
      Tensor point = Tensor(Shape{1, 2}, {test.x[i * 2], test.x[i * 2 + 1]});
      if (radii[k] > 0) {
        AttackOptions pgd{.method = "pgd", .norm = "l2", .epsilon = float(radii[k]), .steps = 20,
                          .clip_min = -10.0f, .clip_max = 10.0f, .seed = uint64_t(i)};
        Tensor y(Shape{1, 1});
        y[0] = float(label);
        point = adversarial_examples(model, point, y, pgd);
      }
      correct_under_attack[k] +=
          smoothed_predict(model, point, {.sigma = sigma, .estimation_samples = 1000, .alpha = 0.001,
                                          .batch_size = 1000, .seed = uint64_t(5000 + i)})
              .front() == label;
    }
  }
  EXPECT_GT(attacked, 200);
  EXPECT_EQ(broken, 0) << "a point inside a certified radius was given another class";
  for (size_t k = 0; k < radii.size(); ++k) {
    const double attacked_accuracy = double(correct_under_attack[k]) / double(test.x.shape(0));
    EXPECT_LE(curve[k].certified_accuracy, attacked_accuracy) << "radius " << radii[k];
    if (k > 0) {
      EXPECT_LE(curve[k].certified_accuracy, curve[k - 1].certified_accuracy);
    }
  }
}

TEST(RandomizedSmoothing, GaussianAugmentationAddsNoiseOfTheGivenDeviation) {
  BatchTransform noise = gaussian_augmentation(0.3, 9);
  Tensor x(Shape{50000, 2});
  Tensor y(Shape{50000, 1});
  const std::vector<TensorView> inputs = {x.view()};
  const std::vector<ConstTensorView> targets = {y.view()};
  Sequential unused;
  noise(unused, inputs, targets);
  double sum = 0, squares = 0;
  for (int64_t i = 0; i < x.numel(); ++i) sum += x[i], squares += double(x[i]) * x[i];
  const double mean = sum / double(x.numel()), deviation = std::sqrt(squares / double(x.numel()) - mean * mean);
  EXPECT_NEAR(mean, 0.0, 0.01);
  EXPECT_NEAR(deviation, 0.3, 0.005);
  // Each batch draws new noise.
  Tensor again(Shape{50000, 2});
  noise(unused, std::vector<TensorView>{again.view()}, targets);
  EXPECT_NE(again[0], x[0]);
}

TEST(RandomizedSmoothing, BadOptionsAreRefusedNamingThem) {
  Sequential model = linear_model({1.0f, 1.0f}, 0.0f);
  const Tensor x(Shape{1, 2});
  auto message = [&](const SmoothingOptions& options) {
    try {
      certify(model, x, options);
    } catch (const ValueError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message({.sigma = 0}).find("sigma"), std::string::npos);
  EXPECT_NE(message({.sigma = -1}).find("sigma"), std::string::npos);
  EXPECT_NE(message({.estimation_samples = 0}).find("sample"), std::string::npos);
  EXPECT_NE(message({.alpha = 1.5}).find("alpha"), std::string::npos);
  EXPECT_NE(message({.batch_size = 0}).find("batch_size"), std::string::npos);
  EXPECT_THROW(gaussian_augmentation(std::nan(""), 1), ValueError);
}

}  // namespace randomized_smoothing_test
