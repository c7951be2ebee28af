// Metrics on small cases counted by hand, including the edge cases.
#include <gtest/gtest.h>

#include <cmath>

#include "citadel/core/error.hpp"
#include "citadel/metrics/metric.hpp"

namespace metrics_test {

using namespace citadel;

namespace {

double evaluate(const std::string& name, LabelKind kind, const Tensor& p, const Tensor& y) {
  auto metric = make_metric(name, kind);
  metric->reset(p.shape(0));
  metric->update(p, y);
  return metric->result();
}

// Predictions at 0.5: [1, 0, 1, 0, 1] against [1, 1, 0, 0, 1]: TP 2, FP 1, FN 1, TN 1.
const Tensor kScores(Shape{5, 1}, {0.9f, 0.4f, 0.6f, 0.2f, 0.7f});
const Tensor kLabels(Shape{5, 1}, {1, 1, 0, 0, 1});

}  // namespace

TEST(Metrics, BinaryCountsByHand) {
  EXPECT_DOUBLE_EQ(evaluate("accuracy", LabelKind::kBinary, kScores, kLabels), 3.0 / 5.0);
  EXPECT_DOUBLE_EQ(evaluate("precision", LabelKind::kBinary, kScores, kLabels), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(evaluate("recall", LabelKind::kBinary, kScores, kLabels), 2.0 / 3.0);
  EXPECT_NEAR(evaluate("f1", LabelKind::kBinary, kScores, kLabels), 2.0 / 3.0, 1e-12);
  // 5 of the 6 (positive, negative) pairs are ranked correctly.
  EXPECT_NEAR(evaluate("auc", LabelKind::kBinary, kScores, kLabels), 5.0 / 6.0, 1e-12);
}

TEST(Metrics, AccumulateOverBatchesExactlyNotAsBatchAverages) {
  for (const std::string name : {"precision", "recall", "f1", "auc", "accuracy"}) {
    auto metric = make_metric(name, LabelKind::kBinary);
    metric->reset(5);
    metric->update(kScores.rows(0, 2), kLabels.rows(0, 2));
    metric->update(kScores.rows(2, 5), kLabels.rows(2, 5));
    EXPECT_NEAR(metric->result(), evaluate(name, LabelKind::kBinary, kScores, kLabels), 1e-12) << name;
  }
}

TEST(Metrics, NoPositivePredictionsGiveZeroNotNaN) {
  const Tensor low(Shape{4, 1}, {0.1f, 0.2f, 0.3f, 0.4f}), y(Shape{4, 1}, {1, 0, 0, 1});
  EXPECT_EQ(evaluate("precision", LabelKind::kBinary, low, y), 0.0);
  EXPECT_EQ(evaluate("recall", LabelKind::kBinary, low, y), 0.0);
  EXPECT_EQ(evaluate("f1", LabelKind::kBinary, low, y), 0.0);
  EXPECT_EQ(evaluate("accuracy", LabelKind::kBinary, low, y), 0.5);
}

TEST(Metrics, OneClassOnlyLeavesAucUndefined) {
  const Tensor p(Shape{3, 1}, {0.2f, 0.7f, 0.9f}), negatives(Shape{3, 1}, {0, 0, 0});
  EXPECT_TRUE(std::isnan(evaluate("auc", LabelKind::kBinary, p, negatives)));
  EXPECT_EQ(evaluate("recall", LabelKind::kBinary, p, negatives), 0.0);
  EXPECT_EQ(evaluate("precision", LabelKind::kBinary, p, negatives), 0.0);
  EXPECT_NEAR(evaluate("accuracy", LabelKind::kBinary, p, negatives), 1.0 / 3.0, 1e-12);
}

TEST(Metrics, AucCountsTiesAsHalf) {
  EXPECT_DOUBLE_EQ(roc_auc({0.5f, 0.5f}, {1, 0}), 0.5);
  EXPECT_DOUBLE_EQ(roc_auc({0.1f, 0.5f, 0.5f, 0.9f}, {0, 1, 0, 1}), (1 + 1 + 0.5 + 1) / 4.0);
}

TEST(Metrics, MulticlassMacroAveragesByHand) {
  const Tensor p(Shape{4, 3}, {0.7f, 0.2f, 0.1f, 0.1f, 0.8f, 0.1f, 0.2f, 0.5f, 0.3f, 0.6f, 0.3f, 0.1f});
  const Tensor sparse(Shape{4}, {0, 1, 2, 1});
  const Tensor onehot(Shape{4, 3}, {1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 0});
  for (auto [kind, y] : {std::pair{LabelKind::kSparse, sparse}, std::pair{LabelKind::kCategorical, onehot}}) {
    EXPECT_DOUBLE_EQ(evaluate("accuracy", kind, p, y), 0.5);
    EXPECT_NEAR(evaluate("precision", kind, p, y), 1.0 / 3.0, 1e-12);  // (1/2 + 1/2 + 0) / 3
    EXPECT_NEAR(evaluate("recall", kind, p, y), 0.5, 1e-12);           // (1 + 1/2 + 0) / 3
    EXPECT_NEAR(evaluate("f1", kind, p, y), 7.0 / 18.0, 1e-12);        // (2/3 + 1/2 + 0) / 3
    EXPECT_NEAR(evaluate("auc", kind, p, y), (1.0 + 0.75 + 1.0) / 3.0, 1e-12);
  }
}

TEST(Metrics, RegressionErrors) {
  const Tensor p(Shape{2, 2}, {1, 2, 3, 4}), y(Shape{2, 2}, {1, 0, 4, 4});
  EXPECT_DOUBLE_EQ(evaluate("mse", LabelKind::kBinary, p, y), (0 + 4 + 1 + 0) / 4.0);
  EXPECT_DOUBLE_EQ(evaluate("mae", LabelKind::kBinary, p, y), (0 + 2 + 1 + 0) / 4.0);
}

TEST(Metrics, UnknownNameListsTheKnownOnes) {
  try {
    make_metric("accuracyy", LabelKind::kBinary);
    FAIL();
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("precision"), std::string::npos);
  }
}

// NaN scores have no rank: sorting them was undefined behaviour that returned a finite AUC.
TEST(Metrics, NanScoresGiveNanAucAndBadLabelsAreErrors) {
  const std::vector<float> scores{0.1f, std::nanf(""), 0.8f, 0.3f};
  EXPECT_TRUE(std::isnan(roc_auc(scores, {0, 1, 1, 0})));
  auto binary = make_metric("auc", LabelKind::kBinary);
  binary->reset(2);
  Tensor p(Shape{2, 1}), y(Shape{2, 1});
  p[0] = 0.2f, p[1] = std::nanf("");
  y[1] = 1.0f;
  binary->update(p, y);
  EXPECT_TRUE(std::isnan(binary->result()));
  // Sparse labels outside the classes, or not whole numbers, were cast to int64 unchecked.
  Tensor probabilities(Shape{1, 3}), label(Shape{1});
  probabilities[0] = 1.0f;
  for (float bad : {3.0f, -1.0f, 1.5f, std::nanf(""), 1e30f}) {
    label[0] = bad;
    for (const char* name : {"auc", "accuracy"}) {
      auto metric = make_metric(name, LabelKind::kSparse);
      metric->reset(1);
      EXPECT_THROW(metric->update(probabilities, label), ValueError) << name << " " << bad;
    }
  }
}

}  // namespace metrics_test
