// The extraction monitor's view of a text model's rows: bags of tokens, whose L2 distance
// counts the words one text has and the other has not, whatever their order.
#include "citadel/serving/token_bags.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "citadel/core/error.hpp"

namespace token_bags_test {

using namespace citadel;

namespace {

double distance(const Tensor& bags, int64_t a, int64_t b) {
  const int64_t V = bags.shape(1);
  double sum = 0;
  for (int64_t v = 0; v < V; ++v) sum += std::pow(double(bags[a * V + v]) - bags[b * V + v], 2);
  return std::sqrt(sum);
}

}  // namespace

TEST(TokenBags, CountEachIdLeavingOutPaddingAndTheOtherFeatures) {
  // Two leading feature columns (ignored), then 5 ids a row over a vocabulary of 8.
  const Tensor rows = Tensor(Shape{4, 7}, {9, 9, 3, 4, 5, 0, 0,    // "c d e"
                                           0, 0, 5, 4, 3, 0, 0,    // "e d c": the same bag
                                           1, 1, 3, 4, 6, 7, 0,    // "c d f g": e out, f and g in
                                           2, 2, 3, 3, 3, 1, 0});  // "c c c [UNK]"
  const Tensor bags = serving::token_bags(rows, 5, 8);
  ASSERT_EQ(bags.shape(), Shape({4, 8}));
  EXPECT_EQ(bags[0 * 8 + 0], 0.0f);  // padding is not a word
  EXPECT_EQ(bags[3 * 8 + 3], 3.0f);
  EXPECT_EQ(bags[3 * 8 + 1], 1.0f);                        // OOV is
  EXPECT_EQ(distance(bags, 0, 1), 0.0);                    // word order left out
  EXPECT_DOUBLE_EQ(distance(bags, 0, 2), std::sqrt(3.0));  // e, f, g differ
  // c: 1 vs 3, d: 1 vs 0, e: 1 vs 0, [UNK]: 0 vs 1 → √(4 + 1 + 1 + 1)
  EXPECT_DOUBLE_EQ(distance(bags, 0, 3), std::sqrt(7.0));
}

TEST(TokenBags, RefuseIdsOutsideTheVocabularyAndBadShapes) {
  for (float bad : {8.0f, -1.0f, 2.5f, NAN}) {
    const Tensor rows = Tensor(Shape{1, 3}, {1, bad, 0});
    EXPECT_THROW(serving::token_bags(rows, 3, 8), ValueError) << bad;
  }
  EXPECT_THROW(serving::token_bags(Tensor(Shape{2, 3}), 4, 8), ValueError);
  EXPECT_THROW(serving::token_bags(Tensor(Shape{2, 3}), 3, 1), ValueError);
}

}  // namespace token_bags_test
