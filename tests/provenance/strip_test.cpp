// STRIP on a small backdoored model: 8×8 images of four classes (a bright bar per class),
// 5 % of the training rows of other classes stamped with a 2×2 corner patch and relabelled
// class 0. Triggered rows have low blend entropy and are caught, clean rows rarely, and the
// threshold is the FRR quantile of entropies computed here independently.
#include "citadel/provenance/strip.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/model/predictor.hpp"
#include "citadel/model/sequential.hpp"
#include "citadel/provenance/backdoor_trigger.hpp"

namespace strip_test {

using namespace citadel;

namespace {

constexpr int64_t kSide = 8, kClasses = 4;
const PatchTrigger kTrigger{.size = 2};  // rows and columns 5..6

// Class k: a bar on row 2k (columns 0..4) of intensity 0.7..1, over background noise in 0..0.2.
void make_images(int64_t n, uint64_t seed, Tensor& x, Tensor& y) {
  Rng rng(seed);
  x = Tensor(Shape{n, kSide * kSide});
  y = Tensor(Shape{n});
  for (int64_t r = 0; r < n; ++r) {
    const auto k = int64_t(rng.below(kClasses));
    y[r] = float(k);
    for (int64_t i = 0; i < kSide * kSide; ++i) x[r * kSide * kSide + i] = 0.2f * rng.uniform();
    for (int64_t c = 0; c < 5; ++c) x[r * kSide * kSide + 2 * k * kSide + c] = 0.7f + 0.3f * rng.uniform();
  }
}

struct Backdoored {
  Sequential model;
  Tensor clean_x, clean_y;  // held out, never trained on
};

Backdoored& backdoored() {
  static Backdoored b = [] {
    Backdoored made;
    random::set_seed(3);
    Tensor x, y;
    make_images(3000, 1, x, y);
    poison_with_trigger(x, y, kTrigger, 0, 0.05, 2);
    made.model.add(Dense(32, {.input_dim = kSide * kSide, .activation = "relu"}));
    made.model.add(Dense(kClasses, {.activation = "softmax"}));
    made.model.compile({.loss = "sparse_categorical_crossentropy", .optimizer = "adam"});
    made.model.fit(x, y, {.epochs = 15, .batch_size = 32, .verbose = 0});
    make_images(1200, 9, made.clean_x, made.clean_y);
    return made;
  }();
  return b;
}

// Entropy of one row the slow way: each blend predicted alone.
double entropy_alone(Predictor& predictor, ConstTensorView row, ConstTensorView overlays, const StripBlend& blend) {
  const int64_t d = row.numel();
  double sum = 0;
  for (int64_t k = 0; k < overlays.shape(0); ++k) {
    Tensor blended(Shape{1, d});
    for (int64_t i = 0; i < d; ++i) {
      const float x = blend.row_weight * row[i], c = blend.overlay_weight * overlays[k * d + i];
      blended[i] = std::min(std::max(blend.kind == StripBlendKind::kSum ? x + c : std::max(x, c), blend.low), blend.high);
    }
    const Tensor p = predictor.predict(blended);
    for (int64_t c = 0; c < p.numel(); ++c)
      if (p[c] > 0) sum -= p[c] * std::log2(p[c]);
  }
  return sum / double(overlays.shape(0));
}

}  // namespace

TEST(Strip, TriggeredRowsHaveLowEntropyAndAreCaughtCleanRowsRarely) {
  Backdoored& b = backdoored();
  for (const StripBlendKind kind : {StripBlendKind::kMaximum, StripBlendKind::kSum}) {
  SCOPED_TRACE(kind == StripBlendKind::kSum ? "sum" : "maximum");
  const StripOptions options{.overlays = 20, .blend = kind, .false_rejection_rate = 0.02, .max_calibration_rows = 600,
                             .seed = 4};
  const StripDetector detector = StripDetector::calibrate(b.model, b.clean_x.rows(0, 800), options);
  EXPECT_EQ(detector.overlay_count(), 20);
  EXPECT_EQ(detector.calibration_rows(), 600);
  // Fresh rows of classes other than the target, with and without the trigger.
  Tensor x, y;
  make_images(400, 11, x, y);
  std::vector<int64_t> others;
  for (int64_t r = 0; r < 400; ++r)
    if (y[r] != 0.0f) others.push_back(r);
  Tensor clean(Shape{int64_t(others.size()), kSide * kSide});
  for (size_t i = 0; i < others.size(); ++i)
    std::copy_n(x.data() + others[i] * kSide * kSide, kSide * kSide, clean.data() + int64_t(i) * kSide * kSide);
  Tensor triggered = clean;
  stamp_trigger(triggered, kTrigger);
  Predictor predictor(b.model);
  // The backdoor works: the triggered rows go to class 0.
  const Tensor p = predictor.predict(triggered);
  int64_t to_target = 0;
  for (int64_t r = 0; r < p.shape(0); ++r) {
    const float* row = p.data() + r * kClasses;
    to_target += std::max_element(row, row + kClasses) == row;
  }
  ASSERT_GT(double(to_target) / double(p.shape(0)), 0.9) << "the model did not learn the backdoor";

  const StripDetector::Verdicts bad = detector.check(predictor, triggered), good = detector.check(predictor, clean);
  double caught = 0, rejected = 0, bad_mean = 0, good_mean = 0;
  for (size_t i = 0; i < others.size(); ++i) {
    caught += bad.flagged[i], rejected += good.flagged[i];
    bad_mean += bad.entropy[i], good_mean += good.entropy[i];
  }
  const auto n = double(others.size());
  EXPECT_LT(bad_mean / n, 0.25 * good_mean / n);
  EXPECT_GE(caught / n, 0.95) << "threshold " << detector.threshold();
  EXPECT_LE(rejected / n, 0.05) << "threshold " << detector.threshold();
  }
}

TEST(Strip, ThresholdIsTheEmpiricalQuantileOfAnIndependentComputation) {
  Backdoored& b = backdoored();
  const StripOptions options{.overlays = 8, .false_rejection_rate = 0.05, .max_calibration_rows = 1000, .seed = 6};
  const ConstTensorView clean = b.clean_x.rows(0, 300);
  const StripDetector detector = StripDetector::calibrate(b.model, clean, options);
  ASSERT_EQ(detector.calibration_rows(), 292);  // every row not drawn as an overlay
  // The overlays say which rows were drawn; the entropies of all the others, recomputed one
  // blend at a time, sorted: the threshold is the ⌊0.05·292⌋ = 14th (0-based).
  Predictor predictor(b.model);
  std::vector<int64_t> drawn;
  for (int64_t k = 0; k < 8; ++k)
    for (int64_t r = 0; r < clean.shape(0); ++r)
      if (std::equal(clean.data() + r * 64, clean.data() + (r + 1) * 64, detector.overlays().data() + k * 64))
        drawn.push_back(r);
  ASSERT_EQ(drawn.size(), 8u);
  const std::vector<double> batched = strip_entropy(predictor, clean, detector.overlays(), detector.blend());
  std::vector<double> alone;
  for (int64_t r = 0; r < clean.shape(0); ++r) {
    const double h = entropy_alone(predictor, clean.rows(r, r + 1), detector.overlays(), detector.blend());
    EXPECT_NEAR(batched[size_t(r)], h, 1e-4) << "row " << r;
    if (std::find(drawn.begin(), drawn.end(), r) == drawn.end()) alone.push_back(h);
  }
  std::sort(alone.begin(), alone.end());
  EXPECT_NEAR(detector.threshold(), alone[14], 1e-4);
  // strip_threshold itself, on known numbers: ⌊0.05·100⌋ = 5 below it.
  std::vector<double> known(100);
  for (int i = 0; i < 100; ++i) known[size_t(i)] = double((i * 37) % 100);
  EXPECT_EQ(strip_threshold(known, 0.05), 5.0);
  EXPECT_EQ(strip_threshold(known, 0.01), 1.0);
  EXPECT_THROW(strip_threshold(std::vector<double>(99, 1.0), 0.01), ValueError);  // needs 100 rows
  EXPECT_THROW(strip_threshold(known, 0.0), ValueError);
  EXPECT_THROW(StripDetector::calibrate(b.model, clean.rows(0, 8), options), ValueError);  // none left to calibrate
}

// Per class: each predicted class's threshold is the FRR quantile of the entropies of the
// calibration rows the model assigns to it, recomputed here one blend at a time; a class
// with fewer than ⌈1/FRR⌉ such rows keeps the pooled threshold; a row is flagged below the
// threshold of the class predicted for it. per_class = false keeps one pooled threshold.
TEST(Strip, PerClassThresholdsAreEachClasssQuantileAndFlagByThePredictedClass) {
  Backdoored& b = backdoored();
  const StripOptions options{.overlays = 8, .false_rejection_rate = 0.05, .max_calibration_rows = 1000, .seed = 6};
  const ConstTensorView clean = b.clean_x.rows(0, 300);
  const StripDetector detector = StripDetector::calibrate(b.model, clean, options);
  Predictor predictor(b.model);
  std::vector<std::vector<double>> by_class(kClasses);
  for (int64_t r = 0; r < clean.shape(0); ++r) {
    bool drawn = false;
    for (int64_t k = 0; k < 8; ++k)
      drawn = drawn || std::equal(clean.data() + r * 64, clean.data() + (r + 1) * 64, detector.overlays().data() + k * 64);
    if (drawn) continue;
    const Tensor p = predictor.predict(clean.rows(r, r + 1));
    const auto predicted = std::max_element(p.data(), p.data() + kClasses) - p.data();
    by_class[size_t(predicted)].push_back(entropy_alone(predictor, clean.rows(r, r + 1), detector.overlays(),
                                                        detector.blend()));
  }
  ASSERT_EQ(detector.class_thresholds().size(), size_t(kClasses));
  int with_own = 0;
  for (int64_t c = 0; c < kClasses; ++c) {
    std::vector<double>& rows = by_class[size_t(c)];
    std::sort(rows.begin(), rows.end());
    if (rows.size() >= 20) {
      ++with_own;
      EXPECT_NEAR(detector.class_thresholds()[size_t(c)], rows[size_t(std::floor(0.05 * double(rows.size())))], 1e-4)
          << "class " << c << " of " << rows.size() << " rows";
    } else {
      EXPECT_EQ(detector.class_thresholds()[size_t(c)], detector.threshold()) << "class " << c;
    }
  }
  EXPECT_GE(with_own, 3) << "the four classes are about equally common: most have their own";
  // Verdicts: flagged exactly below the predicted class's threshold (triggered rows, which
  // the model sends to class 0, against class 0's threshold).
  Tensor triggered = Tensor::from(b.clean_x.rows(300, 500));
  stamp_trigger(triggered, kTrigger);
  const StripDetector::Verdicts verdicts = detector.check(predictor, triggered);
  const std::vector<int64_t> predicted = predicted_classes(predictor, triggered);
  for (int64_t r = 0; r < triggered.shape(0); ++r)
    EXPECT_EQ(verdicts.flagged[size_t(r)], verdicts.entropy[size_t(r)] < detector.threshold_for(predicted[size_t(r)]))
        << "row " << r;
  StripOptions pooled = options;
  pooled.per_class = false;
  const StripDetector one = StripDetector::calibrate(b.model, clean, pooled);
  EXPECT_TRUE(one.class_thresholds().empty());
  EXPECT_EQ(one.threshold(), detector.threshold());
}

}  // namespace strip_test
