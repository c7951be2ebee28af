// The page: runs' JSON reports parsed within bounds, then one section after another.
#include "citadel/report/html_report.hpp"

#include <filesystem>
#include <fstream>

#include "citadel/core/atomic_file.hpp"
#include "citadel/core/error.hpp"
#include "citadel/core/json_limits.hpp"
#include "citadel/core/utc_time.hpp"
#include "citadel/report/report_records.hpp"
#include "citadel/version.hpp"
#include "html_page.hpp"
#include "run_sections.hpp"

namespace citadel::report {
namespace {

using nlohmann::json;

constexpr size_t kMaxReportBytes = size_t{64} << 20;
constexpr int kMaxReportDepth = 64;


detail::Run parse_run(const RunReport& run) {
  const std::string& source = run.source.empty() ? run.name : run.source;
  CITADEL_CHECK(run.json.size() <= kMaxReportBytes, ValueError, source, ": a report larger than ", kMaxReportBytes,
                " bytes is refused");
  CITADEL_CHECK(json_nesting_depth(run.json) <= kMaxReportDepth, ValueError, source, ": JSON nested deeper than ",
                kMaxReportDepth, " levels is refused");
  detail::Run parsed{run.name, {}};
  try {
    parsed.report = json::parse(run.json);
  } catch (const json::exception& e) {
    throw ValueError(source + ": not valid JSON: " + e.what());
  }
  CITADEL_CHECK(parsed.report.is_object(), ValueError, source, ": a report is a JSON object, got ",
                parsed.report.type_name());
  return parsed;
}

}  // namespace

RunReport run_report_from_file(const std::string& path, const std::string& name) {
  std::error_code error;
  const auto bytes = std::filesystem::file_size(path, error);
  CITADEL_CHECK(!error, IoError, path, ": cannot read the report (", error.message(), ")");
  CITADEL_CHECK(bytes <= kMaxReportBytes, ValueError, path, ": a report larger than ", kMaxReportBytes,
                " bytes is refused");
  std::ifstream file(path, std::ios::binary);
  CITADEL_CHECK(file.is_open(), IoError, path, ": cannot open the report");
  std::string text(static_cast<size_t>(bytes), '\0');
  file.read(text.data(), static_cast<std::streamsize>(text.size()));
  CITADEL_CHECK(file.gcount() == static_cast<std::streamsize>(text.size()), IoError, path, ": read error");
  return {name.empty() ? std::filesystem::path(path).stem().string() : name, std::move(text), path};
}

std::string html_page(const std::vector<RunReport>& runs, const PageInfo& info) {
  CITADEL_CHECK(!runs.empty(), ValueError, "html_page: no runs to show");
  std::vector<detail::Run> parsed;
  for (const RunReport& run : runs) parsed.push_back(parse_run(run));
  detail::Page page(info.title);
  try {
    detail::add_run_section(page, parsed);
    detail::add_figures_section(page, parsed);
    detail::add_model_section(page, parsed);
    detail::add_training_section(page, parsed);
    detail::add_classification_section(page, parsed);
    detail::add_cross_validation_section(page, parsed);
    detail::add_attack_section(page, parsed);
    detail::add_privacy_section(page, parsed);
    detail::add_audit_section(page, parsed);
  } catch (const json::exception& e) {  // a field of another type than citadel writes
    std::string sources;
    for (const RunReport& run : runs) sources += (sources.empty() ? "" : ", ") + (run.source.empty() ? run.name : run.source);
    throw ValueError(sources + ": a report field has an unexpected type (" + e.what() + ")");
  }
  return page.html("Written by citadel " + std::string(kVersion) + " on " + utc_timestamp() +
                   ". Self-contained: nothing on this page is fetched from anywhere.");
}

std::string run_report_json(const History& history, const ClassificationReport* test_report, const Model* model) {
  json report{{"history", json::parse(history_record(history))},
              {"epochs_run", history.epoch.size()},
              {"stop_reason", history.stop_reason},
              {"run", {{"citadel_version", kVersion}, {"date", utc_timestamp()}}}};
  if (test_report != nullptr) {
    report["classification_report"] = json::parse(classification_record(*test_report));
    json classes = json::array();
    for (const ClassScores& c : test_report->classes) classes.push_back(c.name);
    report["classes"] = classes;
    report["accuracy"] = test_report->accuracy;
  }
  if (model != nullptr && model->built()) report["model"] = json::parse(model_record(*model));
  return report.dump(-1, ' ', false, json::error_handler_t::replace);
}

void write_html(const History& history, const ClassificationReport& test_report, const std::string& path,
                const PageInfo& info) {
  write_file_atomically(path, html_page({{"run", run_report_json(history, &test_report)}}, info));
}

void write_html(const History& history, const std::string& path, const PageInfo& info) {
  write_file_atomically(path, html_page({{"run", run_report_json(history)}}, info));
}

}  // namespace citadel::report
