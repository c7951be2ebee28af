// Seeded train/test splits, stratified by class so both sides keep the class ratios.
#pragma once

#include <cstdint>
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

// K folds for cross-validation: fold k's `test` is its held-out part, `train` the rest;
// the test parts partition the rows. Shuffled with the seed (KFold(shuffle=True)).
std::vector<SplitIndices> k_fold(int64_t rows, int folds, uint64_t seed);
// The same, with each class spread evenly over the folds (StratifiedKFold), so every
// fold keeps the class ratios. y: one label per row.
std::vector<SplitIndices> stratified_k_fold(ConstTensorView y, int folds, uint64_t seed);

// The rows `indices` of `source`, in that order, as a new tensor.
Tensor take_rows(ConstTensorView source, const std::vector<int64_t>& indices);

}  // namespace citadel
