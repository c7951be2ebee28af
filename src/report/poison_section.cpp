// The poisoned-data section: per class of a `citadel inspect-data` report, its outlying rows
// along the spectral signature, activation clustering's split, the label test and the verdict.
#include "html_text.hpp"
#include "run_sections.hpp"

namespace citadel::report::detail {

using nlohmann::json;

namespace {

bool is_poison_inspection(const Run& run) {
  const json& r = run.report;
  return r.value("inspection", json()) == "poison" && r.contains("classes") && r["classes"].is_array();
}

}  // namespace

void add_poison_section(Page& page, const std::vector<Run>& runs) {
  bool opened = false;
  for (const Run& run : runs) {
    if (!is_poison_inspection(run)) continue;
    if (!opened) page.section("Poisoned-data inspection"), opened = true;
    const json& r = run.report;
    const bool suspected = r.value("poisoning_suspected", false);
    page.paragraph(series_name(runs, run, "") +
                   (suspected ? "Poisoning suspected: " + count_text(int64_t(number_at(r, "flagged_rows"))) +
                                    " rows flagged in " + string_at(r, "flagged_classes") + "."
                              : "No class holds a group of outlying rows that look like other classes' rows.") +
                   " A row is a candidate past " + number(number_at(r, "row_threshold")) +
                   " robust deviations along its class's spectral signature; a class is flagged when its "
                   "candidates' input-space neighbours carry other labels at least " +
                   number(number_at(r, "min_disagreement")) +
                   " of the time and far more often than its typical rows'.");
    std::vector<std::vector<std::string>> rows;
    for (const json& c : r["classes"]) {
      if (!c.is_object()) continue;
      rows.push_back(
          {string_at(c, "label"), count_text(int64_t(number_at(c, "rows"))),
           count_text(int64_t(number_at(c, "candidates"))), figure(number_at(c, "cluster_share")),
           figure(number_at(c, "ashman_d")), figure(number_at(c, "candidate_disagreement")),
           figure(number_at(c, "typical_disagreement")),
           c.value("flagged", false) ? "FLAGGED" : (c.value("inspected", true) ? "clean" : "not inspected")});
    }
    page.table({"class", "rows", "candidates", "2-means share", "Ashman's D", "candidates' other labels",
                "typical rows' other labels", "verdict"},
               rows);
  }
}

}  // namespace citadel::report::detail
