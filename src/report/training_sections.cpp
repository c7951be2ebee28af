// The run, its held-out figures, its model and its training curves.
#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "html_text.hpp"
#include "run_sections.hpp"
#include "svg_chart.hpp"

namespace citadel::report::detail {

using nlohmann::json;

std::vector<double> numbers_of(const json& value) {
  std::vector<double> out;
  if (!value.is_array()) return out;
  for (const json& v : value) out.push_back(v.is_number() ? v.get<double>() : std::numeric_limits<double>::quiet_NaN());
  return out;
}

double number_at(const json& object, const char* key) {
  if (!object.is_object() || !object.contains(key) || !object[key].is_number())
    return std::numeric_limits<double>::quiet_NaN();
  return object[key].get<double>();
}

std::string string_at(const json& object, const char* key) {
  if (!object.is_object() || !object.contains(key) || object[key].is_null()) return "";
  return object[key].is_string() ? object[key].get<std::string>() : object[key].dump();
}

std::string series_name(const std::vector<Run>& runs, const Run& run, const std::string& what) {
  return runs.size() > 1 ? run.name + ": " + what : what;
}

ChartOptions bounded(const Page& page, ChartOptions options) {
  options.max_points = page.limits().max_points;
  options.max_curves = page.limits().max_curves;
  options.max_text_chars = page.limits().max_text_chars;
  return options;
}

namespace {

// One row a field, one column a run; rows where no run has a value are left out.
void field_table(Page& page, const std::vector<Run>& runs, const std::vector<std::pair<std::string, std::string>>& rows,
                 const json& (*record)(const Run&)) {
  std::vector<std::string> header{""};
  for (const Run& run : runs) header.push_back(run.name);
  std::vector<std::vector<std::string>> cells;
  for (const auto& [key, label] : rows) {
    std::vector<std::string> row{label};
    bool any = false;
    for (const Run& run : runs) {
      const json& object = record(run);
      if (object.is_object() && object.contains(key) && !object[key].is_null() && object[key] != "") {
        any = true;
        const json& value = object[key];
        row.push_back(value.is_number_integer() ? value.dump()
                      : value.is_number()       ? figure(value.get<double>())
                                                : string_at(object, key.c_str()));
      } else {
        row.push_back("");
      }
    }
    if (any) cells.push_back(row);
  }
  if (!cells.empty()) page.table(header, cells);
}

const json& whole_report(const Run& run) { return run.report; }

const json& run_record(const Run& run) {
  static const json empty = json::object();
  return run.report.contains("run") ? run.report["run"] : empty;
}

const std::vector<std::string> kFigures{"loss", "accuracy", "precision", "recall", "f1", "auc", "mse", "mae"};

bool has_history(const Run& run) { return run.report.contains("history") && run.report["history"].is_object(); }

}  // namespace

void add_run_section(Page& page, const std::vector<Run>& runs) {
  page.section("Run");
  field_table(page, runs, {{"kind", "command"}, {"command", "command line"}, {"citadel_version", "citadel"},
                           {"date", "date"}}, run_record);
  field_table(page, runs, {{"data", "data"}, {"label", "label"}, {"train_rows", "training rows"},
                           {"test_rows", "test rows"}, {"test", "evaluated on"}, {"model_file", "model file"},
                           {"seed", "seed"}, {"loss_function", "loss"}, {"optimizer", "optimizer"},
                           {"epochs_run", "epochs run"}, {"stop_reason", "stopped because"}},
              whole_report);
}

void add_figures_section(Page& page, const std::vector<Run>& runs) {
  std::vector<std::pair<std::string, std::string>> rows;
  for (const std::string& name : kFigures) rows.push_back({name, name});
  bool any = false;
  for (const Run& run : runs)
    for (const std::string& name : kFigures) any = any || run.report.contains(name);
  if (!any) return;
  page.section("Held-out figures");
  field_table(page, runs, rows, whole_report);
}

void add_model_section(Page& page, const std::vector<Run>& runs) {
  bool opened = false;
  for (const Run& run : runs) {
    if (!run.report.contains("model") || !run.report["model"].is_array()) continue;
    if (!opened) page.section("Model");
    opened = true;
    std::vector<std::vector<std::string>> rows;
    double total = 0;
    for (const json& layer : run.report["model"]) {
      std::string shape = "(None";
      for (const json& dim : layer.value("output_shape", json::array())) shape += ", " + dim.dump();
      shape += ")";
      const double parameters = number_at(layer, "parameters");
      total += std::isnan(parameters) ? 0 : parameters;
      rows.push_back({string_at(layer, "name") + " (" + string_at(layer, "type") + ")", shape, number(parameters, 12)});
    }
    rows.push_back({"total", "", number(total, 12)});
    if (runs.size() > 1) page.paragraph(run.name);
    page.table({"layer (type)", "output shape", "parameters"}, rows);
  }
}

void add_training_section(Page& page, const std::vector<Run>& runs) {
  std::set<std::string> figures;  // training figures in any run's history, in a fixed order below
  for (const Run& run : runs)
    if (has_history(run))
      for (const auto& [key, values] : run.report["history"].items())
        if (key.rfind("val_", 0) != 0 && key != "epsilon" && key != "learning_rate") figures.insert(key);
  if (figures.empty()) return;
  page.section("Training");
  if (runs.size() == 1 && !string_at(runs[0].report, "stop_reason").empty())
    page.paragraph("Stopped early: " + string_at(runs[0].report, "stop_reason"));
  std::vector<std::string> order;
  for (const std::string& name : kFigures)
    if (figures.count(name)) order.push_back(name);
  for (const std::string& name : figures)
    if (std::find(order.begin(), order.end(), name) == order.end()) order.push_back(name);
  // Past the cap, the figures left out are named (as far as a paragraph's length allows).
  const size_t chart_cap = static_cast<size_t>(std::max<int64_t>(page.limits().max_charts, 1));
  if (order.size() > chart_cap) {
    std::string left_out;
    for (size_t i = chart_cap; i < order.size() && left_out.size() < 160; ++i)
      left_out += (left_out.empty() ? "" : ", ") + shortened(order[i], 40);
    page.note("(" + count_text(int64_t(order.size() - chart_cap)) + " more charts not shown: " + left_out +
                   (order.size() - chart_cap > 1 ? ", …" : "") + "; they are in the JSON report)");
    order.resize(chart_cap);
  }
  order.push_back("learning_rate");

  for (const std::string& name : order) {
    std::vector<Series> series;
    // The figure is named once, in the title; the legend says whose line it is.
    ChartOptions options{.title = name == "learning_rate" ? "learning rate" : name, .x_label = "epoch"};
    for (size_t r = 0; r < runs.size(); ++r) {
      const Run& run = runs[r];
      if (!has_history(run)) continue;
      const json& history = run.report["history"];
      for (const std::string& key : {name, "val_" + name}) {
        if (!history.contains(key)) continue;
        const std::vector<double> values = numbers_of(history[key]);
        if (name == "learning_rate" &&
            std::all_of(values.begin(), values.end(), [&](double v) { return v == values.front(); }))
          continue;  // a constant learning rate needs no chart
        const std::string rows = key == name ? "training" : "validation";
        const std::string legend = name == "learning_rate" ? (runs.size() > 1 ? run.name : "")
                                   : runs.size() > 1       ? (key == name ? run.name : run.name + " (validation)")
                                                           : rows;
        Series s{.name = legend, .y = values, .dashed = key != name,
                 .dots = values.size() <= 12, .colour = runs.size() > 1 ? int(r) : (key == name ? 0 : 1)};
        for (size_t e = 0; e < values.size(); ++e) s.x.push_back(double(e + 1));
        series.push_back(std::move(s));
      }
      if (runs.size() > 1 || name == "learning_rate") continue;
      // One run: where validation was best, where the learning rate changed, why it stopped.
      if (history.contains("val_loss")) {
        const std::vector<double> val = numbers_of(history["val_loss"]);
        size_t best = 0;
        for (size_t e = 1; e < val.size(); ++e)
          if (val[e] < val[best]) best = e;
        if (!val.empty()) options.markers.push_back({double(best + 1), "best val_loss"});
      }
      if (history.contains("learning_rate")) {
        const std::vector<double> rates = numbers_of(history["learning_rate"]);
        int changes = 0;
        for (size_t e = 1; e < rates.size() && changes < 6; ++e) {
          if (rates[e] == rates[e - 1] || !(rates[e - 1] > 0)) continue;
          options.markers.push_back({double(e + 1), "lr \xC3\x97" + number(rates[e] / rates[e - 1], 3)});
          ++changes;
        }
      }
      const std::string stop = string_at(run.report, "stop_reason");
      if (!stop.empty() && history.contains(name)) options.markers.push_back({double(history[name].size()), "stopped"});
    }
    if (!series.empty()) page.figure(line_chart(series, bounded(page, options)));
  }
}

}  // namespace citadel::report::detail
