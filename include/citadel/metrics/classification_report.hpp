// A classification report as scikit-learn prints it (per-class precision, recall, F1 and
// support; macro and weighted averages; accuracy), with the confusion matrix and ROC AUC.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "citadel/core/tensor.hpp"
#include "citadel/metrics/curves.hpp"
#include "citadel/metrics/metric.hpp"

namespace citadel {

struct ClassScores {
  std::string name;
  double precision = 0, recall = 0, f1 = 0;
  int64_t support = 0;  // rows whose true class this is
};

// One class against the rest: its scores' ROC and precision-recall curves.
struct ClassCurves {
  std::string name;
  RocCurve roc;
  PrecisionRecallCurve precision_recall;
};

struct ClassificationReport {
  std::vector<ClassScores> classes;
  ClassScores macro_average, weighted_average;  // unweighted / support-weighted means
  double accuracy = 0;
  double auc = 0;  // binary: ROC AUC; several classes: macro one-vs-rest; NaN if undefined
  std::vector<std::vector<int64_t>> confusion;  // confusion[actual][predicted]
  // Binary: the positive class's curves; several classes: each class present against the
  // rest (a class without rows, or present in every row, has none).
  std::vector<ClassCurves> curves;

  // The report as scikit-learn's text table, then the confusion matrix.
  std::string text() const;
};

// predictions: (N, 1) probabilities of class 1 for a binary model, or (N, C) scores;
// targets: class indices (N) or (N, 1), or one-hot (N, C). `class_names` may be empty
// ("0", "1", ... are used).
ClassificationReport classification_report(ConstTensorView predictions, ConstTensorView targets,
                                           const std::vector<std::string>& class_names = {});

// The predicted class of every row: p ≥ 0.5 for one output, else the argmax.
std::vector<int64_t> predicted_classes(ConstTensorView predictions);

}  // namespace citadel
