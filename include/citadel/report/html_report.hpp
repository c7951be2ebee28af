// One self-contained HTML page per run (or several runs overlaid): inline SVG charts and
// CSS, nothing fetched from anywhere, light and dark themes, printable. Drawn from a
// run's JSON report (what `citadel ... --report` writes), or from C++ objects.
#pragma once

#include <string>
#include <vector>

#include "citadel/metrics/classification_report.hpp"
#include "citadel/model/history.hpp"
#include "citadel/model/sequential.hpp"

namespace citadel::report {

struct PageInfo {
  std::string title = "citadel report";
};

// One run: a name for legends and tables, and its JSON report as text.
struct RunReport {
  std::string name;
  std::string json;
  std::string source = "";  // where the JSON came from, for errors (default: the name)
};

// A --report file as a run named `name` (default: the file's stem); files over 64 MiB are
// refused before they are read.
RunReport run_report_from_file(const std::string& path, const std::string& name = "");

// The page for these runs, overlaid where they share a chart. A report that is not a JSON
// object, is nested too deeply or exceeds 64 MiB is a ValueError naming its source.
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
