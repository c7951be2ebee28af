// Keras and ONNX files for the Python package: load_model("model.keras"), save to .keras,
// and Sequential.export(format="onnx"), the same calls `citadel import` / `export` make.
#include <pybind11/stl.h>

#include <citadel/interop/keras_export.hpp>
#include <citadel/interop/keras_import.hpp>
#include <citadel/interop/onnx_export.hpp>

#include "bindings.hpp"
#include "model_handle.hpp"

namespace citadel::python {

void register_interop(py::module_& module) {
  module.def(
      "import_keras",
      [](const std::string& path, const std::string& config_path, const std::vector<std::string>& classes) {
        KerasImportOptions options;
        options.config_path = config_path;
        options.class_names = classes;
        auto model = std::make_unique<Model>();
        {
          py::gil_scoped_release release;
          model->saved = import_keras_model(path, options);
        }
        model->has_schema = true;
        return model;
      },
      py::arg("path"), py::arg("config_path") = "", py::arg("classes") = std::vector<std::string>{});
  // A Keras file of several inputs or outputs: a graph Model without the made-up schema
  // import_keras gives a one-input, one-output model (Python feeds arrays, not CSV rows).
  module.def(
      "load_keras_graph",
      [](const std::string& path) {
        auto model = std::make_unique<Model>();
        {
          py::gil_scoped_release release;
          model->saved.model = load_keras_model(path);
        }
        return model;
      },
      py::arg("path"));
  // A Keras config whose layers include models (a Python keras.Model called on tensors): its
  // nested models inlined, each layer named "<model>.<layer>", with the importer's checks.
  module.def(
      "keras_architecture",
      [](const std::string& config, const std::string& source) {
        auto model = std::make_unique<Model>();
        model->saved.model = keras_architecture(config, source);
        return model;
      },
      py::arg("config"), py::arg("source"));
  module.def(
      "export_keras",
      [](Model& model, const std::string& path) {
        ModelLock lock(model.lock);
        export_keras(model.sequential(), path);
      },
      py::arg("model"), py::arg("path"));
  module.def(
      "save_keras_weights",
      [](Model& model, const std::string& path) {
        ModelLock lock(model.lock);
        save_keras_weights(model.sequential(), path);
      },
      py::arg("model"), py::arg("path"));
  module.def(
      "load_keras_weights",
      [](Model& model, const std::string& path) {
        ModelLock lock(model.lock);
        load_keras_weights(model.sequential(), path);
      },
      py::arg("model"), py::arg("path"));
  module.def(
      "export_onnx",
      [](Model& model, const std::string& path, int opset, bool preprocessing) {
        ModelLock lock(model.lock);
        OnnxExportOptions options;
        options.opset = opset;
        // A model trained by the CLI reads raw columns through its saved preprocessing.
        if (preprocessing && model.has_schema && !model.saved.images)
          options.preprocessing = model.saved.preprocessor.describe();
        export_onnx(model.sequential(), path, options);
      },
      py::arg("model"), py::arg("path"), py::arg("opset") = 13, py::arg("preprocessing") = true);
}

}  // namespace citadel::python
