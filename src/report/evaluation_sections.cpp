// The classification report, the confusion matrix, ROC and precision-recall curves, and
// cross-validation folds.
#include <cmath>

#include "html_text.hpp"
#include "run_sections.hpp"
#include "svg_chart.hpp"

namespace citadel::report::detail {

using nlohmann::json;

namespace {

std::vector<std::string> class_names(const Run& run) {
  std::vector<std::string> names;
  if (run.report.contains("classes") && run.report["classes"].is_array())
    for (const json& name : run.report["classes"]) names.push_back(name.is_string() ? name.get<std::string>() : name.dump());
  return names;
}

std::vector<std::string> score_row(const std::string& name, const json& scores) {
  return {name, figure(number_at(scores, "precision")), figure(number_at(scores, "recall")),
          figure(number_at(scores, "f1")), number(number_at(scores, "support"), 12)};
}

void classification_tables(Page& page, const Run& run, const std::vector<Run>& runs) {
  const json& report = run.report["classification_report"];
  std::vector<std::vector<std::string>> rows;
  // In the order of the class list (JSON objects are sorted by name).
  std::vector<std::string> names = class_names(run);
  if (names.empty() && report.contains("classes"))
    for (const auto& [name, scores] : report["classes"].items()) names.push_back(name);
  for (const std::string& name : names)
    if (report.contains("classes") && report["classes"].contains(name)) rows.push_back(score_row(name, report["classes"][name]));
  rows.push_back({"accuracy", "", "", figure(number_at(report, "accuracy")), ""});
  if (report.contains("macro_avg")) rows.push_back(score_row("macro avg", report["macro_avg"]));
  if (report.contains("weighted_avg")) rows.push_back(score_row("weighted avg", report["weighted_avg"]));
  rows.push_back({"roc auc", "", "", figure(number_at(report, "roc_auc")), ""});
  if (runs.size() > 1) page.paragraph(run.name);
  page.table({"class", "precision", "recall", "f1-score", "support"}, rows);
  if (report.contains("confusion_matrix") && report["confusion_matrix"].is_array()) {
    // The first max_classes classes only: a cell per pair of classes grows as their square.
    const size_t shown = std::min(report["confusion_matrix"].size(),
                                  static_cast<size_t>(std::max<int64_t>(page.limits().max_classes, 1)));
    std::vector<std::vector<int64_t>> counts;
    for (size_t r = 0; r < shown; ++r) {
      const json& row = report["confusion_matrix"][r];
      std::vector<int64_t> cells;
      for (size_t c = 0; row.is_array() && c < std::min(row.size(), shown); ++c)
        cells.push_back(row[c].is_number_integer() ? row[c].get<int64_t>() : 0);
      counts.push_back(cells);
    }
    std::string caption = "Rows: the actual class; columns: the predicted one; shade: the share of the row.";
    if (shown < report["confusion_matrix"].size())
      caption += " (" + count_text(int64_t(report["confusion_matrix"].size() - shown)) +
                 " more classes not shown: the first " + count_text(int64_t(shown)) +
                 " are drawn; the JSON report has the whole matrix.)";
    page.figure(heat_map(counts, names, series_name(runs, run, "confusion matrix"), page.limits().max_text_chars),
                caption);
  }
}

void curve_charts(Page& page, const std::vector<Run>& runs) {
  std::vector<Series> roc, precision_recall;
  size_t left_out = 0;
  for (size_t r = 0; r < runs.size(); ++r) {
    const json& report = runs[r].report["classification_report"];
    if (!report.contains("curves") || !report["curves"].is_array()) continue;
    for (const json& curve : report["curves"]) {
      if (int64_t(roc.size()) >= page.limits().max_curves) {
        ++left_out;
        continue;
      }
      const int colour = int(runs.size() > 1 ? r : roc.size());
      const std::string name = series_name(runs, runs[r], string_at(curve, "class"));
      const json& roc_points = curve.value("roc", json::object());
      roc.push_back({.name = name + " (AUC " + figure(number_at(roc_points, "auc")) + ")",
                     .x = numbers_of(roc_points.value("fpr", json::array())),
                     .y = numbers_of(roc_points.value("tpr", json::array())),
                     .colour = colour});
      const json& pr_points = curve.value("precision_recall", json::object());
      precision_recall.push_back({.name = name + " (AP " + figure(number_at(pr_points, "average_precision")) + ")",
                                  .x = numbers_of(pr_points.value("recall", json::array())),
                                  .y = numbers_of(pr_points.value("precision", json::array())),
                                  .colour = colour});
    }
  }
  if (roc.empty()) return;
  const std::string caption =
      left_out ? "(" + count_text(int64_t(left_out)) + " more curves not shown; they are in the JSON report)" : "";
  page.figure(line_chart(roc, bounded(page, {.title = "ROC curve", .x_label = "false positive rate",
                                             .y_label = "true positive rate", .unit_square = true})),
              caption);
  page.figure(line_chart(precision_recall, bounded(page, {.title = "precision-recall curve", .x_label = "recall",
                                                          .y_label = "precision", .y_extent = {0, 1}})),
              caption);
}

}  // namespace

void add_classification_section(Page& page, const std::vector<Run>& runs) {
  bool any = false;
  for (const Run& run : runs) any = any || run.report.contains("classification_report");
  if (!any) return;
  page.section("Classification on the test rows");
  for (const Run& run : runs)
    if (run.report.contains("classification_report") && run.report["classification_report"].is_object())
      classification_tables(page, run, runs);
  curve_charts(page, runs);
}

void add_cross_validation_section(Page& page, const std::vector<Run>& runs) {
  bool any = false;
  for (const Run& run : runs) any = any || (run.report.contains("folds") && run.report["folds"].is_array());
  if (!any) return;
  page.section("Cross-validation");
  const std::vector<std::string> metrics{"loss", "accuracy", "precision", "recall", "f1", "auc", "mse", "mae"};
  std::vector<Series> series;
  for (size_t r = 0; r < runs.size(); ++r) {
    const Run& run = runs[r];
    if (!run.report.contains("folds") || !run.report["folds"].is_array()) continue;
    std::vector<std::string> present;
    for (const std::string& metric : metrics)
      if (!run.report["folds"].empty() && run.report["folds"][0].contains(metric)) present.push_back(metric);
    std::vector<std::string> header{"fold", "train rows", "test rows"};
    header.insert(header.end(), present.begin(), present.end());
    std::vector<std::vector<std::string>> rows;
    for (const json& fold : run.report["folds"]) {
      std::vector<std::string> row{string_at(fold, "fold"), string_at(fold, "train_rows"), string_at(fold, "test_rows")};
      for (const std::string& metric : present) row.push_back(figure(number_at(fold, metric.c_str())));
      rows.push_back(row);
    }
    std::vector<std::string> mean_row{"mean \xC2\xB1 std", "", ""};
    for (const std::string& metric : present)
      mean_row.push_back(figure(number_at(run.report.value("mean", json::object()), metric.c_str())) + " \xC2\xB1 " +
                         figure(number_at(run.report.value("std", json::object()), metric.c_str())));
    rows.push_back(mean_row);
    if (runs.size() > 1) page.paragraph(run.name);
    page.table(header, rows);
    // Bounded figures share one chart: each fold a dot, the mean a dashed line.
    int colour = int(runs.size() > 1 ? r * 3 : 0);
    for (const std::string& metric : present) {
      if (metric == "loss" || metric == "mse" || metric == "mae") continue;
      Series folds{.name = series_name(runs, run, metric), .dots = true, .colour = colour};
      for (const json& fold : run.report["folds"]) {
        folds.x.push_back(number_at(fold, "fold"));
        folds.y.push_back(number_at(fold, metric.c_str()));
      }
      const double mean = number_at(run.report.value("mean", json::object()), metric.c_str());
      Series average{.name = series_name(runs, run, "mean " + metric), .x = {folds.x.front(), folds.x.back()},
                     .y = {mean, mean}, .dashed = true, .colour = colour};
      series.push_back(std::move(folds));
      series.push_back(std::move(average));
      ++colour;
    }
  }
  if (!series.empty())
    page.figure(line_chart(series, bounded(page, {.title = "figures per fold", .x_label = "fold", .y_label = "figure"})),
                "Each dot is one fold's held-out figure; the dashed line is the mean over the folds.");
}

}  // namespace citadel::report::detail
