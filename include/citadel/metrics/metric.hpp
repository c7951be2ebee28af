// Metrics accumulated over a whole epoch or data set (reset, update per batch, result),
// so that precision, recall, F1 and AUC are exact rather than averages of batch values.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "citadel/core/tensor.hpp"

namespace citadel {

// How predictions and targets encode classes.
enum class LabelKind {
  kBinary,       // independent outputs in [0, 1] thresholded at 0.5, targets 0/1
  kCategorical,  // one output per class, one-hot (or soft) targets; argmax decides
  kSparse,       // one output per class, targets are class indices
};

class Metric {
 public:
  virtual ~Metric() = default;
  virtual std::unique_ptr<Metric> clone() const = 0;
  virtual std::string name() const = 0;
  // Starts a new accumulation; `expected_rows` lets metrics that keep every score
  // reserve their memory up front, so that update() does not allocate.
  virtual void reset(int64_t expected_rows = 0) = 0;
  // predictions: (N, C) model outputs (probabilities); targets as given to fit().
  virtual void update(ConstTensorView predictions, ConstTensorView targets) = 0;
  virtual double result() const = 0;
  // The accumulation as numbers (counts and sums; AUC: its scores and labels), and
  // merge(), which adds another accumulation's state() of the same metric to this one.
  // Data-parallel training merges every rank's, so each figure is over all ranks' rows.
  virtual std::vector<double> state() const = 0;
  virtual void merge(std::span<const double> state) = 0;
};

// By name: "accuracy" ("acc"), "precision", "recall", "f1" ("f1_score"), "auc",
// "mse" ("mean_squared_error"), "mae" ("mean_absolute_error"). For several classes,
// precision, recall, F1 and AUC are macro averages over classes (AUC one-vs-rest).
std::unique_ptr<Metric> make_metric(std::string_view name, LabelKind kind);
const std::vector<std::string>& known_metrics();

// Exact ROC AUC of scores against 0/1 labels (Mann-Whitney, ties count one half).
// NaN when only one class is present: the AUC is undefined then.
double roc_auc(const std::vector<float>& scores, const std::vector<unsigned char>& labels);

}  // namespace citadel
