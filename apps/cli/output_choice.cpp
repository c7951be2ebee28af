// select_output: the chosen output's sub-graph from the model's own config, its weights
// copied by parameter name, and a one-label view of the saved data.
#include "output_choice.hpp"

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "citadel/core/error.hpp"
#include "citadel/model/model_config.hpp"

namespace citadel::cli {
namespace {

using nlohmann::json;

std::string quoted(const std::vector<std::string>& names) {
  std::string joined;
  for (const auto& name : names) joined += (joined.empty() ? "'" : ", '") + name + "'";
  return joined;
}

// The layer names a layer's inbound nodes refer to (Keras 3's keras_history entries).
void referenced_layers(const json& node, std::vector<std::string>& found) {
  if (node.is_object()) {
    if (node.contains("keras_history") && node["keras_history"].is_array() && !node["keras_history"].empty() &&
        node["keras_history"][0].is_string())
      found.push_back(node["keras_history"][0].get<std::string>());
    for (const auto& [key, value] : node.items()) referenced_layers(value, found);
  } else if (node.is_array()) {
    for (const json& item : node) referenced_layers(item, found);
  }
}

// The model's config reduced to the layers `output` depends on, with `output` its only
// output; ValueError (naming `flag`) when it does not read every input of the model.
std::string output_config(const Model& model, const std::string& output, const std::string& flag) {
  json config = json::parse(model_to_config(model));
  json& graph = config.at("config");
  std::map<std::string, const json*> by_name;
  for (const json& layer : graph.at("layers")) by_name[layer.at("name").get<std::string>()] = &layer;
  std::set<std::string> needed;
  std::vector<std::string> pending{output};
  while (!pending.empty()) {  // each layer once: O(layers + edges)
    const std::string name = pending.back();
    pending.pop_back();
    if (!needed.insert(name).second) continue;
    std::vector<std::string> inbound;
    referenced_layers(by_name.at(name)->at("inbound_nodes"), inbound);
    for (const auto& source : inbound) pending.push_back(source);
  }
  std::vector<std::string> unread;
  for (const json& input : graph.at("input_layers"))
    if (!needed.count(input.at(0).get<std::string>())) unread.push_back(input.at(0).get<std::string>());
  CITADEL_CHECK(unread.empty(), ValueError, flag, ": the output does not read the model's input(s) ", quoted(unread),
                ", which the command line does not feed apart");
  json layers = json::array();
  for (const json& layer : graph.at("layers"))
    if (needed.count(layer.at("name").get<std::string>())) layers.push_back(layer);
  graph["layers"] = layers;
  graph["output_layers"] = json::array({json::array({output, 0, 0})});
  return config.dump();
}

}  // namespace

SavedPipeline select_output(SavedPipeline saved, const std::string& output, const std::string& command) {
  PreparedData& data = saved.data;
  const std::vector<std::string> names = saved.model.output_names();
  if (!data.several_outputs()) {
    CITADEL_CHECK(output.empty() || output == names.front(), ValueError, command, " --output ", output,
                  ": the model has one output ('", names.front(), "')");
    return saved;
  }
  CITADEL_CHECK(!output.empty(), ValueError, command, ": ", data.source, " has ", names.size(), " outputs (",
                quoted(names), "); choose the one to ", command, " with --output NAME");
  const auto found = std::find(data.outputs.begin(), data.outputs.end(), output);
  CITADEL_CHECK(found != data.outputs.end(), ValueError, command, " --output ", output,
                ": the model has no output of that name; its outputs are ", quoted(names));
  const size_t label = static_cast<size_t>(found - data.outputs.begin());

  Model part = model_from_config(output_config(saved.model, output, command + " --output " + output),
                                 data.source + " (output '" + output + "')");
  part.build();
  // The same weights, by parameter name ("<layer>/<parameter>": layer names are unique).
  const ParameterStore& all = saved.model.parameters();
  std::map<std::string, int> ids;
  for (size_t i = 0; i < all.parameters().size(); ++i) ids[all.parameters()[i].name] = static_cast<int>(i);
  ParameterStore& params = part.parameters();
  for (size_t i = 0; i < params.parameters().size(); ++i) {
    const ConstTensorView source = all.value(ids.at(params.parameters()[i].name));
    TensorView target = params.value(static_cast<int>(i));
    std::memcpy(target.data(), source.data(), size_t(source.numel()) * sizeof(float));
  }
  const LabelSchema chosen = data.schema.label_schema(label);
  if (saved.model.compiled()) {
    const Model::CompileSettings settings = saved.model.compile_settings();
    std::unique_ptr<Optimizer> optimizer = make_optimizer(settings.optimizer);
    optimizer->set_learning_rate(settings.learning_rate);
    part.compile({.loss = data.losses[label], .optimizer = std::move(optimizer),
                  .metrics = chosen.type == LabelType::kClasses ? std::vector<std::string>{"accuracy"}
                                                                : std::vector<std::string>{"mae"}});
  }
  saved.model = std::move(part);
  // The data of one output: its label is the schema's label, its loss the loss.
  data.schema.label = chosen.name;
  data.schema.label_type = chosen.type;
  data.schema.classes = chosen.classes;
  data.schema.more_labels.clear();
  data.loss = data.losses[label];
  data.outputs.clear();
  data.losses.clear();
  data.loss_weights.clear();
  return saved;
}

}  // namespace citadel::cli
