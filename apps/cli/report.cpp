// What the commands print and write: the figures, the history and the classification
// report as text and JSON, and --report written atomically.
#include "report.hpp"

#include <cmath>
#include <cstdio>

#include "citadel/core/atomic_file.hpp"

namespace citadel::cli {

void print_figures(const char* title, const Logs& logs, int64_t rows) {
  std::printf("\n%s (%lld rows):\n", title, static_cast<long long>(rows));
  for (const char* name : {"loss", "accuracy", "precision", "recall", "f1", "auc", "mse", "mae"})
    if (auto found = logs.find(name); found != logs.end()) std::printf("  %-10s %.4f\n", name, found->second);
}

nlohmann::json number_or_null(double value) {
  return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(nullptr);
}

nlohmann::json logs_json(const Logs& logs) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, value] : logs) out[name] = number_or_null(value);
  return out;
}

nlohmann::json history_json(const History& history) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, values] : history.history) {
    nlohmann::json series = nlohmann::json::array();
    for (double v : values) series.push_back(number_or_null(v));
    out[name] = series;
  }
  return out;
}

nlohmann::json report_json(const ClassificationReport& report) {
  nlohmann::json classes = nlohmann::json::object();
  auto scores = [](const ClassScores& s) {
    return nlohmann::json{{"precision", s.precision}, {"recall", s.recall}, {"f1", s.f1}, {"support", s.support}};
  };
  for (const auto& c : report.classes) classes[c.name] = scores(c);
  return {{"classes", classes},
          {"macro_avg", scores(report.macro_average)},
          {"weighted_avg", scores(report.weighted_average)},
          {"accuracy", report.accuracy},
          {"roc_auc", number_or_null(report.auc)},
          {"confusion_matrix", report.confusion}};
}

void add_classification_report(Sequential& model, const PreparedData& data, bool print, nlohmann::json& report) {
  if (!data.classification()) return;
  const ClassificationReport details = classification_report(model.predict(data.x_test), data.y_test, data.schema.classes);
  if (print) std::printf("\n%s", details.text().c_str());
  report["classification_report"] = report_json(details);
  report["classes"] = data.schema.classes;
}

void write_report(const std::string& path, const nlohmann::json& report, bool private_data) {
  if (!path.empty()) write_file_atomically(path, report.dump(2) + "\n", private_data ? 0600 : kDefaultMode);
}

}  // namespace citadel::cli
