// Stride sharding and the one-process group: every row lands on exactly one rank, in order,
// and the group of one leaves every buffer as it was.
#include <gtest/gtest.h>

#include "citadel/core/collective.hpp"
#include "citadel/core/error.hpp"

namespace collective_test {

using namespace citadel;

TEST(Collective, StrideShardsCoverEveryRowOnce) {
  for (int64_t rows : {0, 1, 5, 97, 100})
    for (int size : {1, 2, 3, 7}) {
      Tensor all({rows, 2});
      for (int64_t i = 0; i < rows; ++i) all[i * 2] = float(i), all[i * 2 + 1] = float(-i);
      std::vector<int> seen(static_cast<size_t>(rows), 0);
      int64_t total = 0;
      for (int rank = 0; rank < size; ++rank) {
        const Tensor shard = shard_rows(all, rank, size);
        EXPECT_EQ(shard.shape(0), shard_row_count(rows, rank, size));
        EXPECT_LE(std::abs(shard.shape(0) - rows / size), 1);  // balanced within a row
        for (int64_t j = 0; j < shard.shape(0); ++j) {
          const auto global = static_cast<int64_t>(shard[j * 2]);
          EXPECT_EQ(global, j * size + rank);  // global row g: rank g % size, index g / size
          EXPECT_EQ(shard[j * 2 + 1], -float(global));
          ++seen[static_cast<size_t>(global)];
        }
        total += shard.shape(0);
      }
      EXPECT_EQ(total, rows);
      for (int count : seen) EXPECT_EQ(count, 1);
    }
  EXPECT_THROW(shard_row_count(10, 2, 2), ValueError);
  EXPECT_THROW(shard_row_count(10, 0, 0), ValueError);
}

TEST(Collective, SingleProcessIsTheIdentity) {
  const Collective& alone = Collective::single();
  EXPECT_EQ(alone.size(), 1);
  EXPECT_TRUE(alone.is_root());
  std::vector<float> values{1.5f, -2.0f};
  alone.all_reduce_sum(values);
  EXPECT_EQ(values, (std::vector<float>{1.5f, -2.0f}));
  std::vector<int64_t> counts;
  const std::vector<double> mine{3.0, 4.0};
  EXPECT_EQ(alone.all_gather(mine, &counts), mine);
  EXPECT_EQ(counts, (std::vector<int64_t>{2}));
}

}  // namespace collective_test
