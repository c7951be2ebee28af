// Splits partition the rows, keep class ratios and follow the seed; the scaler learns
// from the training rows alone.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "citadel/core/error.hpp"
#include "citadel/data/scaler.hpp"
#include "citadel/data/split.hpp"

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

TEST(Split, TakeRowsCopiesInOrder) {
  const Tensor x(Shape{3, 2}, {1, 2, 3, 4, 5, 6});
  EXPECT_EQ(take_rows(x, {2, 0}).to_vector(), (std::vector<float>{5, 6, 1, 2}));
  EXPECT_THROW(take_rows(x, {3}), ValueError);
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
