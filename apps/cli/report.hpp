// What the commands print and write: figures, history and the classification report as
// text and JSON, and --report.
#pragma once

#include <nlohmann/json.hpp>

#include "citadel/metrics/classification_report.hpp"
#include "citadel/model/sequential.hpp"
#include "data_source.hpp"

namespace citadel::cli {

void print_figures(const char* title, const Logs& logs, int64_t rows);

nlohmann::json number_or_null(double value);
nlohmann::json logs_json(const Logs& logs);
nlohmann::json history_json(const History& history);
nlohmann::json report_json(const ClassificationReport& report);
// For classification: adds the classification report of `model` on the test rows to
// `report` (and prints it when `print`).
void add_classification_report(Sequential& model, const PreparedData& data, bool print, nlohmann::json& report);

// Writes `report` to `path` (--report) unless it is empty (atomically; 0600 when
// `private_data`).
void write_report(const std::string& path, const nlohmann::json& report, bool private_data = false);

}  // namespace citadel::cli
