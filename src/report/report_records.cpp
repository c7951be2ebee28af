// The JSON records of a run's report, shared by the command line and write_html.
#include "citadel/report/report_records.hpp"

#include <cmath>
#include <nlohmann/json.hpp>

#include "citadel/core/error.hpp"

namespace citadel::report {
namespace {

using nlohmann::json;

json number_or_null(double value) { return std::isfinite(value) ? json(value) : json(nullptr); }

json numbers(const std::vector<double>& values) {
  json out = json::array();
  for (double v : values) out.push_back(number_or_null(v));
  return out;
}

// Names come from the data and need not be UTF-8: replaced, not thrown on.
std::string text_of(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

json class_scores(const ClassScores& s) {
  return {{"precision", s.precision}, {"recall", s.recall}, {"f1", s.f1}, {"support", s.support}};
}

}  // namespace

std::string history_record(const History& history) {
  json out = json::object();
  for (const auto& [name, values] : history.history) out[name] = numbers(values);
  return text_of(out);
}

std::string logs_record(const Logs& logs) {
  json out = json::object();
  for (const auto& [name, value] : logs) out[name] = number_or_null(value);
  return text_of(out);
}

std::string classification_record(const ClassificationReport& report) {
  json classes = json::object();
  for (const auto& c : report.classes) classes[c.name] = class_scores(c);
  json curves = json::array();
  for (const ClassCurves& c : report.curves)
    curves.push_back({{"class", c.name},
                      {"roc",
                       {{"fpr", numbers(c.roc.false_positive_rate)},
                        {"tpr", numbers(c.roc.true_positive_rate)},
                        {"auc", number_or_null(c.roc.auc)}}},
                      {"precision_recall",
                       {{"recall", numbers(c.precision_recall.recall)},
                        {"precision", numbers(c.precision_recall.precision)},
                        {"average_precision", number_or_null(c.precision_recall.average_precision)}}}});
  return json{{"classes", classes},
              {"macro_avg", class_scores(report.macro_average)},
              {"weighted_avg", class_scores(report.weighted_average)},
              {"accuracy", report.accuracy},
              {"roc_auc", number_or_null(report.auc)},
              {"confusion_matrix", report.confusion},
              {"curves", curves}}
      .dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string model_record(const Model& model) {
  CITADEL_CHECK(model.built(), ValueError, "model_record: model '", model.name(), "' is not built");
  // Each layer's output shape is its first call's (a graph may call a layer several times).
  const GraphInfo& graph = model.graph();
  std::vector<Shape> output_shapes(model.size());
  std::vector<bool> seen(model.size(), false);
  for (const GraphInfo::NodeInfo& node : graph.nodes)
    if (!seen.at(node.layer)) seen[node.layer] = true, output_shapes[node.layer] = graph.tensors.at(node.output).shape;
  json layers = json::array();
  for (size_t i = 0; i < model.size(); ++i)
    layers.push_back({{"name", model.layer(i).name()},
                      {"type", model.layer(i).type()},
                      {"output_shape", output_shapes[i].dims()},
                      {"parameters", model.layer(i).parameter_count()}});
  return text_of(layers);
}

}  // namespace citadel::report
