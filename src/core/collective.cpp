// The one-process group and stride sharding.
#include "citadel/core/collective.hpp"

#include <algorithm>
#include <cstring>

#include "citadel/core/error.hpp"

namespace citadel {
namespace {

class SingleProcess final : public Collective {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void all_reduce_sum(std::span<float>) const override {}
  void all_reduce_sum(std::span<double>) const override {}
  void all_reduce_max(std::span<double>) const override {}
  std::vector<double> all_gather(std::span<const double> values, std::vector<int64_t>* counts) const override {
    if (counts) *counts = {static_cast<int64_t>(values.size())};
    return {values.begin(), values.end()};
  }
  void broadcast(std::span<float>, int) const override {}
  void broadcast(std::span<uint64_t>, int) const override {}
};

}  // namespace

const Collective& Collective::single() {
  static const SingleProcess group;
  return group;
}

int64_t shard_row_count(int64_t global_rows, int rank, int size) {
  CITADEL_CHECK(size >= 1 && rank >= 0 && rank < size, ValueError, "shard: rank ", rank, " of ", size,
                " is not a rank of the group");
  return global_rows > rank ? (global_rows - rank + size - 1) / size : 0;
}

Tensor shard_rows(ConstTensorView all, int rank, int size) {
  CITADEL_CHECK(all.rank() >= 1, ShapeError, "shard_rows: need (rows, ...), got shape ", all.shape());
  const int64_t rows = shard_row_count(all.shape(0), rank, size);
  const int64_t width = all.shape(0) == 0 ? 0 : all.numel() / all.shape(0);
  Shape shape = all.shape();
  shape[0] = rows;
  Tensor shard(shape);
  for (int64_t i = 0; i < rows; ++i)
    std::memcpy(shard.data() + i * width, all.data() + (i * size + rank) * width, sizeof(float) * size_t(width));
  return shard;
}

}  // namespace citadel
