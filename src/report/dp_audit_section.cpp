// The DP self-audit section: the accountant's ε against the audited lower bound, one point per
// `citadel dp-audit` report, beside the diagonal a correct implementation never crosses.
#include <algorithm>
#include <cmath>
#include <utility>

#include "html_text.hpp"
#include "run_sections.hpp"
#include "svg_chart.hpp"

namespace citadel::report::detail {

using nlohmann::json;

namespace {

// A dp-audit report: both ε figures as numbers.
bool is_dp_audit(const Run& run) {
  const json& report = run.report;
  return report.contains("claimed_epsilon") && report["claimed_epsilon"].is_number() &&
         report.contains("epsilon_lower_bound") && report["epsilon_lower_bound"].is_number();
}

}  // namespace

void add_dp_audit_section(Page& page, const std::vector<Run>& runs) {
  std::vector<std::pair<double, double>> points;  // (claimed, audited), drawn in order of claimed ε
  std::vector<std::vector<std::string>> rows;
  for (const Run& run : runs) {
    if (!is_dp_audit(run)) continue;
    const double claimed = number_at(run.report, "claimed_epsilon"), audited = number_at(run.report, "epsilon_lower_bound");
    points.push_back({claimed, audited});
    const json& verdict = run.report.value("contradicts_accountant", json());
    const bool contradicts = verdict.is_boolean() ? verdict.get<bool>() : audited > claimed;
    rows.push_back({run.name, figure(claimed), figure(audited), figure(number_at(run.report, "confidence")),
                    string_at(run.report, "strongest_evidence"), figure(number_at(run.report, "noise_multiplier")),
                    string_at(run.report, "runs"),
                    contradicts ? "CONTRADICTS THE ACCOUNTANT" : "consistent (which does not prove it right)"});
  }
  if (points.empty()) return;
  std::sort(points.begin(), points.end());
  Series audited{.name = "audited lower bound", .dots = true, .colour = 0};
  double largest = 0;
  for (const auto& [claimed, bound] : points) {
    audited.x.push_back(claimed), audited.y.push_back(bound);
    for (double value : {claimed, bound})
      if (std::isfinite(value)) largest = std::max(largest, value);
  }
  // y = x over the whole chart: a point above it is an audit that proves more ε than the
  // accountant allows, which only a broken implementation (or accountant) gives.
  const double end = largest > 0 ? largest * 1.05 : 1;
  Series diagonal{.name = "y = x", .x = {0, end}, .y = {0, end}, .dashed = true, .colour = 1};
  page.section("DP self-audit");
  page.figure(line_chart({audited, diagonal},
                         bounded(page, {.title = "audited \xCE\xB5 against the accountant's \xCE\xB5",
                                        .x_label = "accountant's \xCE\xB5 (upper bound)",
                                        .y_label = "audited \xCE\xB5 (lower bound)"})),
              "One point per dp-audit run. The accountant's \xCE\xB5 is a proof that the training leaks at most "
              "that much; the audited \xCE\xB5 is what canaries show it leaks at least, at the stated confidence. "
              "A point above the dashed diagonal contradicts the accountant: the implementation leaks more than "
              "it claims. A point below it is consistent, and a point far below it says the audit is weak there, "
              "not that the accountant is tight.");
  page.table({"run", "accountant's \xCE\xB5", "audited \xCE\xB5 \xE2\x89\xA5", "confidence", "strongest evidence",
              "noise multiplier", "runs pooled", "verdict"},
             rows);
}

}  // namespace citadel::report::detail
