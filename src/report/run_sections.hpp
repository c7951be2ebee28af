// The sections of the page, each drawn from what the runs' JSON reports hold (a section
// whose data no run has is left out). Several runs are overlaid where they share a chart.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "html_page.hpp"
#include "svg_chart.hpp"

namespace citadel::report::detail {

struct Run {
  std::string name;
  nlohmann::json report;
};

// Numbers of a JSON array (null → NaN); empty when `value` is not an array.
std::vector<double> numbers_of(const nlohmann::json& value);
// The number at `key` (NaN when absent or null).
double number_at(const nlohmann::json& object, const char* key);
// The text at `key` ("" when absent); numbers and other values as JSON.
std::string string_at(const nlohmann::json& object, const char* key);
// "name: what" with several runs, "what" with one.
std::string series_name(const std::vector<Run>& runs, const Run& run, const std::string& what);
// The chart options with the page's bounds on points, curves and text.
ChartOptions bounded(const Page& page, ChartOptions options);

void add_run_section(Page& page, const std::vector<Run>& runs);           // command, data, seed, version, date
void add_figures_section(Page& page, const std::vector<Run>& runs);       // held-out figures
void add_model_section(Page& page, const std::vector<Run>& runs);         // the layers
void add_training_section(Page& page, const std::vector<Run>& runs);      // curves per metric
void add_classification_section(Page& page, const std::vector<Run>& runs);  // report, confusion, ROC, PR
void add_cross_validation_section(Page& page, const std::vector<Run>& runs);
void add_attack_section(Page& page, const std::vector<Run>& runs);        // accuracy against ε
void add_certified_section(Page& page, const std::vector<Run>& runs);     // certified accuracy against radius
void add_privacy_section(Page& page, const std::vector<Run>& runs);       // ε against epochs
void add_audit_section(Page& page, const std::vector<Run>& runs);         // membership ROC
void add_dp_audit_section(Page& page, const std::vector<Run>& runs);      // audited ε against claimed ε
void add_backdoor_section(Page& page, const std::vector<Run>& runs);      // reversed triggers (scan-backdoor)
void add_poison_section(Page& page, const std::vector<Run>& runs);        // flagged classes (inspect-data)

}  // namespace citadel::report::detail
