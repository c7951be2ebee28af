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

constexpr int kMaxReportDepth = 64;

// Weighs a report's JSON by what nlohmann's parser would allocate for it (a number 16 bytes in
// its array, an object or an array about 96 with its heap part, a key or a string its text
// and ~64 more), stopping as soon as the budget is passed: parsing 18 MB of "{}," took 556 MB.
class ParsedSizeCounter : public nlohmann::json_sax<json> {
 public:
  explicit ParsedSizeCounter(size_t budget) : budget_(budget) {}
  bool null() override { return add(16); }
  bool boolean(bool) override { return add(16); }
  bool number_integer(number_integer_t) override { return add(16); }
  bool number_unsigned(number_unsigned_t) override { return add(16); }
  bool number_float(number_float_t, const string_t&) override { return add(16); }
  bool string(string_t& text) override { return add(64 + text.size()); }
  bool binary(binary_t& bytes) override { return add(64 + bytes.size()); }
  bool start_object(std::size_t) override { return add(96); }
  bool key(string_t& text) override { return add(64 + text.size()); }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return add(96); }
  bool end_array() override { return true; }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }
  bool over() const { return bytes_ > budget_; }

 private:
  bool add(size_t bytes) {
    bytes_ += bytes;
    return bytes_ <= budget_;
  }
  size_t budget_, bytes_ = 0;
};

detail::Run parse_run(const RunReport& run, const PageLimits& limits) {
  const std::string& source = run.source.empty() ? run.name : run.source;
  CITADEL_CHECK(run.json.size() <= limits.max_report_bytes, ValueError, source, ": a report larger than ",
                limits.max_report_bytes, " bytes is refused");
  CITADEL_CHECK(json_nesting_depth(run.json) <= kMaxReportDepth, ValueError, source, ": JSON nested deeper than ",
                kMaxReportDepth, " levels is refused");
  ParsedSizeCounter counter(limits.max_parsed_bytes);
  json::sax_parse(run.json, &counter);  // a syntax error is reported by the parse below
  CITADEL_CHECK(!counter.over(), ValueError, source, ": its JSON values would take more than ",
                limits.max_parsed_bytes >> 20, " MiB once parsed (PageLimits::max_parsed_bytes); a report citadel "
                "writes is far smaller, so this one is refused");
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

std::string sources_of(const std::vector<RunReport>& runs) {
  std::string sources;
  for (const RunReport& run : runs) sources += (sources.empty() ? "" : ", ") + (run.source.empty() ? run.name : run.source);
  return sources;
}

}  // namespace

RunReport run_report_from_file(const std::string& path, const std::string& name, const PageLimits& limits) {
  std::error_code error;
  const auto bytes = std::filesystem::file_size(path, error);
  CITADEL_CHECK(!error, IoError, path, ": cannot read the report (", error.message(), ")");
  CITADEL_CHECK(bytes <= limits.max_report_bytes, ValueError, path, ": a report larger than ", limits.max_report_bytes,
                " bytes is refused");
  std::ifstream file(path, std::ios::binary);
  CITADEL_CHECK(file.is_open(), IoError, path, ": cannot open the report");
  std::string text(static_cast<size_t>(bytes), '\0');
  file.read(text.data(), static_cast<std::streamsize>(text.size()));
  CITADEL_CHECK(file.gcount() == static_cast<std::streamsize>(text.size()), IoError, path, ": read error");
  return {name.empty() ? std::filesystem::path(path).stem().string() : name, std::move(text), path};
}

namespace {

void check_run_count(size_t runs, const PageLimits& limits) {
  CITADEL_CHECK(int64_t(runs) <= limits.max_runs, ValueError, runs, " runs: a page shows at most ", limits.max_runs,
                " (PageLimits::max_runs); draw them on several pages");
}

}  // namespace

std::vector<RunReport> run_reports_from_files(const std::vector<std::string>& paths,
                                              const std::vector<std::string>& names, const PageLimits& limits) {
  CITADEL_CHECK(names.empty() || names.size() == paths.size(), ValueError, "--name: ", names.size(), " names for ",
                paths.size(), " reports; give one per report or none");
  check_run_count(paths.size(), limits);
  uintmax_t total = 0;
  for (const std::string& path : paths) {
    std::error_code error;
    const auto bytes = std::filesystem::file_size(path, error);
    CITADEL_CHECK(!error, IoError, path, ": cannot read the report (", error.message(), ")");
    total += bytes;
    CITADEL_CHECK(total <= limits.max_report_bytes, ValueError, path, ": the reports together pass ",
                  limits.max_report_bytes, " bytes (PageLimits::max_report_bytes); draw them on several pages");
  }
  std::vector<RunReport> runs;
  for (size_t i = 0; i < paths.size(); ++i)
    runs.push_back(run_report_from_file(paths[i], names.empty() ? "" : names[i], limits));
  return runs;
}

std::string html_page(const std::vector<RunReport>& runs, const PageInfo& info) {
  CITADEL_CHECK(!runs.empty(), ValueError, "html_page: no runs to show");
  check_run_count(runs.size(), info.limits);
  size_t total = 0;
  for (const RunReport& run : runs) total += run.json.size();
  CITADEL_CHECK(total <= info.limits.max_report_bytes, ValueError, "the reports together pass ",
                info.limits.max_report_bytes, " bytes (PageLimits::max_report_bytes); draw them on several pages");
  std::vector<detail::Run> parsed;
  for (const RunReport& run : runs) parsed.push_back(parse_run(run, info.limits));
  detail::Page page(info.title, info.limits);
  try {
    detail::add_run_section(page, parsed);
    detail::add_figures_section(page, parsed);
    detail::add_model_section(page, parsed);
    detail::add_training_section(page, parsed);
    detail::add_classification_section(page, parsed);
    detail::add_cross_validation_section(page, parsed);
    detail::add_attack_section(page, parsed);
    detail::add_certified_section(page, parsed);
    detail::add_privacy_section(page, parsed);
    detail::add_audit_section(page, parsed);
    detail::add_dp_audit_section(page, parsed);
    detail::add_backdoor_section(page, parsed);
    detail::add_poison_section(page, parsed);
    return page.html("Written by citadel " + std::string(kVersion) + " on " + utc_timestamp() +
                     ". Self-contained: nothing on this page is fetched from anywhere.");
  } catch (const json::exception& e) {  // a field of another type than citadel writes
    throw ValueError(sources_of(runs) + ": a report field has an unexpected type (" + e.what() + ")");
  } catch (const ValueError& e) {  // the page's size cap
    throw ValueError(sources_of(runs) + ": " + e.what());
  }
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
