// Robustness against ε, the privacy budget spent, and the membership audit.
#include <algorithm>
#include <cmath>

#include "html_text.hpp"
#include "run_sections.hpp"
#include "svg_chart.hpp"

namespace citadel::report::detail {

using nlohmann::json;

namespace {

bool has_array(const Run& run, const char* key) { return run.report.contains(key) && run.report[key].is_array(); }

// The DP record of a training run, or null.
const json* dp_record(const Run& run) {
  const json& report = run.report;
  if (report.contains("protection") && report["protection"].is_object() &&
      report["protection"].contains("differential_privacy"))
    return &report["protection"]["differential_privacy"];
  return nullptr;
}

// audit --attribute: the attack's and the baseline's accuracy on members and non-members, the
// advantage of one over the other with its bootstrap interval, and the gap between the sets.
void add_attribute_table(Page& page, const std::vector<Run>& runs) {
  std::vector<std::vector<std::string>> rows;
  auto interval = [](const json& pair) {
    return pair.is_array() && pair.size() == 2 && pair[0].is_number() && pair[1].is_number()
               ? "[" + figure(pair[0].get<double>()) + ", " + figure(pair[1].get<double>()) + "]"
               : std::string("\xE2\x80\x94");
  };
  for (const Run& run : runs) {
    if (!run.report.contains("attribute_inference") || !run.report["attribute_inference"].is_object()) continue;
    const json& a = run.report["attribute_inference"];
    const std::string name = series_name(runs, run, string_at(a, "column"));
    for (const auto& [key, label] : {std::pair{"members", "members"}, std::pair{"non_members", "non-members"}}) {
      const json& f = a.value(key, json::object());
      if (!f.is_object()) continue;
      rows.push_back({name, label, figure(number_at(f, "attack_accuracy")), figure(number_at(f, "baseline_accuracy")),
                      figure(number_at(f, "advantage")), interval(f.value("advantage_interval", json()))});
    }
    const json& gap = a.value("gap", json::object());
    if (gap.is_object())
      rows.push_back({name, "members \xE2\x88\x92 non-members", "", "", figure(number_at(gap, "value")),
                      interval(gap.value("interval", json()))});
  }
  if (rows.empty()) return;
  page.paragraph("Attribute inference: knowing a row's label and every other column, the attacker tries each "
                 "value of the column (its categories, or a grid of its quantiles) and guesses the one the model "
                 "finds likeliest; the baseline always guesses the most common value and never queries the model. "
                 "An advantage on members that non-members do not show is what the model leaks about its training "
                 "rows; an advantage on both is what the column's relation to the label gives anyone.");
  page.table({"column", "rows", "attack accuracy", "baseline accuracy", "advantage", "95 % interval"}, rows);
}

}  // namespace

void add_attack_section(Page& page, const std::vector<Run>& runs) {
  std::vector<Series> accuracy, success;
  std::vector<double> all_eps;
  std::vector<std::vector<std::string>> rows;
  for (size_t r = 0; r < runs.size(); ++r) {
    const Run& run = runs[r];
    if (!has_array(run, "results") || !run.report.contains("method")) continue;
    std::string what = string_at(run.report, "method") + " " + string_at(run.report, "norm");
    if (run.report.contains("target")) what += " \xE2\x86\x92 " + string_at(run.report, "target");
    // attack --space embedding: the moved vectors' accuracy and, beside it, the accuracy on the
    // real tokens nearest them (docs/SECURITY.md), the perturbation's size per token.
    const bool embedding = string_at(run.report, "space") == "embedding";
    const std::string tokens_name = series_name(runs, run, what + " real tokens");
    if (embedding) what += " (vectors)";
    Series acc{.name = series_name(runs, run, what), .dots = true, .colour = int(r)};
    Series hit{.name = acc.name, .dots = true, .colour = int(r)};
    Series real{.name = tokens_name, .dashed = true, .dots = true, .colour = int(r)};
    const std::string prefix = embedding ? "mean_token_" : "mean_";
    for (const json& point : run.report["results"]) {
      const double eps = number_at(point, "epsilon");
      acc.x.push_back(eps), hit.x.push_back(eps), all_eps.push_back(eps);
      acc.y.push_back(number_at(point, "accuracy"));
      hit.y.push_back(number_at(point, "attack_success"));
      rows.push_back({acc.name, number(eps), figure(number_at(point, "accuracy")),
                      figure(number_at(point, "attack_success")), figure(number_at(point, (prefix + "linf").c_str())),
                      figure(number_at(point, (prefix + "l2").c_str()))});
      if (embedding && point.contains("nearest_token_projection")) {
        real.x.push_back(eps);
        real.y.push_back(number_at(point["nearest_token_projection"], "accuracy"));
      }
    }
    accuracy.push_back(std::move(acc));
    success.push_back(std::move(hit));
    if (!real.x.empty()) accuracy.push_back(std::move(real));
  }
  if (accuracy.empty()) return;
  page.section("Adversarial robustness");
  // A log scale when every ε is positive and they span more than a decade or so.
  // Runs whose results list is empty still get their (empty) charts; only a range with points has ends.
  bool log_x = false;
  if (!all_eps.empty()) {
    const auto [low, high] = std::minmax_element(all_eps.begin(), all_eps.end());
    log_x = *low > 0 && *high / *low >= 20;
  }
  const std::string units = string_at(runs.front().report, "units");
  page.figure(line_chart(accuracy, bounded(page, {.title = "accuracy under attack", .x_label = "\xCE\xB5 (" + units + ")",
                                    .y_label = "accuracy", .log_x = log_x, .y_extent = {0, 1}})),
              "Accuracy on the attacked rows as the attack budget \xCE\xB5 grows; \xCE\xB5 = 0 is the clean accuracy.");
  page.figure(line_chart(success, bounded(page, {.title = "attack success", .x_label = "\xCE\xB5 (" + units + ")",
                                   .y_label = "share of rows the attack changed", .log_x = log_x,
                                   .y_extent = {0, 1}})));
  page.table({"attack", "\xCE\xB5", "accuracy", "attack success", "mean L\xE2\x88\x9E", "mean L2"}, rows);
}

namespace {

// Randomized smoothing's certified accuracy against the ℓ2 radius (certify --method smoothing).
void add_smoothing_figure(Page& page, const std::vector<Run>& runs, std::vector<std::vector<std::string>>& rows) {
  std::vector<Series> curves;
  for (size_t r = 0; r < runs.size(); ++r) {
    const Run& run = runs[r];
    if (!has_array(run, "certified") || !run.report.contains("smoothing")) continue;
    const json& smoothing = run.report["smoothing"];
    const std::string what = "\xCF\x83 " + number(number_at(smoothing, "sigma"));
    Series certified{.name = series_name(runs, run, "certified, " + what), .dots = true, .colour = int(r)};
    Series attacked{.name = series_name(runs, run, "under PGD, " + what), .dashed = true, .dots = true,
                    .colour = int(r)};
    for (const json& point : run.report["certified"]) {
      const double radius = number_at(point, "radius");
      certified.x.push_back(radius), certified.y.push_back(number_at(point, "certified_accuracy"));
      const bool has_attack = point.contains("accuracy_under_pgd");
      if (has_attack) attacked.x.push_back(radius), attacked.y.push_back(number_at(point, "accuracy_under_pgd"));
      rows.push_back({series_name(runs, run, what), "L2 " + number(radius), figure(certified.y.back()),
                      has_attack ? figure(attacked.y.back()) : "\xE2\x80\x94"});
    }
    curves.push_back(std::move(certified));
    if (!attacked.x.empty()) curves.push_back(std::move(attacked));
  }
  if (curves.empty()) return;
  const std::string units = string_at(runs.front().report, "units");
  page.figure(line_chart(curves, bounded(page, {.title = "certified accuracy", .x_label = "L2 radius (" + units + ")",
                                                .y_label = "accuracy", .y_extent = {0, 1}})),
              "Randomized smoothing (Cohen et al. 2019): the share of rows whose smoothed prediction is right and "
              "certified at least this radius (a lower bound on accuracy within it, each certificate wrong with "
              "probability at most \xCE\xB1). Dashed: the smoothed classifier's accuracy on rows moved by PGD, an "
              "upper bound; the truth lies between.");
}

// Interval bound propagation's verified accuracy against the ℓ∞ ε (certify --method ibp).
void add_interval_figure(Page& page, const std::vector<Run>& runs, std::vector<std::vector<std::string>>& rows) {
  std::vector<Series> curves;
  for (size_t r = 0; r < runs.size(); ++r) {
    const Run& run = runs[r];
    if (!has_array(run, "verified")) continue;
    Series verified{.name = series_name(runs, run, "verified (IBP)"), .dots = true, .colour = int(r)};
    Series attacked{.name = series_name(runs, run, "under PGD"), .dashed = true, .dots = true, .colour = int(r)};
    for (const json& point : run.report["verified"]) {
      const double epsilon = number_at(point, "epsilon");
      verified.x.push_back(epsilon), verified.y.push_back(number_at(point, "verified_accuracy"));
      const bool has_attack = point.contains("accuracy_under_pgd");
      if (has_attack) attacked.x.push_back(epsilon), attacked.y.push_back(number_at(point, "accuracy_under_pgd"));
      rows.push_back({series_name(runs, run, "IBP"), "L\xE2\x88\x9E " + number(epsilon), figure(verified.y.back()),
                      has_attack ? figure(attacked.y.back()) : "\xE2\x80\x94"});
    }
    curves.push_back(std::move(verified));
    if (!attacked.x.empty()) curves.push_back(std::move(attacked));
  }
  if (curves.empty()) return;
  const std::string units = string_at(runs.front().report, "units");
  page.figure(line_chart(curves, bounded(page, {.title = "verified accuracy", .x_label = "L\xE2\x88\x9E \xCE\xB5 (" + units + ")",
                                                .y_label = "accuracy", .y_extent = {0, 1}})),
              "Interval bound propagation (Gowal et al. 2018): the share of rows that no input within \xCE\xB5 "
              "(L\xE2\x88\x9E) can move off their label, proved by sound bounds (a lower bound on the accuracy "
              "within \xCE\xB5). Dashed: the accuracy on rows moved by PGD, an upper bound.");
}

}  // namespace

void add_certified_section(Page& page, const std::vector<Run>& runs) {
  const bool any = std::any_of(runs.begin(), runs.end(), [](const Run& run) {
    return (has_array(run, "certified") && run.report.contains("smoothing")) || has_array(run, "verified");
  });
  if (!any) return;
  page.section("Certified robustness");
  std::vector<std::vector<std::string>> rows;
  add_smoothing_figure(page, runs, rows);
  add_interval_figure(page, runs, rows);
  page.table({"run", "radius", "certified accuracy", "accuracy under PGD"}, rows);
}

void add_privacy_section(Page& page, const std::vector<Run>& runs) {
  std::vector<Series> series;
  std::vector<std::pair<double, std::string>> targets;
  std::vector<std::vector<std::string>> rows;
  for (size_t r = 0; r < runs.size(); ++r) {
    const Run& run = runs[r];
    const json* dp = dp_record(run);
    Series spent{.name = series_name(runs, run, "\xCE\xB5 spent"), .colour = int(r)};
    if (dp != nullptr && run.report.contains("history") && run.report["history"].contains("epsilon")) {
      spent.y = numbers_of(run.report["history"]["epsilon"]);
      for (size_t e = 0; e < spent.y.size(); ++e) spent.x.push_back(double(e + 1));
      rows.push_back({run.name, number(number_at(*dp, "l2_norm_clip"), 6), number(number_at(*dp, "noise_multiplier"), 6),
                      number(number_at(*dp, "sampling_rate"), 6), number(number_at(*dp, "delta"), 6),
                      figure(number_at(*dp, "epsilon")), string_at(*dp, "noise")});
      if (dp->contains("target_epsilon")) targets.push_back({number_at(*dp, "target_epsilon"), "target \xCE\xB5"});
    } else if (run.report.contains("epsilon_by_epoch")) {  // dp-budget
      const json& curve = run.report["epsilon_by_epoch"];
      spent.x = numbers_of(curve.value("epochs", json::array()));
      spent.y = numbers_of(curve.value("epsilon", json::array()));
      rows.push_back({run.name, "", number(number_at(run.report, "noise_multiplier"), 6),
                      number(number_at(run.report, "sampling_rate"), 6), number(number_at(run.report, "delta"), 6),
                      figure(number_at(run.report, "epsilon")), ""});
      if (run.report.contains("target_epsilon"))
        targets.push_back({number_at(run.report, "target_epsilon"), "target \xCE\xB5"});
    } else {
      continue;
    }
    spent.dots = spent.x.size() <= 12;
    series.push_back(std::move(spent));
  }
  if (series.empty()) return;
  page.section("Differential privacy");
  page.figure(line_chart(series, bounded(page, {.title = "privacy budget spent", .x_label = "epoch", .y_label = "\xCE\xB5",
                                  .y_extent = {0}, .horizontal_lines = targets})),
              "\xCE\xB5 of the (\xCE\xB5, \xCE\xB4) guarantee after each epoch (RDP accountant of the sampled "
              "Gaussian mechanism).");
  page.table({"run", "clip C", "noise multiplier \xCF\x83", "sampling rate", "\xCE\xB4", "final \xCE\xB5", "noise"}, rows);
}

void add_audit_section(Page& page, const std::vector<Run>& runs) {
  std::vector<Series> series;
  std::vector<std::vector<std::string>> rows;
  bool any_dp = false;
  for (const Run& run : runs)
    any_dp = any_dp || (has_array(run, "attacks") && run.report.contains("differential_privacy") &&
                        run.report["differential_privacy"].is_object());
  for (size_t r = 0; r < runs.size(); ++r) {
    const Run& run = runs[r];
    if (!has_array(run, "attacks")) continue;
    for (const json& attack : run.report["attacks"]) {
      const std::string name = series_name(runs, run, string_at(attack, "attack"));
      const json& roc = attack.value("roc", json::object());
      series.push_back({.name = name + " (AUC " + figure(number_at(attack, "auc")) + ")",
                        .x = numbers_of(roc.value("fpr", json::array())),
                        .y = numbers_of(roc.value("tpr", json::array())),
                        .colour = int(series.size())});
      // Reports of earlier versions lack the low-FPR figures: a dash, not "nan".
      auto optional_figure = [&](const char* key) {
        return attack.contains(key) ? figure(number_at(attack, key)) : std::string("\xE2\x80\x94");
      };
      rows.push_back({name, figure(number_at(attack, "auc")), figure(number_at(attack, "balanced_accuracy")),
                      figure(number_at(attack, "tpr_at_1_percent_fpr")), optional_figure("tpr_at_0_1_percent_fpr"),
                      optional_figure("epsilon_lower_bound"), string_at(attack, "members"),
                      string_at(attack, "non_members")});
      if (any_dp)
        rows.back().push_back(!attack.contains("within_dp_bound") || !attack["within_dp_bound"].is_boolean()
                                  ? "\xE2\x80\x94"
                              : attack["within_dp_bound"].get<bool>() ? "yes"
                                                                      : "NO: leaks more than \xCE\xB5 allows");
    }
  }
  if (series.empty()) return;
  // The region of an (ε, δ)-DP model (audit writes it when the model was trained with DP):
  // every attack's true ROC stays under it.
  std::vector<Series> bounds;
  for (size_t r = 0; r < runs.size(); ++r) {
    const Run& run = runs[r];
    if (!has_array(run, "attacks") || !run.report.contains("differential_privacy") ||
        !run.report["differential_privacy"].is_object())
      continue;
    const json& dp = run.report["differential_privacy"];
    const json& curve = dp.value("roc_bound", json::object());
    // The legend is cut at 19 characters: "DP bound, ε = 1.234" fits.
    bounds.push_back({.name = series_name(runs, run, "DP bound, \xCE\xB5 = " + number(number_at(dp, "epsilon"))),
                      .x = numbers_of(curve.value("fpr", json::array())),
                      .y = numbers_of(curve.value("tpr", json::array())),
                      .dashed = true,
                      .colour = int(series.size() + bounds.size())});
  }
  series.insert(series.end(), bounds.begin(), bounds.end());
  const std::string bound_caption =
      bounds.empty() ? ""
                     : " Dashed: the bound of the model's (\xCE\xB5, \xCE\xB4)-DP guarantee, TPR \xE2\x89\xA4 "
                       "min(e^\xCE\xB5\xC2\xB7" "FPR + \xCE\xB4, 1 \xE2\x88\x92 e^\xE2\x88\x92\xCE\xB5"
                       "\xC2\xB7(1 \xE2\x88\x92 \xCE\xB4 \xE2\x88\x92 FPR)): no attack's true ROC passes "
                       "above it. A measured curve may cross it by chance where few rows make a point; the table's "
                       "verdict is the 95 % lower bound on \xCE\xB5" " against the model's \xCE\xB5.";
  page.section("Membership inference");
  page.figure(line_chart(series, bounded(page, {.title = "membership attack ROC", .x_label = "false positive rate (non-members)",
                                  .y_label = "true positive rate (members)", .unit_square = true})),
              "The diagonal is an attack that cannot tell members from non-members." + bound_caption);
  // The same curves with the false positive rate on a log scale: an attack that matters is
  // one that is right about some members while almost never wrong (Carlini et al. 2022).
  page.figure(line_chart(series, bounded(page, {.title = "membership attack ROC at low false positive rates",
                                                .x_label = "false positive rate (log scale)",
                                                .y_label = "true positive rate", .log_x = true, .y_extent = {0, 1}})),
              "Points at a false positive rate of 0 are not drawn on the log scale." + bound_caption);
  std::vector<std::string> header{"attack", "AUC", "balanced accuracy", "TPR at 1 % FPR", "TPR at 0.1 % FPR",
                                  "\xCE\xB5 \xE2\x89\xA5 (95 %)", "members", "non-members"};
  if (any_dp) header.push_back("within the DP bound");
  page.table(header, rows);
  add_attribute_table(page, runs);
}

}  // namespace citadel::report::detail
