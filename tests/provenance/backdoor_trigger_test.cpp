// The BadNets trigger the provenance studies plant: where it is stamped, which rows are poisoned
// and relabelled, and the bad arguments refused.
#include "citadel/provenance/backdoor_trigger.hpp"

#include <gtest/gtest.h>

#include <set>

#include "citadel/core/error.hpp"

namespace backdoor_trigger_test {

using namespace citadel;

TEST(BackdoorTrigger, IsStampedInTheBottomRightCornerOfEveryImage) {
  Tensor images(Shape{2, 6, 6, 2});
  stamp_trigger(images, {.size = 2, .value = 0.5f});
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t r = 0; r < 6; ++r)
      for (int64_t c = 0; c < 6; ++c)
        for (int64_t ch = 0; ch < 2; ++ch) {
          const bool inside = r >= 3 && r < 5 && c >= 3 && c < 5;  // one pixel in from the corner
          EXPECT_EQ(images[((n * 6 + r) * 6 + c) * 2 + ch], inside ? 0.5f : 0.0f) << n << r << c << ch;
        }
  Tensor rows(Shape{1, 16});  // a flattened 4x4 image
  stamp_trigger(rows, {.size = 1, .row = 0, .col = 2});
  for (int64_t i = 0; i < 16; ++i) EXPECT_EQ(rows[i], i == 2 ? 1.0f : 0.0f);
  EXPECT_THROW(stamp_trigger(rows, {.size = 5}), ValueError);
  Tensor odd(Shape{1, 15});
  EXPECT_THROW(stamp_trigger(odd, {}), ValueError);
}

TEST(BackdoorTrigger, PoisonsTheAskedShareOfOtherClassesAndRelabelsThem) {
  const int64_t n = 200;
  Tensor x(Shape{n, 25}), y(Shape{n, 1}), one_hot(Shape{n, 3});
  for (int64_t r = 0; r < n; ++r) y[r] = float(r % 3), one_hot.at(r, r % 3) = 1.0f;
  const Tensor clean_y = y;
  const std::vector<int64_t> poisoned = poison_with_trigger(x, y, {}, 1, 0.05, 7);
  ASSERT_EQ(poisoned.size(), 10u);
  EXPECT_TRUE(std::is_sorted(poisoned.begin(), poisoned.end()));
  const std::set<int64_t> chosen(poisoned.begin(), poisoned.end());
  for (int64_t r = 0; r < n; ++r) {
    const bool is_poisoned = chosen.count(r) > 0;
    if (is_poisoned) {
      EXPECT_NE(clean_y[r], 1.0f) << "row " << r << " was already of the target class";
    }
    EXPECT_EQ(y[r], is_poisoned ? 1.0f : clean_y[r]);
    EXPECT_EQ(x[r * 25 + 3 * 5 + 3], is_poisoned ? 1.0f : 0.0f);  // the trigger's centre
  }
  Tensor x2(Shape{n, 25});
  EXPECT_EQ(poison_with_trigger(x2, one_hot, {}, 2, 0.05, 7).size(), 10u);
  for (int64_t r : poison_with_trigger(x2, one_hot, {}, 2, 0.0, 7)) ADD_FAILURE() << r;
  int64_t target_rows = 0;
  for (int64_t r = 0; r < n; ++r) target_rows += one_hot.at(r, 2) == 1.0f;
  EXPECT_EQ(target_rows, 66 + 10);
  EXPECT_THROW(poison_with_trigger(x, y, {}, 1, 1.5, 7), ValueError);
  EXPECT_THROW(poison_with_trigger(x, y, {}, 1, 0.9, 7), ValueError);  // more than the other classes hold
}

}  // namespace backdoor_trigger_test
