// ROC and precision-recall curves: a case worked by hand (scikit-learn's documented
// example) and random scores with ties against a brute-force count at every threshold.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "citadel/core/random.hpp"
#include "citadel/metrics/classification_report.hpp"
#include "citadel/metrics/curves.hpp"

namespace curves_test {

using namespace citadel;

TEST(Curves, ScikitLearnsDocumentedExample) {
  // roc_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]): thresholds 0.8, 0.4, 0.35, 0.1.
  const std::vector<float> scores{0.1f, 0.4f, 0.35f, 0.8f};
  const std::vector<unsigned char> labels{0, 0, 1, 1};
  const RocCurve roc = roc_curve(scores, labels);
  EXPECT_EQ(roc.false_positive_rate, (std::vector<double>{0, 0, 0.5, 0.5, 1}));
  EXPECT_EQ(roc.true_positive_rate, (std::vector<double>{0, 0.5, 0.5, 1, 1}));
  EXPECT_DOUBLE_EQ(roc.auc, 0.75);
  // average_precision_score gives 0.8333: 0.5·1 + 0.5·(2/3).
  const PrecisionRecallCurve pr = precision_recall_curve(scores, labels);
  EXPECT_NEAR(pr.average_precision, 0.5 + 0.5 * 2.0 / 3.0, 1e-12);
  EXPECT_EQ(pr.recall.front(), 0.0);
  EXPECT_EQ(pr.precision.front(), 1.0);
  EXPECT_EQ(pr.recall.back(), 1.0);
}

TEST(Curves, MatchABruteForceCountAtEveryThreshold) {
  Rng rng(5);
  std::vector<float> scores(300);
  std::vector<unsigned char> labels(300);
  for (size_t i = 0; i < scores.size(); ++i) {
    labels[i] = rng.uniform() < 0.4;
    scores[i] = std::round((rng.uniform() + (labels[i] ? 0.3 : 0.0)) * 20.0f) / 20.0f;  // many ties
  }
  const double P = double(std::count(labels.begin(), labels.end(), 1)), N = double(labels.size()) - P;
  const std::set<float, std::greater<float>> thresholds(scores.begin(), scores.end());
  std::vector<double> fpr{0}, tpr{0};
  double average_precision = 0, previous_recall = 0, trapezoid = 0;
  for (float t : thresholds) {
    double tp = 0, fp = 0;
    for (size_t i = 0; i < scores.size(); ++i)
      if (scores[i] >= t) (labels[i] ? tp : fp) += 1;
    trapezoid += (fp / N - fpr.back()) * (tp / P + tpr.back()) / 2;
    fpr.push_back(fp / N);
    tpr.push_back(tp / P);
    average_precision += (tp / P - previous_recall) * tp / (tp + fp);
    previous_recall = tp / P;
  }
  const RocCurve roc = roc_curve(scores, labels, 10'000);
  EXPECT_EQ(roc.false_positive_rate, fpr);
  EXPECT_EQ(roc.true_positive_rate, tpr);
  EXPECT_NEAR(roc.auc, trapezoid, 1e-12);  // Mann-Whitney with tie-averaged ranks = the trapezoids
  EXPECT_NEAR(precision_recall_curve(scores, labels).average_precision, average_precision, 1e-12);

  const RocCurve thin = roc_curve(scores, labels, 8);
  EXPECT_EQ(thin.false_positive_rate.size(), std::min<size_t>(8, fpr.size()));
  EXPECT_EQ(thin.false_positive_rate.front(), 0.0);
  EXPECT_EQ(thin.true_positive_rate.back(), 1.0);
  EXPECT_TRUE(std::is_sorted(thin.true_positive_rate.begin(), thin.true_positive_rate.end()));
}

TEST(Curves, UndefinedWithoutBothClassesOrWithNaN) {
  EXPECT_TRUE(roc_curve({0.2f, 0.4f}, {1, 1}).false_positive_rate.empty());
  EXPECT_TRUE(std::isnan(roc_curve({0.2f, 0.4f}, {1, 1}).auc));
  EXPECT_TRUE(std::isnan(precision_recall_curve({0.2f, NAN}, {0, 1}).average_precision));
}

TEST(Curves, TheClassificationReportHasOneCurvePerClassPresent) {
  const Tensor binary(Shape{4, 1}, {0.1f, 0.4f, 0.35f, 0.8f}), binary_y(Shape{4, 1}, {0, 0, 1, 1});
  const ClassificationReport two = classification_report(binary, binary_y, {"no", "yes"});
  ASSERT_EQ(two.curves.size(), 1u);
  EXPECT_EQ(two.curves[0].name, "yes");
  EXPECT_DOUBLE_EQ(two.curves[0].roc.auc, 0.75);
  // Three classes, the third never the true one: curves for the first two only.
  const Tensor p(Shape{3, 3}, {0.7f, 0.2f, 0.1f, 0.3f, 0.6f, 0.1f, 0.5f, 0.4f, 0.1f}), y(Shape{3}, {0, 1, 0});
  const ClassificationReport three = classification_report(p, y, {"a", "b", "c"});
  ASSERT_EQ(three.curves.size(), 2u);
  EXPECT_EQ(three.curves[1].name, "b");
  EXPECT_DOUBLE_EQ(three.curves[0].roc.auc, 1.0);  // class a: 0.7 and 0.5 above 0.3
}

}  // namespace curves_test
