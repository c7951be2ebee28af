// Attribute inference: a model whose loss depends on the column gives the attack a clear
// advantage over the baseline, one that ignores it gives none; members that the model fits
// and non-members it does not make a gap. The bootstrap interval is checked against the
// exact bootstrap distribution, enumerated over every resample of a small case.
#include "citadel/privacy/attribute_inference.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"

namespace attribute_inference_test {

using namespace citadel;

namespace {

// Rows of 4 features: a category of 3 (one-hot, features 0-2; shares 50/30/20 %), a number
// (feature 3, uniform in [0, 1)).
Tensor rows_of(int64_t rows, uint64_t seed) {
  Rng rng(seed);
  Tensor x(Shape{rows, 4});
  for (int64_t r = 0; r < rows; ++r) {
    const double u = rng.uniform_double();
    x.at(r, u < 0.5 ? 0 : u < 0.8 ? 1 : 2) = 1;
    x.at(r, 3) = rng.uniform();
  }
  return x;
}

// A "model" whose loss is a classifier's cross-entropy: logits 4·(one-hot), so its loss is
// lowest when the category given is the label.
std::vector<double> category_loss(ConstTensorView x, ConstTensorView y) {
  std::vector<double> losses;
  for (int64_t r = 0; r < x.shape(0); ++r) {
    double norm = 0;
    for (int k = 0; k < 3; ++k) norm += std::exp(4.0 * x.data()[r * 4 + k]);
    losses.push_back(std::log(norm) - 4.0 * x.data()[r * 4 + int(y[r])]);
  }
  return losses;
}

// A regression "model" that outputs the number itself: loss (x₃ − y)².
std::vector<double> number_loss(ConstTensorView x, ConstTensorView y) {
  std::vector<double> losses;
  for (int64_t r = 0; r < x.shape(0); ++r) losses.push_back(std::pow(double(x.data()[r * 4 + 3]) - y[r], 2));
  return losses;
}

// Labels that are the row's category, or the row's number.
Tensor categories_of(const Tensor& x) {
  Tensor y(Shape{x.shape(0), 1});
  for (int64_t r = 0; r < x.shape(0); ++r) y[r] = x.at(r, 1) > 0.5f ? 1 : x.at(r, 2) > 0.5f ? 2 : 0;
  return y;
}
Tensor numbers_of(const Tensor& x) {
  Tensor y(Shape{x.shape(0), 1});
  for (int64_t r = 0; r < x.shape(0); ++r) y[r] = x.at(r, 3);
  return y;
}

const AttributeSpec kColour{.name = "colour", .features = {0, 1, 2}, .categorical = true};
const AttributeSpec kNumber{.name = "number", .features = {3}};

// The percentile interval of the exact bootstrap distribution of `statistics` (every resample once).
std::pair<double, double> exact_interval(std::vector<double> statistics, double confidence) {
  std::sort(statistics.begin(), statistics.end());
  auto quantile = [&](double p) {
    const double position = p * double(statistics.size() - 1);
    const size_t below = size_t(position);
    const size_t above = std::min(below + 1, statistics.size() - 1);
    return statistics[below] + (position - double(below)) * (statistics[above] - statistics[below]);
  };
  return {quantile((1 - confidence) / 2), quantile((1 + confidence) / 2)};
}

// Every mean of n draws with replacement from `values` (n^n of them, in index order).
std::vector<double> every_resampled_mean(const std::vector<double>& values) {
  const size_t n = values.size();
  size_t total = 1;
  for (size_t i = 0; i < n; ++i) total *= n;
  std::vector<double> means;
  for (size_t code = 0; code < total; ++code) {
    double sum = 0;
    for (size_t i = 0, rest = code; i < n; ++i, rest /= n) sum += values[rest % n];
    means.push_back(sum / double(n));
  }
  return means;
}

}  // namespace

TEST(AttributeInference, AModelThatUsesTheColumnGivesTheAttackAClearAdvantage) {
  const Tensor members = rows_of(300, 1), others = rows_of(200, 2);
  const AttributeInferenceResult colour = attribute_inference(category_loss, members, categories_of(members), others,
                                                              categories_of(others), kColour);
  EXPECT_EQ(colour.candidate_count, 3);
  EXPECT_EQ(colour.baseline_guess, 0);  // the most common category
  EXPECT_DOUBLE_EQ(colour.members.attack_accuracy, 1.0);
  EXPECT_NEAR(colour.members.baseline_accuracy, 0.5, 0.08);
  EXPECT_NEAR(colour.members.advantage, colour.members.attack_accuracy - colour.members.baseline_accuracy, 1e-12);
  EXPECT_GT(colour.members.advantage_low, 0.3);  // the interval is well clear of 0
  EXPECT_LE(colour.members.advantage_low, colour.members.advantage);
  EXPECT_GE(colour.members.advantage_high, colour.members.advantage);

  const AttributeInferenceResult number =
      attribute_inference(number_loss, members, numbers_of(members), others, numbers_of(others), kNumber, {.grid = 8});
  EXPECT_EQ(number.candidate_count, 8);
  EXPECT_TRUE(std::is_sorted(number.candidates.begin(), number.candidates.end()));
  EXPECT_DOUBLE_EQ(number.members.attack_accuracy, 1.0);  // the grid point nearest y is the row's own bin
  EXPECT_NEAR(number.members.baseline_accuracy, 1.0 / 8, 0.06);
  EXPECT_GT(number.members.advantage_low, 0.7);
  // Members and non-members alike: no gap, and its interval holds 0.
  EXPECT_LE(number.gap_low, 0);
  EXPECT_GE(number.gap_high, 0);
}

TEST(AttributeInference, AModelThatIgnoresTheColumnGivesNoAdvantage) {
  const Tensor members = rows_of(300, 3), others = rows_of(200, 4);
  // The loss reads only the number: every category gives the same loss, the attacker falls
  // back on the baseline's guess, and the advantage is exactly 0.
  const AttributeInferenceResult colour = attribute_inference(number_loss, members, numbers_of(members), others,
                                                              numbers_of(others), kColour);
  EXPECT_EQ(colour.members.attack_accuracy, colour.members.baseline_accuracy);
  EXPECT_EQ(colour.members.advantage, 0);
  EXPECT_LE(colour.members.advantage_low, 0);
  EXPECT_GE(colour.members.advantage_high, 0);
  // A loss that varies with the column but says nothing about the row's value (labels drawn
  // apart from it): the attack is no better than guessing the most common bin.
  Tensor unrelated(Shape{300, 1});
  Rng rng(9);
  for (int64_t r = 0; r < 300; ++r) unrelated[r] = rng.uniform();
  Tensor unrelated_others(Shape{200, 1});
  for (int64_t r = 0; r < 200; ++r) unrelated_others[r] = rng.uniform();
  const AttributeInferenceResult number =
      attribute_inference(number_loss, members, unrelated, others, unrelated_others, kNumber);
  EXPECT_LE(number.members.advantage_low, 0.02);
  EXPECT_GE(number.members.advantage_high, -0.02);
  EXPECT_LT(std::fabs(number.members.advantage), 0.1);
}

TEST(AttributeInference, MembersTheModelFitsAndNonMembersItDoesNotMakeAGap) {
  const Tensor members = rows_of(300, 5), others = rows_of(300, 6);
  Tensor other_labels(Shape{300, 1});
  Rng rng(11);
  for (int64_t r = 0; r < 300; ++r) other_labels[r] = rng.uniform();  // the model "fits" members only
  const AttributeInferenceResult r =
      attribute_inference(number_loss, members, numbers_of(members), others, other_labels, kNumber);
  EXPECT_GT(r.members.advantage, 0.8);
  EXPECT_LT(std::fabs(r.non_members.advantage), 0.1);
  EXPECT_NEAR(r.gap, r.members.advantage - r.non_members.advantage, 1e-12);
  EXPECT_GT(r.gap_low, 0.6);
}

TEST(AttributeInference, TheBootstrapIntervalMatchesTheExactBootstrapDistribution) {
  // One sample of 6: all 6^6 = 46,656 resamples enumerated.
  const std::vector<double> values{0.1, 0.4, 0.45, 1.3, 2.0, 3.1};
  const auto [low, high] = exact_interval(every_resampled_mean(values), 0.95);
  const BootstrapInterval estimated = bootstrap_interval(values, {}, 40000, 0.95, 7);
  EXPECT_NEAR(estimated.low, low, 0.03) << "exact " << low;
  EXPECT_NEAR(estimated.high, high, 0.03) << "exact " << high;
  // Two samples of 5, resampled apart: every pair of resamples (3,125² ≈ 9.8 million).
  const std::vector<double> a{1, 0, 1, 1, 0}, b{0, 0, 1, 0, -1};
  const std::vector<double> means_a = every_resampled_mean(a), means_b = every_resampled_mean(b);
  std::vector<double> differences;
  differences.reserve(means_a.size() * means_b.size());
  for (double x : means_a)
    for (double y : means_b) differences.push_back(x - y);
  const auto [gap_low, gap_high] = exact_interval(differences, 0.9);
  const BootstrapInterval gap = bootstrap_interval(a, b, 40000, 0.9, 8);
  EXPECT_NEAR(gap.low, gap_low, 0.05) << "exact " << gap_low;
  EXPECT_NEAR(gap.high, gap_high, 0.05) << "exact " << gap_high;
  EXPECT_THROW(bootstrap_interval({}, {}, 10, 0.95, 1), ValueError);
}

TEST(AttributeInference, RefusesFeaturesOutsideTheRows) {
  const Tensor x = rows_of(10, 1);
  EXPECT_THROW(attribute_inference(number_loss, x, numbers_of(x), x, numbers_of(x), {.name = "far", .features = {9}}),
               ValueError);
  EXPECT_THROW(attribute_inference(number_loss, x, numbers_of(x), x, numbers_of(x),
                                   {.name = "two", .features = {0, 1}}),
               ValueError);
}

}  // namespace attribute_inference_test
