// Cross-validation over k_fold / stratified_k_fold splits.
#include "citadel/model/cross_validation.hpp"

#include <cmath>

#include "citadel/core/error.hpp"
#include "citadel/data/scaler.hpp"
#include "citadel/data/split.hpp"

namespace citadel {

CrossValidationReport cross_validate(const std::function<Model()>& build_model, ConstTensorView x,
                                     ConstTensorView y, const CrossValidateOptions& options) {
  CITADEL_CHECK(static_cast<bool>(build_model), ValueError, "cross_validate: build_model is empty");
  CITADEL_CHECK(x.rank() >= 2 && y.rank() >= 1 && x.shape(0) == y.shape(0), ShapeError, "cross_validate: x has ",
                x.rank() >= 1 ? x.shape(0) : 0, " rows but y has ", y.rank() >= 1 ? y.shape(0) : 0);
  const bool stratify = options.stratified && y.numel() == y.shape(0);
  const std::vector<SplitIndices> splits =
      stratify ? stratified_k_fold(y, options.folds, options.seed) : k_fold(x.shape(0), options.folds, options.seed);
  CrossValidationReport report;
  for (size_t k = 0; k < splits.size(); ++k) {
    Tensor train_x = take_rows(x, splits[k].train), test_x = take_rows(x, splits[k].test);
    const Tensor train_y = take_rows(y, splits[k].train), test_y = take_rows(y, splits[k].test);
    if (options.preprocess) options.preprocess(train_x, test_x);
    Model model = build_model();
    FoldResult fold;
    fold.fold = static_cast<int>(k) + 1;
    fold.train_rows = train_x.shape(0);
    fold.test_rows = test_x.shape(0);
    if (options.split_inputs) {  // each row's parts go to the model's inputs
      const std::vector<Tensor> train_parts = options.split_inputs(train_x), test_parts = options.split_inputs(test_x);
      fold.history = model.fit(std::vector<ConstTensorView>(train_parts.begin(), train_parts.end()), {train_y},
                               options.fit);
      fold.figures = model.evaluate(std::vector<ConstTensorView>(test_parts.begin(), test_parts.end()), {test_y});
    } else {
      fold.history = model.fit(train_x, train_y, options.fit);
      fold.figures = model.evaluate(test_x, test_y);
    }
    report.folds.push_back(std::move(fold));
  }
  for (const auto& [name, value] : report.folds.front().figures) {
    double sum = 0, squares = 0;
    for (const auto& fold : report.folds) sum += fold.figures.at(name);
    const double mean = sum / double(report.folds.size());
    for (const auto& fold : report.folds) squares += (fold.figures.at(name) - mean) * (fold.figures.at(name) - mean);
    report.mean[name] = mean;
    report.std[name] = std::sqrt(squares / double(report.folds.size()));
  }
  return report;
}

std::function<void(Tensor&, Tensor&)> standard_scaling() {
  return [](Tensor& train_x, Tensor& test_x) {
    CITADEL_CHECK(train_x.rank() == 2, ShapeError, "standard_scaling: expects flat features (N, D), got ",
                  train_x.shape());
    StandardScaler scaler;
    scaler.fit(train_x);
    scaler.transform(train_x.view());
    scaler.transform(test_x.view());
  };
}

}  // namespace citadel
