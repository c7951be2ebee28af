// The classification report: counts from the confusion matrix, scikit-learn's layout.
#include "citadel/metrics/classification_report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "citadel/core/error.hpp"
#include "label_decoding.hpp"
#include "ratio_or_zero.hpp"

namespace citadel {
namespace {

}  // namespace

std::vector<int64_t> predicted_classes(ConstTensorView predictions) {
  const int64_t N = predictions.shape(0), C = N == 0 ? 1 : predictions.numel() / N;
  std::vector<int64_t> classes(static_cast<size_t>(N));
  for (int64_t n = 0; n < N; ++n)
    classes[n] = C == 1 ? (predictions[n] >= 0.5f ? 1 : 0) : labels::argmax(predictions.data() + n * C, C);
  return classes;
}

ClassificationReport classification_report(ConstTensorView predictions, ConstTensorView targets,
                                           const std::vector<std::string>& class_names) {
  CITADEL_CHECK(predictions.rank() >= 1 && targets.rank() >= 1 && predictions.shape(0) == targets.shape(0),
                ShapeError, "classification_report: ", predictions.shape(), " predictions for ", targets.shape(),
                " targets");
  const int64_t N = predictions.shape(0), outputs = N == 0 ? 1 : predictions.numel() / N;
  const int64_t C = outputs == 1 ? 2 : outputs;
  const bool one_hot = targets.numel() == N * outputs && outputs > 1;
  const LabelKind kind = one_hot ? LabelKind::kCategorical : LabelKind::kSparse;
  CITADEL_CHECK(class_names.empty() || int64_t(class_names.size()) == C, ValueError, "classification_report: ",
                class_names.size(), " class names for ", C, " classes");

  ClassificationReport report;
  report.confusion.assign(static_cast<size_t>(C), std::vector<int64_t>(static_cast<size_t>(C), 0));
  const std::vector<int64_t> predicted = predicted_classes(predictions);
  for (int64_t n = 0; n < N; ++n) {
    const int64_t actual = labels::target_class(targets, n, kind == LabelKind::kSparse ? C : outputs, kind);
    CITADEL_CHECK(actual >= 0 && actual < C, ValueError, "classification_report: target class ", actual,
                  " at row ", n, " is outside 0..", C - 1);
    ++report.confusion[actual][predicted[n]];
  }
  int64_t correct = 0;
  for (int64_t c = 0; c < C; ++c) {
    ClassScores scores;
    scores.name = class_names.empty() ? std::to_string(c) : class_names[c];
    int64_t predicted_c = 0;
    for (int64_t k = 0; k < C; ++k) {
      predicted_c += report.confusion[k][c];
      scores.support += report.confusion[c][k];
    }
    const double hits = double(report.confusion[c][c]);
    correct += report.confusion[c][c];
    scores.precision = ratio_or_zero(hits, double(predicted_c));
    scores.recall = ratio_or_zero(hits, double(scores.support));
    scores.f1 = ratio_or_zero(2 * scores.precision * scores.recall, scores.precision + scores.recall);
    report.classes.push_back(scores);
  }
  report.accuracy = ratio_or_zero(double(correct), double(N));
  report.macro_average.name = "macro avg";
  report.weighted_average.name = "weighted avg";
  for (const auto& scores : report.classes) {
    const double weight = ratio_or_zero(double(scores.support), double(N));
    report.macro_average.precision += scores.precision / double(C);
    report.macro_average.recall += scores.recall / double(C);
    report.macro_average.f1 += scores.f1 / double(C);
    report.weighted_average.precision += scores.precision * weight;
    report.weighted_average.recall += scores.recall * weight;
    report.weighted_average.f1 += scores.f1 * weight;
  }
  report.macro_average.support = report.weighted_average.support = N;

  auto auc = make_metric("auc", outputs == 1 ? LabelKind::kBinary : kind);
  auc->reset(N);
  auc->update(predictions, targets);
  report.auc = auc->result();

  // Curves from the same scores: the sigmoid output, or each class's column.
  std::vector<int64_t> actual(static_cast<size_t>(N));
  for (int64_t n = 0; n < N; ++n)
    actual[n] = labels::target_class(targets, n, kind == LabelKind::kSparse ? C : outputs, kind);
  for (int64_t c = outputs == 1 ? 1 : 0; c < C; ++c) {
    std::vector<float> scores(static_cast<size_t>(N));
    std::vector<unsigned char> positive(static_cast<size_t>(N));
    for (int64_t n = 0; n < N; ++n) {
      scores[n] = outputs == 1 ? predictions[n] : predictions[n * outputs + c];
      positive[n] = actual[n] == c;
    }
    const int64_t support = report.classes[c].support;
    if (support == 0 || support == N) continue;
    report.curves.push_back({report.classes[c].name, roc_curve(scores, positive), precision_recall_curve(scores, positive)});
  }
  return report;
}

std::string ClassificationReport::text() const {
  size_t width = 12;
  for (const auto& scores : classes) width = std::max(width, scores.name.size() + 2);
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "%*s %10s %10s %10s %10s\n\n", int(width), "", "precision", "recall", "f1-score",
                "support");
  out += line;
  auto row = [&](const ClassScores& s) {
    std::snprintf(line, sizeof line, "%*s %10.4f %10.4f %10.4f %10lld\n", int(width), s.name.c_str(), s.precision,
                  s.recall, s.f1, static_cast<long long>(s.support));
    out += line;
  };
  for (const auto& scores : classes) row(scores);
  std::snprintf(line, sizeof line, "\n%*s %10s %10s %10.4f %10lld\n", int(width), "accuracy", "", "", accuracy,
                static_cast<long long>(macro_average.support));
  out += line;
  row(macro_average);
  row(weighted_average);
  std::snprintf(line, sizeof line, "%*s %10.4f\n", int(width), "roc auc", auc);
  out += line;
  // The matrix under a header of predicted classes; each cell as wide as the widest class
  // name (at least 8), two spaces apart.
  out += "\nConfusion matrix (rows: actual class, columns: predicted class):\n";
  size_t cell = 8;
  for (const auto& scores : classes) cell = std::max(cell, scores.name.size());
  const auto right_aligned = [](const std::string& text, size_t columns) {
    return std::string(columns > text.size() ? columns - text.size() : 0, ' ') + text;
  };
  out += std::string(width + 2, ' ') + "predicted\n" + right_aligned("actual", width);
  for (const auto& scores : classes) out += "  " + right_aligned(scores.name, cell);
  out += "\n";
  for (size_t r = 0; r < confusion.size(); ++r) {
    out += right_aligned(classes[r].name, width);
    for (int64_t count : confusion[r]) out += "  " + right_aligned(std::to_string(count), cell);
    out += "\n";
  }
  return out;
}

}  // namespace citadel
