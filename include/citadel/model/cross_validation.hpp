// k-fold cross-validation: each fold trains a fresh model on the other folds (with any
// preprocessing fitted inside the fold) and is evaluated on its own rows.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "citadel/model/model.hpp"
#include "citadel/model/sequential.hpp"

namespace citadel {

struct CrossValidateOptions {
  int folds = 5;
  bool stratified = true;  // keep class ratios in every fold (class-index targets)
  uint64_t seed = 0;
  FitOptions fit = {.verbose = 0};
  // Fitted on each fold's training rows and applied to both parts, e.g. standard_scaling().
  std::function<void(Tensor& train_x, Tensor& test_x)> preprocess = nullptr;
  // A model of several inputs: cuts a fold's rows of x (after preprocess) into one tensor
  // per model input, in its order (e.g. split_features by column group). Unset: x is the
  // model's one input.
  std::function<std::vector<Tensor>(const Tensor& x)> split_inputs = nullptr;
};

struct FoldResult {
  int fold = 0;  // 1-based
  int64_t train_rows = 0, test_rows = 0;
  Logs figures;  // evaluate() on the fold's held-out rows
  History history;
};

struct CrossValidationReport {
  std::vector<FoldResult> folds;
  Logs mean, std;  // over folds; std is the population standard deviation (numpy's default)
};

// `build_model` returns a fresh, compiled model for each fold.
CrossValidationReport cross_validate(const std::function<Model()>& build_model, ConstTensorView x,
                                     ConstTensorView y, const CrossValidateOptions& options = {});

// A preprocess step that standardizes features with the fold's training statistics.
std::function<void(Tensor&, Tensor&)> standard_scaling();

}  // namespace citadel
