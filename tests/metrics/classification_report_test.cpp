// The classification report on cases counted by hand.
#include <gtest/gtest.h>

#include <cmath>

#include "citadel/metrics/classification_report.hpp"

namespace classification_report_test {

using namespace citadel;

TEST(ClassificationReport, BinaryByHand) {
  // Predicted at 0.5: [1, 0, 1, 0, 1] for true [1, 1, 0, 0, 1].
  const Tensor p(Shape{5, 1}, {0.9f, 0.4f, 0.6f, 0.2f, 0.7f}), y(Shape{5, 1}, {1, 1, 0, 0, 1});
  const ClassificationReport report = classification_report(p, y, {"no", "yes"});
  EXPECT_EQ(report.confusion, (std::vector<std::vector<int64_t>>{{1, 1}, {1, 2}}));
  ASSERT_EQ(report.classes.size(), 2u);
  EXPECT_EQ(report.classes[1].name, "yes");
  EXPECT_DOUBLE_EQ(report.classes[1].precision, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(report.classes[1].recall, 2.0 / 3.0);
  EXPECT_EQ(report.classes[1].support, 3);
  EXPECT_DOUBLE_EQ(report.classes[0].precision, 0.5);  // 1 of the 2 predicted "no"
  EXPECT_DOUBLE_EQ(report.classes[0].recall, 0.5);
  EXPECT_DOUBLE_EQ(report.accuracy, 0.6);
  EXPECT_NEAR(report.macro_average.f1, (0.5 + 2.0 / 3.0) / 2, 1e-12);
  EXPECT_NEAR(report.weighted_average.f1, (0.5 * 2 + 2.0 / 3.0 * 3) / 5, 1e-12);
  EXPECT_NEAR(report.auc, 5.0 / 6.0, 1e-12);
  const std::string text = report.text();
  EXPECT_NE(text.find("precision"), std::string::npos);
  EXPECT_NE(text.find("weighted avg"), std::string::npos);
  EXPECT_NE(text.find("Confusion matrix"), std::string::npos);
}

// The text confusion matrix names both axes and heads each column with its predicted class,
// the counts under their class (counted by hand above: {{1, 1}, {1, 2}}).
TEST(ClassificationReport, TextConfusionMatrixNamesTheAxesAndThePredictedClasses) {
  const Tensor p(Shape{5, 1}, {0.9f, 0.4f, 0.6f, 0.2f, 0.7f}), y(Shape{5, 1}, {1, 1, 0, 0, 1});
  const std::string text = classification_report(p, y, {"healthy", "diabetic"}).text();
  const std::string matrix = text.substr(text.find("Confusion matrix"));
  EXPECT_EQ(matrix,
            "Confusion matrix (rows: actual class, columns: predicted class):\n"
            "              predicted\n"
            "      actual   healthy  diabetic\n"
            "     healthy         1         1\n"
            "    diabetic         1         2\n");
}

TEST(ClassificationReport, MulticlassWithAClassNeverPredicted) {
  const Tensor p(Shape{4, 3}, {0.7f, 0.2f, 0.1f, 0.1f, 0.8f, 0.1f, 0.2f, 0.5f, 0.3f, 0.6f, 0.3f, 0.1f});
  const Tensor y(Shape{4}, {0, 1, 2, 1});
  const ClassificationReport report = classification_report(p, y);
  EXPECT_EQ(report.confusion, (std::vector<std::vector<int64_t>>{{1, 0, 0}, {1, 1, 0}, {0, 1, 0}}));
  EXPECT_EQ(report.classes[2].precision, 0.0);  // never predicted: 0, not NaN
  EXPECT_EQ(report.classes[2].support, 1);
  EXPECT_NEAR(report.macro_average.precision, 1.0 / 3.0, 1e-12);
  EXPECT_DOUBLE_EQ(report.accuracy, 0.5);
  EXPECT_EQ(report.classes[0].name, "0");
}

TEST(ClassificationReport, OneClassPresentLeavesAucUndefined) {
  const Tensor p(Shape{3, 1}, {0.2f, 0.7f, 0.9f}), y(Shape{3, 1}, {1, 1, 1});
  EXPECT_TRUE(std::isnan(classification_report(p, y).auc));
}

}  // namespace classification_report_test
