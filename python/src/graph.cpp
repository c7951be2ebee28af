// What citadel.keras's Functional models read of a native model: its inputs' and outputs'
// names and shapes, per-layer parameter counts, the file metadata a loaded model carried;
// and the output shape of one layer call, which Python asks for when a layer is called on
// symbolic tensors (the library builds the call, so its shape checks and messages apply).
#include <pybind11/stl.h>

#include <nlohmann/json.hpp>

#include <citadel/core/error.hpp>
#include <citadel/model/model_config.hpp>

#include "bindings.hpp"
#include "model_handle.hpp"

namespace citadel::python {
namespace {

std::vector<std::vector<int64_t>> dims_of(const std::vector<Shape>& shapes) {
  std::vector<std::vector<int64_t>> dims;
  for (const Shape& shape : shapes) dims.push_back(shape.dims());
  return dims;
}

// The output shapes (without the batch axis) of `layer` (a Keras layer config: class_name
// and config) called on inputs of `input_shapes`: a one-call Functional config read by
// model_from_config, so an invalid setting or a merge of mismatched shapes is the
// library's error, naming the layer as `where`. `trailing`: the call argument that takes the
// inputs after the first (a recurrent layer's initial_state), or empty; `outputs`: how many
// the call gives (a recurrent layer's return_state: the output and its states).
std::vector<std::vector<int64_t>> call_output_shapes(const std::string& layer_json,
                                                     const std::vector<std::vector<int64_t>>& input_shapes,
                                                     const std::string& where, const std::string& trailing,
                                                     int outputs) {
  using nlohmann::json;
  json layer = json::parse(layer_json);
  json layers = json::array(), args = json::array();
  for (size_t i = 0; i < input_shapes.size(); ++i) {
    const std::string name = "call-input-" + std::to_string(i);
    json batch_shape = json::array({nullptr});
    for (const int64_t dim : input_shapes[i]) batch_shape.push_back(dim);
    layers.push_back({{"class_name", "InputLayer"}, {"name", name}, {"config", {{"batch_shape", batch_shape}, {"name", name}}},
                      {"inbound_nodes", json::array()}});
    args.push_back({{"class_name", "__keras_tensor__"}, {"config", {{"keras_history", {name, 0, 0}}}}});
  }
  layer["name"] = "call";
  layer["config"]["name"] = "call";
  json kwargs = json::object();
  if (!trailing.empty() && args.size() > 1) {
    kwargs[trailing] = json(args.begin() + 1, args.end());
    args = json::array({args[0]});
  }
  layer["inbound_nodes"] =
      json::array({{{"args", json::array({args.size() == 1 ? args[0] : args})}, {"kwargs", kwargs}}});
  layers.push_back(layer);
  json inputs = json::array();
  for (size_t i = 0; i < input_shapes.size(); ++i) inputs.push_back({"call-input-" + std::to_string(i), 0, 0});
  json output_layers = json::array();
  for (int k = 0; k < outputs; ++k) output_layers.push_back(json::array({"call", 0, k}));
  const json config = {
      {"class_name", "Functional"},
      {"config", {{"name", "call"}, {"layers", layers}, {"input_layers", inputs}, {"output_layers", output_layers}}}};
  return dims_of(model_from_config(config.dump(), where).output_shapes());
}

}  // namespace

void register_graph(py::module_& module) {
  module.def("call_output_shapes", &call_output_shapes, py::arg("layer"), py::arg("input_shapes"), py::arg("where"),
             py::arg("trailing") = "", py::arg("outputs") = 1);
  auto cls = py::reinterpret_borrow<py::class_<Model>>(module.attr("Model"));
  cls.def_property_readonly("name", [](Model& self) { return self.sequential().name(); })
      .def_property_readonly("is_sequential", [](Model& self) { return self.sequential().is_sequential(); })
      .def_property_readonly("input_names", [](Model& self) { Lock lock(self.lock); return self.sequential().input_names(); })
      .def_property_readonly("output_names", [](Model& self) { Lock lock(self.lock); return self.sequential().output_names(); })
      // "float32", or "int32"/"int64" for token ids (an unbuilt Sequential chain: empty).
      .def_property_readonly("input_dtypes",
                             [](Model& self) {
                               Lock lock(self.lock);
                               const citadel::Model& model = self.sequential();
                               return model.built() || !model.is_sequential() ? model.input_dtypes()
                                                                              : std::vector<std::string>{};
                             })
      .def_property_readonly("input_shapes", [](Model& self) { Lock lock(self.lock); return dims_of(self.sequential().input_shapes()); })
      .def_property_readonly("output_shapes", [](Model& self) { Lock lock(self.lock); return dims_of(self.sequential().output_shapes()); })
      // Each layer call's output shape (without the batch axis), in the graph's order.
      .def("node_output_shapes",
           [](Model& self) {
             Lock lock(self.lock);
             const GraphInfo& graph = self.sequential().graph();
             std::vector<std::vector<int64_t>> shapes;
             for (const auto& node : graph.nodes) shapes.push_back(graph.tensors[size_t(node.output)].shape.dims());
             return shapes;
           })
      // The weights of the layers trainable now (a change counts here at once, in training from the next compile).
      .def("trainable_count", [](Model& self) { Lock lock(self.lock); return self.sequential().count_trainable_params(); })
      // Keras's layer.trainable = ...: applied by the next compile (or build), as Keras does.
      .def("set_layer_trainable",
           [](Model& self, const std::string& name, bool trainable) {
             Lock lock(self.lock);
             self.sequential().get_layer(name).set_trainable(trainable);
           })
      .def("layer_trainable", [](Model& self, const std::string& name) {
        Lock lock(self.lock);
        return self.sequential().get_layer(name).trainable();
      })
      // Per parameter (weight_names' order): a weight (false: state the layer updates itself,
      // such as BatchNormalization's moving statistics, never trainable).
      .def("weight_is_variable",
           [](Model& self) {
             Lock lock(self.lock);
             std::vector<bool> result;
             for (const ParameterInfo& info : self.sequential().parameters().parameters())
               result.push_back(info.trainable || info.frozen);
             return result;
           })
      // The records a loaded model file carried (empty for a model made here).
      .def_property_readonly("metadata", [](Model& self) { return self.saved.metadata; });
}

}  // namespace citadel::python
