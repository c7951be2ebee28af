// Keras metric identifiers, mapped to the metric objects.
#include <algorithm>

#include "citadel/core/error.hpp"
#include "citadel/metrics/metric.hpp"

namespace citadel {

std::unique_ptr<Metric> make_accuracy(LabelKind kind);
std::unique_ptr<Metric> make_precision(LabelKind kind);
std::unique_ptr<Metric> make_recall(LabelKind kind);
std::unique_ptr<Metric> make_f1(LabelKind kind);
std::unique_ptr<Metric> make_auc(LabelKind kind);
std::unique_ptr<Metric> make_mse();
std::unique_ptr<Metric> make_mae();

const std::vector<std::string>& known_metrics() {
  static const std::vector<std::string> names{
      "accuracy", "acc", "precision", "recall", "f1", "f1_score", "auc",
      "mse",      "mean_squared_error", "mae", "mean_absolute_error"};
  return names;
}

std::unique_ptr<Metric> make_metric(std::string_view name, LabelKind kind) {
  if (name == "accuracy" || name == "acc") return make_accuracy(kind);
  if (name == "precision") return make_precision(kind);
  if (name == "recall") return make_recall(kind);
  if (name == "f1" || name == "f1_score") return make_f1(kind);
  if (name == "auc") return make_auc(kind);
  if (name == "mse" || name == "mean_squared_error") return make_mse();
  if (name == "mae" || name == "mean_absolute_error") return make_mae();
  std::string list;
  for (const auto& known : known_metrics()) list += (list.empty() ? "" : ", ") + known;
  throw ValueError("unknown metric '" + std::string(name) + "'; known: " + list);
}

}  // namespace citadel
