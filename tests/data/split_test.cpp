// Splits partition the rows, keep class ratios and follow the seed; the scaler learns
// from the training rows alone.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "citadel/core/error.hpp"
#include "citadel/data/scaler.hpp"
#include "citadel/data/split.hpp"

namespace split_test {

using namespace citadel;

namespace {

// 300 rows: 200 of class 0, 100 of class 1.
Tensor labels() {
  Tensor y(Shape{300, 1});
  for (int i = 0; i < 300; ++i) y[i] = i % 3 == 0 ? 1.0f : 0.0f;
  return y;
}

}  // namespace

TEST(Split, PartitionsTheRows) {
  const SplitIndices split = train_test_split(labels(), 0.2, 1);
  std::set<int64_t> all(split.train.begin(), split.train.end());
  for (int64_t i : split.test) EXPECT_TRUE(all.insert(i).second) << "row " << i << " on both sides";
  EXPECT_EQ(all.size(), 300u);
  EXPECT_EQ(*all.begin(), 0);
  EXPECT_EQ(*all.rbegin(), 299);
  EXPECT_EQ(split.test.size(), 60u);
}

TEST(Split, StratificationKeepsClassRatios) {
  const Tensor y = labels();
  const SplitIndices split = train_test_split(y, 0.2, 2);
  auto positives = [&](const std::vector<int64_t>& rows) {
    return std::count_if(rows.begin(), rows.end(), [&](int64_t r) { return y[r] == 1.0f; });
  };
  EXPECT_EQ(positives(split.test), 20);   // 100 · 0.2
  EXPECT_EQ(positives(split.train), 80);
}

TEST(Split, FollowsTheSeed) {
  const Tensor y = labels();
  EXPECT_EQ(train_test_split(y, 0.2, 5).test, train_test_split(y, 0.2, 5).test);
  EXPECT_NE(train_test_split(y, 0.2, 5).test, train_test_split(y, 0.2, 6).test);
  EXPECT_THROW(train_test_split(y, 1.0, 5), ValueError);
}

TEST(KFold, TestPartsPartitionTheRowsAndTrainIsTheRest) {
  const auto folds = k_fold(23, 5, 3);
  ASSERT_EQ(folds.size(), 5u);
  std::vector<int> seen(23, 0);
  for (const auto& fold : folds) {
    EXPECT_EQ(fold.train.size() + fold.test.size(), 23u);
    EXPECT_GE(fold.test.size(), 4u);
    EXPECT_LE(fold.test.size(), 5u);
    for (int64_t r : fold.test) ++seen[r];
    std::set<int64_t> train(fold.train.begin(), fold.train.end());
    for (int64_t r : fold.test) EXPECT_FALSE(train.count(r));
  }
  for (int count : seen) EXPECT_EQ(count, 1);
  EXPECT_THROW(k_fold(3, 5, 1), ValueError);
}

TEST(KFold, StratifiedFoldsKeepClassRatios) {
  const Tensor y = labels();  // 200 of class 0, 100 of class 1
  const auto folds = stratified_k_fold(y, 5, 4);
  std::vector<int> seen(300, 0);
  for (const auto& fold : folds) {
    int positives = 0;
    for (int64_t r : fold.test) positives += y[r] == 1.0f, ++seen[r];
    EXPECT_EQ(fold.test.size(), 60u);
    EXPECT_EQ(positives, 20);
  }
  for (int count : seen) EXPECT_EQ(count, 1);
}

TEST(Split, TakeRowsCopiesInOrder) {
  const Tensor x(Shape{3, 2}, {1, 2, 3, 4, 5, 6});
  EXPECT_EQ(take_rows(x, {2, 0}).to_vector(), (std::vector<float>{5, 6, 1, 2}));
  EXPECT_THROW(take_rows(x, {3}), ValueError);
}

TEST(MinMaxScaler, MapsTrainingRangeToUnitInterval) {
  const Tensor train(Shape{3, 2}, {0, 5, 10, 5, 5, 5});
  MinMaxScaler scaler;
  const Tensor scaled = scaler.fit_transform(train);
  EXPECT_EQ(scaled.to_vector(), (std::vector<float>{0, 0, 1, 0, 0.5f, 0}));
  EXPECT_FLOAT_EQ(scaler.transform(Tensor(Shape{1, 2}, {20, 9})).at(0, 0), 2.0f);  // training range only
}

TEST(ScalePixels, DividesBy255) {
  Tensor pixels(Shape{3}, {0, 51, 255});
  scale_pixels(pixels.view());
  EXPECT_EQ(pixels.to_vector(), (std::vector<float>{0, 0.2f, 1}));
}

TEST(StandardScaler, LearnsFromTrainingRowsOnly) {
  const Tensor train(Shape{4, 2}, {1, 10, 2, 10, 3, 10, 4, 10});
  const Tensor test(Shape{1, 2}, {100, 7});
  StandardScaler scaler;
  const Tensor scaled = scaler.fit_transform(train);
  // Column 0: mean 2.5, population std √1.25; column 1 is constant: only centred.
  EXPECT_DOUBLE_EQ(scaler.mean()[0], 2.5);
  EXPECT_NEAR(scaler.scale()[0], std::sqrt(1.25), 1e-12);
  EXPECT_NEAR(scaled.at(0, 0), (1 - 2.5) / std::sqrt(1.25), 1e-6);
  EXPECT_EQ(scaled.at(0, 1), 0.0f);
  const Tensor test_scaled = scaler.transform(test);
  EXPECT_NEAR(test_scaled.at(0, 0), (100 - 2.5) / std::sqrt(1.25), 1e-4);  // training statistics
  EXPECT_EQ(test_scaled.at(0, 1), -3.0f);
}

}  // namespace split_test
