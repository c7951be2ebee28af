// One self-contained HTML page per run (or several runs overlaid): inline SVG charts and
// CSS, nothing fetched from anywhere, light and dark themes, printable. Drawn from a
// run's JSON report (what `citadel ... --report` writes), or from C++ objects.
#pragma once

#include <string>
#include <vector>

#include "citadel/metrics/classification_report.hpp"
#include "citadel/model/history.hpp"
#include "citadel/model/sequential.hpp"
#include "citadel/report/page_limits.hpp"

namespace citadel::report {

struct PageInfo {
  std::string title = "citadel report";
  PageLimits limits = {};  // what the page may hold (page_limits.hpp)
};

// One run: a name for legends and tables, and its JSON report as text.
struct RunReport {
  std::string name;
  std::string json;
  std::string source = "";  // where the JSON came from, for errors (default: the name)
};

// A --report file as a run named `name` (default: the file's stem); files over
// limits.max_report_bytes (64 MiB) are refused before they are read.
RunReport run_report_from_file(const std::string& path, const std::string& name = "", const PageLimits& limits = {});
// Several --report files, `names` one per path or none: their count and their total size are
// checked against `limits` before any is read.
std::vector<RunReport> run_reports_from_files(const std::vector<std::string>& paths,
                                              const std::vector<std::string>& names = {},
                                              const PageLimits& limits = {});

// The page for these runs, overlaid where they share a chart, within info.limits: points,
// curves, charts, table rows, classes and text past their caps are left out with a note on
// the page. ValueError naming the source for a report that is not a JSON object, is nested
// too deeply, is too large or holds too many values; also for more runs than max_runs, and
// for a page that would pass max_page_bytes.
std::string html_page(const std::vector<RunReport>& runs, const PageInfo& info = {});

// The JSON report of a run made in C++: its history and, where given, the classification
// report of its test rows and its (built) model.
std::string run_report_json(const History& history, const ClassificationReport* test_report = nullptr,
                            const Model* model = nullptr);

// The page of that run, written atomically to `path`.
void write_html(const History& history, const ClassificationReport& test_report, const std::string& path,
                const PageInfo& info = {});
void write_html(const History& history, const std::string& path, const PageInfo& info = {});

}  // namespace citadel::report
