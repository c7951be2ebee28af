// Seeded train/test splits, stratified by class so both sides keep the class ratios.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "citadel/core/tensor.hpp"

namespace citadel {

struct SplitIndices {
  std::vector<int64_t> train, test;
};

// Splits the rows of y ((N) or (N, 1) labels) into train and test. With `stratify`, each
// distinct label value contributes round(count · test_fraction) rows to test (at least
// one where it has two or more rows). Both index lists are in shuffled order.
SplitIndices train_test_split(ConstTensorView y, double test_fraction, uint64_t seed,
                              bool stratify = true);

// A keyed 64-bit hash of a row's bytes (its CSV cells, or its values), for the split below.
uint64_t row_hash(std::string_view bytes, uint64_t seed);
// A split in which each row's side depends on that row alone: row i is held out when
// row_hashes[i] / 2⁶⁴ < test_fraction. Adding, removing or changing one row moves no
// other row (the stratified split moves rows of its class when one label changes), which
// is what differential privacy's neighbouring data sets need; identical rows fall
// together. The held-out share is test_fraction in expectation, not exactly.
SplitIndices split_by_row_hash(std::span<const uint64_t> row_hashes, double test_fraction);

// split_by_row_hash over rows of (x, y): each row's hash covers its x and y values.
SplitIndices split_rows_by_hash(ConstTensorView x, ConstTensorView y, double test_fraction, uint64_t seed);

// K folds for cross-validation: fold k's `test` is its held-out part, `train` the rest;
// the test parts partition the rows. Shuffled with the seed (KFold(shuffle=True)).
std::vector<SplitIndices> k_fold(int64_t rows, int folds, uint64_t seed);
// The same, with each class spread evenly over the folds (StratifiedKFold), so every
// fold keeps the class ratios. y: one label per row.
std::vector<SplitIndices> stratified_k_fold(ConstTensorView y, int folds, uint64_t seed);

// The rows `indices` of `source`, in that order, as a new tensor.
Tensor take_rows(ConstTensorView source, const std::vector<int64_t>& indices);

}  // namespace citadel
