// Stratified splitting: group rows by label, shuffle each group with the seed, cut; and
// splitting by each row's own hash.
#include "citadel/data/split.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <numeric>
#include <string>

#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"

namespace citadel {
namespace {

void shuffle(std::vector<int64_t>& items, Rng& rng) {
  for (size_t i = items.size(); i > 1; --i) std::swap(items[i - 1], items[rng.below(i)]);
}

// splitmix64's finalizer: every input bit affects every output bit.
uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace

uint64_t row_hash(std::string_view bytes, uint64_t seed) {
  uint64_t h = mix(seed ^ 0x9e3779b97f4a7c15ull) ^ bytes.size();
  size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, bytes.data() + i, 8);
    h = mix(h ^ word) + 0x9e3779b97f4a7c15ull;
  }
  uint64_t tail = 0;
  if (i < bytes.size()) std::memcpy(&tail, bytes.data() + i, bytes.size() - i);
  return mix(h ^ tail ^ (uint64_t(bytes.size() - i) << 56));
}

SplitIndices split_by_row_hash(std::span<const uint64_t> row_hashes, double test_fraction) {
  CITADEL_CHECK(test_fraction > 0.0 && test_fraction < 1.0, ValueError,
                "split_by_row_hash: test fraction must lie in (0, 1), got ", test_fraction);
  // Compared as integers: fraction · 2⁶⁴, exact enough for any fraction given in decimal.
  const auto threshold = static_cast<uint64_t>(std::ldexp(test_fraction, 64));
  SplitIndices split;
  for (size_t i = 0; i < row_hashes.size(); ++i)
    (row_hashes[i] < threshold ? split.test : split.train).push_back(static_cast<int64_t>(i));
  return split;
}

SplitIndices split_rows_by_hash(ConstTensorView x, ConstTensorView y, double test_fraction, uint64_t seed) {
  CITADEL_CHECK(x.rank() >= 1 && y.rank() >= 1 && x.shape(0) == y.shape(0), ShapeError,
                "split_rows_by_hash: x ", x.shape(), " and y ", y.shape(), " need the same number of rows");
  const int64_t rows = x.shape(0), x_row = rows ? x.numel() / rows : 0, y_row = rows ? y.numel() / rows : 0;
  std::vector<uint64_t> hashes(static_cast<size_t>(rows));
  std::string bytes;
  for (int64_t r = 0; r < rows; ++r) {
    bytes.assign(reinterpret_cast<const char*>(x.data() + r * x_row), sizeof(float) * size_t(x_row));
    bytes.append(reinterpret_cast<const char*>(y.data() + r * y_row), sizeof(float) * size_t(y_row));
    hashes[static_cast<size_t>(r)] = row_hash(bytes, seed);
  }
  return split_by_row_hash(hashes, test_fraction);
}

SplitIndices train_test_split(ConstTensorView y, double test_fraction, uint64_t seed, bool stratify) {
  CITADEL_CHECK(test_fraction > 0.0 && test_fraction < 1.0, ValueError,
                "train_test_split: test fraction must lie in (0, 1), got ", test_fraction);
  const int64_t rows = y.rank() == 0 ? 0 : y.shape(0);
  CITADEL_CHECK(rows >= 2, ValueError, "train_test_split: needs at least 2 rows, got ", rows);
  CITADEL_CHECK(y.numel() == rows, ShapeError,
                "train_test_split: expects one label per row, (N) or (N, 1), got ", y.shape());
  std::map<float, std::vector<int64_t>> groups;
  for (int64_t r = 0; r < rows; ++r) groups[stratify ? y[r] : 0.0f].push_back(r);

  Rng rng(seed);
  SplitIndices split;
  for (auto& [label, members] : groups) {
    shuffle(members, rng);
    const auto count = static_cast<int64_t>(members.size());
    int64_t test = std::llround(double(count) * test_fraction);
    if (count >= 2) test = std::clamp<int64_t>(test, 1, count - 1);
    split.test.insert(split.test.end(), members.begin(), members.begin() + test);
    split.train.insert(split.train.end(), members.begin() + test, members.end());
  }
  CITADEL_CHECK(!split.train.empty() && !split.test.empty(), ValueError,
                "train_test_split: test fraction ", test_fraction, " of ", rows,
                " rows leaves one side empty");
  shuffle(split.train, rng);
  shuffle(split.test, rng);
  return split;
}

namespace {

// Fold k's test rows are assignment == k; the train rows are the others.
std::vector<SplitIndices> folds_from(const std::vector<int>& assignment, int folds) {
  std::vector<SplitIndices> result(static_cast<size_t>(folds));
  for (size_t row = 0; row < assignment.size(); ++row)
    for (int k = 0; k < folds; ++k)
      (assignment[row] == k ? result[k].test : result[k].train).push_back(static_cast<int64_t>(row));
  return result;
}

}  // namespace

std::vector<SplitIndices> k_fold(int64_t rows, int folds, uint64_t seed) {
  CITADEL_CHECK(folds >= 2 && rows >= folds, ValueError, "k_fold: needs 2 <= folds <= rows, got ", folds,
                " folds for ", rows, " rows");
  std::vector<int64_t> order(static_cast<size_t>(rows));
  std::iota(order.begin(), order.end(), 0);
  Rng rng(seed);
  shuffle(order, rng);
  std::vector<int> assignment(static_cast<size_t>(rows));
  for (int64_t i = 0; i < rows; ++i) assignment[order[i]] = static_cast<int>(i % folds);
  return folds_from(assignment, folds);
}

std::vector<SplitIndices> stratified_k_fold(ConstTensorView y, int folds, uint64_t seed) {
  const int64_t rows = y.rank() == 0 ? 0 : y.shape(0);
  CITADEL_CHECK(y.numel() == rows, ShapeError, "stratified_k_fold: expects one label per row, got ", y.shape());
  CITADEL_CHECK(folds >= 2 && rows >= folds, ValueError, "stratified_k_fold: needs 2 <= folds <= rows, got ", folds,
                " folds for ", rows, " rows");
  std::map<float, std::vector<int64_t>> groups;
  for (int64_t r = 0; r < rows; ++r) groups[y[r]].push_back(r);
  Rng rng(seed);
  std::vector<int> assignment(static_cast<size_t>(rows));
  int next = 0;  // deal each class round-robin, continuing where the last class ended
  for (auto& [label, members] : groups) {
    shuffle(members, rng);
    for (int64_t row : members) assignment[row] = next++ % folds;
  }
  return folds_from(assignment, folds);
}

Tensor take_rows(ConstTensorView source, const std::vector<int64_t>& indices) {
  CITADEL_CHECK(source.rank() >= 1, ShapeError, "take_rows: needs a tensor with rows");
  Shape shape = source.shape();
  const int64_t rows = shape[0];
  const int64_t row_size = rows == 0 ? 0 : source.numel() / rows;
  shape[0] = static_cast<int64_t>(indices.size());
  Tensor result(shape);
  for (size_t i = 0; i < indices.size(); ++i) {
    CITADEL_CHECK(indices[i] >= 0 && indices[i] < rows, ValueError, "take_rows: row ", indices[i],
                  " out of range 0..", rows - 1);
    std::memcpy(result.data() + int64_t(i) * row_size, source.data() + indices[i] * row_size,
                sizeof(float) * static_cast<size_t>(row_size));
  }
  return result;
}

}  // namespace citadel
