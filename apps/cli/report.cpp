// What the commands print and write: the figures, the history and the classification
// report as text and JSON (the library's records), --report and --html written atomically.
#include "report.hpp"

#include <cmath>
#include <cstdio>

#include "citadel/core/atomic_file.hpp"
#include "citadel/core/utc_time.hpp"
#include "citadel/io/saved_model.hpp"
#include "citadel/report/html_report.hpp"
#include "citadel/report/report_records.hpp"
#include "citadel/version.hpp"
#include "terminal_text.hpp"

namespace citadel::cli {
namespace {

std::string& recorded_command_line() {
  static std::string line;
  return line;
}


}  // namespace

void print_figures(const char* title, const Logs& logs, int64_t rows, bool every) {
  std::printf("\n%s (%lld rows):\n", title, static_cast<long long>(rows));
  if (every) {  // several outputs: the total loss, then each output's figures as Keras names them
    if (auto total = logs.find("loss"); total != logs.end()) std::printf("  %-24s %.4f\n", "loss", total->second);
    for (const auto& [name, value] : logs)
      if (name != "loss") std::printf("  %-24s %.4f\n", terminal_safe(name).c_str(), value);
    return;
  }
  for (const char* name : {"loss", "accuracy", "precision", "recall", "f1", "auc", "mse", "mae"})
    if (auto found = logs.find(name); found != logs.end()) std::printf("  %-10s %.4f\n", name, found->second);
}

nlohmann::json finite_or_null(double value) { return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(); }

nlohmann::json logs_json(const Logs& logs) { return nlohmann::json::parse(report::logs_record(logs)); }

nlohmann::json history_json(const History& history) { return nlohmann::json::parse(report::history_record(history)); }

nlohmann::json model_json(const Model& model) { return nlohmann::json::parse(report::model_record(model)); }

void add_classification_report(Model& model, const PreparedData& data, bool print, nlohmann::json& report) {
  if (!data.classification()) return;
  const ModelInputs inputs = model_inputs(model, data.schema, data.x_test);
  const ClassificationReport details =
      classification_report(model.predict(inputs.views)[0], data.y_test, data.schema.classes);
  if (print) std::printf("\n%s", terminal_safe(details.text()).c_str());  // class names come from the data
  report["classification_report"] = nlohmann::json::parse(report::classification_record(details));
  report["classes"] = data.schema.classes;
}

void set_command_line(int argc, char** argv) {
  std::string line;
  for (int i = 0; i < argc; ++i) {
    std::string arg = i == 0 ? "citadel" : argv[i];
    if (arg.empty() || arg.find_first_of(" \t\"'\\$") != std::string::npos) {  // quoted as a shell would need
      std::string quoted = "'";
      for (char c : arg) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
      arg = quoted + "'";
    }
    if (!line.empty()) line += ' ';
    line += arg;
  }
  recorded_command_line() = line;
}

void write_outputs(const OutputFlags& output, const char* command, nlohmann::json report, bool private_data) {
  report["run"] = {{"kind", command},
                   {"command", recorded_command_line()},
                   {"citadel_version", kVersion},
                   {"date", utc_timestamp()}};
  const unsigned mode = private_data ? 0600 : kDefaultMode;
  // Class and column names come from the data and need not be UTF-8: replaced, not thrown on.
  const std::string text = report.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
  if (!output.report.empty()) write_file_atomically(output.report, text + "\n", mode);
  if (!output.html.empty()) {
    std::string title = std::string("citadel ") + command;
    if (report.contains("data") && report["data"].is_string()) title += ": " + report["data"].get<std::string>();
    else if (report.contains("model_file") && report["model_file"].is_string())
      title += ": " + report["model_file"].get<std::string>();
    write_file_atomically(output.html, report::html_page({{command, text, output.html}}, {.title = title}), mode);
  }
}

}  // namespace citadel::cli
