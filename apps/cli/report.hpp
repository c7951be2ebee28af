// What the commands print and write: figures, history and the classification report as
// text and JSON, --report (the JSON) and --html (the page drawn from it).
#pragma once

#include <nlohmann/json.hpp>

#include "citadel/metrics/classification_report.hpp"
#include "citadel/model/sequential.hpp"
#include "data_source.hpp"
#include "flags.hpp"

namespace citadel::cli {

// `every`: all of the logs (a model of several outputs: out1_accuracy, out2_mae, ...).
void print_figures(const char* title, const Logs& logs, int64_t rows, bool every = false);

// A figure that may be undefined (NaN, infinite) as JSON: null then, as JSON has no NaN.
nlohmann::json finite_or_null(double value);
nlohmann::json logs_json(const Logs& logs);
nlohmann::json history_json(const History& history);
nlohmann::json model_json(const Model& model);
// For classification: adds the classification report of `model` on the test rows (with its
// ROC and precision-recall curves) to `report`, and prints it when `print`.
void add_classification_report(Model& model, const PreparedData& data, bool print, nlohmann::json& report);

// The command line, recorded in every report (main sets it).
void set_command_line(int argc, char** argv);

// Adds the "run" record (command, command line, citadel version, date) to `report`, then
// writes it to --report and its page to --html where given (atomically; 0600 when
// `private_data`).
void write_outputs(const OutputFlags& output, const char* command, nlohmann::json report, bool private_data = false);

}  // namespace citadel::cli
