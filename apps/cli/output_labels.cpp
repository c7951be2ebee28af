// Parsing and checking --label, --loss and --loss-weights into a LabelPlan.
#include "output_labels.hpp"

#include <algorithm>
#include <cmath>

#include "citadel/core/error.hpp"
#include "citadel/data/csv.hpp"

namespace citadel::cli {
namespace {

// "OUTPUT=VALUE" split at its first '='; false when there is none.
bool split_pair(const std::string& text, std::string& name, std::string& value) {
  const size_t equals = text.find('=');
  if (equals == std::string::npos) return false;
  name = text.substr(0, equals);
  value = text.substr(equals + 1);
  return true;
}

std::string quoted_outputs(const std::vector<OutputLabel>& outputs) {
  std::string names;
  for (const auto& output : outputs) names += (names.empty() ? "'" : ", '") + output.output + "'";
  return names;
}

OutputLabel* find_output(std::vector<OutputLabel>& outputs, const std::string& name) {
  const auto found =
      std::find_if(outputs.begin(), outputs.end(), [&](const OutputLabel& output) { return output.output == name; });
  return found == outputs.end() ? nullptr : &*found;
}

}  // namespace

LabelPlan label_plan(const DataFlags& data, const ModelFlags& model) {
  LabelPlan plan;
  std::vector<std::string> plain;
  for (const std::string& given : data.labels) {
    std::string output, column;
    if (!split_pair(given, output, column)) {
      plain.push_back(given);
      continue;
    }
    CITADEL_CHECK(!output.empty() && !column.empty(), ValueError, "--label '", given,
                  "': write OUTPUT=COLUMN, the model's output layer and the CSV column it learns");
    CITADEL_CHECK(!find_output(plan.outputs, output), ValueError, "--label: the output '", output,
                  "' is given two label columns; give each output one");
    for (const OutputLabel& other : plan.outputs)
      CITADEL_CHECK(other.column != column, ValueError, "--label: the column '", column, "' is given to both '",
                    other.output, "' and '", output, "'; each output learns a column of its own");
    plan.outputs.push_back({output, column, ""});
  }
  CITADEL_CHECK(plain.empty() || plan.outputs.empty(), ValueError, "--label ", plain.front(), ": give either one label "
                "column (--label COLUMN, a model of one output) or one per output (--label OUTPUT=COLUMN), not both");
  CITADEL_CHECK(plain.size() <= 1, ValueError, "--label is given ", plain.size(), " columns ('", plain[0], "', '",
                plain[1], "'); a model of several outputs takes --label OUTPUT=COLUMN for each");
  if (!plain.empty()) plan.column = plain.front();

  std::vector<std::string> every;  // --loss without OUTPUT=
  for (const std::string& given : model.losses) {
    std::string output, loss;
    if (!split_pair(given, output, loss)) {
      every.push_back(given);
      continue;
    }
    CITADEL_CHECK(plan.several(), ValueError, "--loss ", given, ": a loss per output is for a model of several "
                  "outputs, given with --label OUTPUT=COLUMN for each");
    OutputLabel* target = find_output(plan.outputs, output);
    CITADEL_CHECK(target, ValueError, "--loss ", given, ": no --label names the output '", output,
                  "' (the outputs with labels: ", quoted_outputs(plan.outputs), ")");
    CITADEL_CHECK(!loss.empty(), ValueError, "--loss ", given, ": name the loss after '='");
    CITADEL_CHECK(target->loss.empty(), ValueError, "--loss: the output '", output, "' is given two losses");
    target->loss = loss;
  }
  CITADEL_CHECK(every.size() <= 1, ValueError, "--loss is given ", every.size(), " times ('", every[0], "', '",
                every[1], "'); for a loss per output write --loss OUTPUT=LOSS");
  if (!every.empty()) plan.loss = every.front();

  for (const std::string& given : model.loss_weights) {
    std::string output, text;
    CITADEL_CHECK(plan.several() && split_pair(given, output, text), ValueError, "--loss-weights '", given,
                  "': write OUTPUT=WEIGHT for outputs given with --label OUTPUT=COLUMN");
    CITADEL_CHECK(find_output(plan.outputs, output), ValueError, "--loss-weights ", given,
                  ": no --label names the output '", output, "' (the outputs with labels: ",
                  quoted_outputs(plan.outputs), ")");
    const auto weight = parse_number(text);
    CITADEL_CHECK(weight && std::isfinite(*weight) && *weight >= 0, ValueError, "--loss-weights ", given, ": '", text,
                  "' is not a number >= 0");
    CITADEL_CHECK(!plan.loss_weights.count(output), ValueError, "--loss-weights: the output '", output,
                  "' is given two weights");
    plan.loss_weights[output] = *weight;
  }
  return plan;
}

}  // namespace citadel::cli
