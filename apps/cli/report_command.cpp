// `citadel report`: one HTML page from --report JSON files, several runs overlaid (plain
// against adversarially trained against private, say).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>

#include "citadel/core/atomic_file.hpp"
#include "citadel/core/error.hpp"
#include "citadel/report/html_report.hpp"
#include "commands.hpp"

namespace citadel::cli {
namespace {

struct ReportFlags {
  std::vector<std::string> reports;
  std::vector<std::string> names;  // --name, one per report (default: the file's stem)
  std::string output;
  std::string title = "citadel report";
};

int run_report(const ReportFlags& s) {
  // The count and the total size of the reports are checked before any is read.
  const std::vector<report::RunReport> runs = report::run_reports_from_files(s.reports, s.names);
  write_file_atomically(s.output, report::html_page(runs, {.title = s.title}));
  std::printf("Wrote %s (%zu run%s)\n", s.output.c_str(), runs.size(), runs.size() == 1 ? "" : "s");
  return 0;
}

}  // namespace

Command add_report_command(CLI::App& app) {
  auto flags = std::make_shared<ReportFlags>();
  CLI::App* command = app.add_subcommand(
      "report", "Draw one HTML page of charts and tables from --report JSON files (several runs overlaid)");
  command->add_option("reports", flags->reports, "JSON reports written with --report")->required()->option_text("JSON...");
  command->add_option("--output", flags->output, "The HTML page to write")->required()->option_text("FILE");
  command->add_option("--name", flags->names, "A name for each run, in order (default: the file names)")
      ->option_text("NAME");
  command->add_option("--title", flags->title, "The page's title")->capture_default_str();
  return {command, [flags] { return run_report(*flags); }};
}

}  // namespace citadel::cli
