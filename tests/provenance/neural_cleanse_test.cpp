// Neural Cleanse on small planted backdoors: the backdoored label flagged with a mask near the
// trigger's size, a clean model passed, the anomaly index against an independent computation,
// and bad arguments refused.
#include "citadel/provenance/neural_cleanse.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "citadel/core/error.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/model/sequential.hpp"
#include "citadel/optim/optimizer.hpp"
#include "citadel/provenance/anomaly_index.hpp"
#include "citadel/provenance/backdoor_trigger.hpp"
#include "../support/planted_backdoor.hpp"

namespace neural_cleanse_test {

using namespace citadel;
using citadel::testing::planted_images;
using Images = citadel::testing::PlantedImages;

namespace {

constexpr int64_t kTarget = 3;

Sequential trained(bool backdoored, uint64_t seed = 5) {
  Images data = planted_images(3000, 1);
  if (backdoored) poison_with_trigger(data.x, data.y, {.size = 2}, kTarget, 0.05, 9);
  random::set_seed(seed);
  Sequential model;
  model.add(Dense(32, {.input_dim = 64, .activation = "relu"}));
  model.add(Dense(10, {.activation = "softmax"}));
  model.compile({.loss = "sparse_categorical_crossentropy", .optimizer = Adam{.learning_rate = 3e-3f}});
  model.fit(data.x, data.y, {.epochs = 15, .batch_size = 64, .verbose = 0, .seed = 3});
  return model;
}

NeuralCleanseOptions quick() { return {.steps = 200, .batch_size = 64, .seed = 7}; }

}  // namespace

TEST(NeuralCleanse, FlagsThePlantedTargetWithASmallMask) {
  Sequential model = trained(true);
  // The backdoor works: clean rows with the trigger go to the target.
  Images probe = planted_images(200, 77);
  stamp_trigger(probe.x, {.size = 2});
  const Tensor out = model.predict(probe.x);
  int64_t sent = 0;
  for (int64_t r = 0; r < 200; ++r) sent += std::max_element(out.data() + r * 10, out.data() + r * 10 + 10) - (out.data() + r * 10) == kTarget;
  ASSERT_GT(sent, 180) << "the planted backdoor did not take";

  const Images clean = planted_images(400, 2);
  const auto start = std::chrono::steady_clock::now();
  const NeuralCleanseResult result = neural_cleanse(model, clean.x, quick());
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_EQ(result.labels.size(), 10u);
  EXPECT_EQ(result.height, 8);
  EXPECT_EQ(result.channels, 1);
  for (const ReversedTrigger& t : result.labels)
    std::printf("label %lld: L1 %.2f success %.3f index %.2f%s\n", (long long)t.label, t.l1_norm, t.attack_success,
                t.anomaly_index, t.flagged ? " FLAGGED" : "");
  std::printf("%.2f s\n", seconds);
  ASSERT_FALSE(result.flagged.empty());
  EXPECT_EQ(result.flagged.front(), kTarget);
  const ReversedTrigger& target = result.labels[kTarget];
  EXPECT_TRUE(target.reached);
  EXPECT_GT(target.anomaly_index, 2.0);
  // The trigger covers 4 pixels; the reversed mask is of that order, far below the others'.
  EXPECT_LT(target.l1_norm, 12.0);
  EXPECT_LT(target.l1_norm, result.median_l1 / 2);
  // Its weight sits on the corner the trigger was stamped in (rows and columns 5..6).
  double inside = 0;
  for (int64_t r = 5; r < 7; ++r)
    for (int64_t c = 5; c < 7; ++c) inside += target.mask[r * 8 + c];
  EXPECT_GT(inside, 0.5 * target.l1_norm);
  EXPECT_EQ(target.mask.shape(), (Shape{8, 8}));
  EXPECT_EQ(target.pattern.shape(), (Shape{8, 8, 1}));
  for (int64_t i = 0; i < target.mask.numel(); ++i) ASSERT_TRUE(target.mask[i] >= 0 && target.mask[i] <= 1);
}

TEST(NeuralCleanse, PassesACleanModel) {
  Sequential model = trained(false);
  const Images clean = planted_images(400, 2);
  const NeuralCleanseResult result = neural_cleanse(model, clean.x, quick());
  for (const ReversedTrigger& t : result.labels)
    std::printf("label %lld: L1 %.2f success %.3f index %.2f\n", (long long)t.label, t.l1_norm, t.attack_success,
                t.anomaly_index);
  EXPECT_TRUE(result.flagged.empty()) << "flagged " << result.flagged.front();
  for (const ReversedTrigger& t : result.labels) EXPECT_FALSE(t.flagged) << t.label;
}

// A scan whose labels' norms are the given ones (all else default).
NeuralCleanseResult scan_of(const std::vector<double>& norms) {
  NeuralCleanseResult scan;
  for (size_t i = 0; i < norms.size(); ++i) {
    scan.labels.emplace_back();
    scan.labels.back().label = int64_t(i);
    scan.labels.back().l1_norm = norms[i];
  }
  return scan;
}

// Labels 0, 4 and 7 need small masks in every clean model (as Fashion-MNIST's Bag does): the
// paper's rule across labels flags them in a clean model; judged against clean references,
// the clean model passes and a planted label 3 (natural norm 105, now 35) is the one flag.
TEST(NeuralCleanse, ReferencesJudgeEachLabelAgainstItsOwnCleanNorm) {
  const std::vector<double> natural = {25, 100, 95, 105, 40, 98, 102, 30, 97, 103};
  std::vector<NeuralCleanseResult> references = {scan_of({24, 101, 96, 104, 41, 99, 100, 31, 98, 102}),
                                                 scan_of({26, 99, 94, 106, 39, 97, 104, 29, 96, 104})};
  NeuralCleanseOptions options;
  // The paper's rule on the clean model: median 97.5, MAD 5, so label 0's index is
  // 72.5 / (1.4826 · 5) = 9.78 — a false flag, with labels 7 and 4.
  NeuralCleanseResult clean = scan_of(natural);
  {
    NeuralCleanseResult raw = clean;
    judge_against_references(raw, {scan_of(std::vector<double>(10, 1.0))}, options);  // references all 1: ratios = norms
    EXPECT_EQ(raw.flagged, (std::vector<int64_t>{0, 7, 4}));
    EXPECT_NEAR(raw.labels[0].anomaly_index, 72.5 / (1.4826 * 5), 1e-9);
  }
  judge_against_references(clean, references, options);
  EXPECT_TRUE(clean.flagged.empty());
  EXPECT_EQ(clean.references, 2);
  for (size_t i = 0; i < natural.size(); ++i) {  // the references' median of two is their mean here
    EXPECT_DOUBLE_EQ(clean.labels[i].reference_l1, natural[i]);
    EXPECT_DOUBLE_EQ(clean.labels[i].relative_l1, 1.0);
  }

  // Backdoored: ratios 1.0, .97, 1.02, 1/3, 1.05, .99, 1.01, .96, 1.03, 1.0 of the references.
  const std::vector<double> factors = {1.0, 0.97, 1.02, 1.0 / 3, 1.05, 0.99, 1.01, 0.96, 1.03, 1.0};
  std::vector<double> norms;
  for (size_t i = 0; i < natural.size(); ++i) norms.push_back(natural[i] * factors[i]);
  NeuralCleanseResult backdoored = scan_of(norms);
  judge_against_references(backdoored, references, options);
  EXPECT_EQ(backdoored.flagged, (std::vector<int64_t>{3}));
  // Median of the ratios 1.0, MAD 0.025: label 3's index is (1 − 1/3) / (1.4826 · 0.025).
  EXPECT_NEAR(backdoored.median_l1, 1.0, 1e-12);
  EXPECT_NEAR(backdoored.median_absolute_deviation, 0.025, 1e-12);
  EXPECT_NEAR(backdoored.labels[3].anomaly_index, (2.0 / 3) / (1.4826 * 0.025), 1e-6);

  EXPECT_THROW(judge_against_references(backdoored, {}, options), ValueError);
  EXPECT_THROW(judge_against_references(backdoored, {scan_of({1, 2, 3})}, options), ValueError);
  EXPECT_THROW(judge_against_references(backdoored, {scan_of(std::vector<double>(10, 0.0))}, options), ValueError);
}

// The planted backdoor judged against two clean models trained with other seeds: flagged; a
// third clean model judged against the same references: passed.
TEST(NeuralCleanse, CleanReferenceModelsFlagThePlantedTargetAndPassACleanModel) {
  const Images clean_rows = planted_images(400, 2);
  std::vector<NeuralCleanseResult> references;
  for (uint64_t seed : {11, 12}) {
    Sequential reference = trained(false, seed);
    references.push_back(neural_cleanse(reference, clean_rows.x, quick()));
  }
  Sequential backdoored_model = trained(true);
  NeuralCleanseResult backdoored = neural_cleanse(backdoored_model, clean_rows.x, quick());
  judge_against_references(backdoored, references, quick());
  ASSERT_FALSE(backdoored.flagged.empty());
  EXPECT_EQ(backdoored.flagged.front(), kTarget);
  EXPECT_LT(backdoored.labels[kTarget].relative_l1, 0.5);

  Sequential clean_model = trained(false, 13);
  NeuralCleanseResult clean = neural_cleanse(clean_model, clean_rows.x, quick());
  judge_against_references(clean, references, quick());
  for (const ReversedTrigger& t : clean.labels)
    std::printf("clean label %lld: L1 %.2f reference %.2f ratio %.3f index %.2f\n", (long long)t.label, t.l1_norm,
                t.reference_l1, t.relative_l1, t.anomaly_index);
  EXPECT_TRUE(clean.flagged.empty()) << "flagged " << clean.flagged.front();
}

TEST(NeuralCleanse, AnomalyIndexIsTheScaledMedianAbsoluteDeviation) {
  const std::vector<double> norms = {20, 22, 19, 25, 3, 21, 24, 18, 23, 26};
  const AnomalyIndices result = anomaly_indices(norms);
  // Sorted: 3 18 19 20 21 22 23 24 25 26 → median (21 + 22) / 2 = 21.5; deviations sorted
  // 0.5 0.5 1.5 1.5 2.5 2.5 3.5 3.5 4.5 18.5 → MAD (2.5 + 2.5) / 2 = 2.5.
  EXPECT_DOUBLE_EQ(result.median, 21.5);
  EXPECT_DOUBLE_EQ(result.median_absolute_deviation, 2.5);
  for (size_t i = 0; i < norms.size(); ++i)
    EXPECT_NEAR(result.index[i], std::abs(norms[i] - 21.5) / (1.4826 * 2.5), 1e-12) << i;
  EXPECT_NEAR(result.index[4], 18.5 / 3.7065, 1e-12);
  const AnomalyIndices odd = anomaly_indices({1, 5, 2});
  EXPECT_DOUBLE_EQ(odd.median, 2);
  EXPECT_DOUBLE_EQ(odd.median_absolute_deviation, 1);  // deviations 1, 3, 0
  const AnomalyIndices flat = anomaly_indices({4, 4, 4, 9});
  EXPECT_EQ(flat.index[0], 0);
  EXPECT_TRUE(std::isinf(flat.index[3]));
  EXPECT_THROW(anomaly_indices({}), ValueError);
  EXPECT_THROW(anomaly_indices({1, NAN}), ValueError);
}

// median_of serves the anomaly index and the poisoned-data inspection: checked against sorting.
TEST(NeuralCleanse, MedianAgreesWithSortingForOddAndEvenCounts) {
  uint64_t state = 12345;
  for (size_t n = 1; n <= 12; ++n) {
    std::vector<double> values;
    for (size_t i = 0; i < n; ++i) {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      values.push_back(double((state >> 33) % 7));  // small range: repeated values too
    }
    std::vector<double> sorted = values;
    std::sort(sorted.begin(), sorted.end());
    const double expected = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    EXPECT_DOUBLE_EQ(median_of(values), expected) << n;
  }
}

TEST(NeuralCleanse, RefusesWhatItCannotScan) {
  Sequential model;
  model.add(Dense(10, {.input_dim = 64, .activation = "softmax"}));
  const Tensor x(Shape{4, 64});
  EXPECT_THROW(neural_cleanse(model, x), ValueError);  // not compiled
  model.compile({.loss = "sparse_categorical_crossentropy"});
  EXPECT_THROW(neural_cleanse(model, Tensor(Shape{4, 63})), ValueError);
  EXPECT_THROW(neural_cleanse(model, x, {.steps = 0}), ValueError);
  EXPECT_THROW(neural_cleanse(model, x, {.height = 4, .width = 4, .channels = 3}), ValueError);
  Sequential binary;
  binary.add(Dense(2, {.input_dim = 64, .activation = "softmax"}));
  binary.compile({.loss = "sparse_categorical_crossentropy"});
  EXPECT_THROW(neural_cleanse(binary, x), ValueError);  // too few labels to compare
  Sequential regression;
  regression.add(Dense(3, {.input_dim = 64}));
  regression.compile({.loss = "mse"});
  EXPECT_THROW(neural_cleanse(regression, x), ValueError);
}

}  // namespace neural_cleanse_test
