// citadel._citadel.Model: a Sequential model (with the data schema of a model trained by
// the CLI, when it was loaded from one) as citadel.keras.models.Sequential drives it.
// Computing releases the GIL; one lock per model keeps two Python threads from running
// fit and predict on it at once (a callback calling predict during fit re-enters it).
#include <pybind11/stl.h>

#include <iostream>
#include <map>
#include <mutex>
#include <optional>

#include <citadel/core/error.hpp>
#include <citadel/core/random.hpp>
#include <citadel/core/threads.hpp>
#include <citadel/data/csv.hpp>
#include <citadel/io/model_file.hpp>
#include <citadel/io/protected_file.hpp>
#include <citadel/io/saved_model.hpp>
#include <citadel/interop/sandbox_executable.hpp>
#include <citadel/io/signing.hpp>
#include <citadel/layers/layer_registry.hpp>
#include <citadel/model/model_config.hpp>
#include <citadel/model/sequential.hpp>
#include <citadel/ops/precision.hpp>
#include <citadel/privacy/private_fit.hpp>
#include <citadel/version.hpp>

#include "bindings.hpp"
#include "callbacks.hpp"
#include "model_handle.hpp"

namespace citadel::python {
namespace {



float number(const py::dict& config, const char* key, float fallback) {
  return config.contains(key) && !config[key].is_none() ? py::cast<float>(config[key]) : fallback;
}
bool flag(const py::dict& config, const char* key, bool fallback) {
  return config.contains(key) ? py::cast<bool>(config[key]) : fallback;
}

// An optimizer as a Keras identifier or as {"class_name": ..., "config": {...}} with
// Keras's argument names (citadel.keras.optimizers writes the latter).
OptimizerSpec optimizer_spec(const py::object& spec) {
  if (py::isinstance<py::str>(spec)) return OptimizerSpec(py::cast<std::string>(spec));
  const py::dict object = py::cast<py::dict>(spec);
  const std::string name = py::cast<std::string>(object["class_name"]);
  const py::dict c = py::cast<py::dict>(object["config"]);
  auto clip = [&](auto settings) {
    settings.clipnorm = number(c, "clipnorm", 0.0f);
    settings.global_clipnorm = number(c, "global_clipnorm", 0.0f);
    settings.clipvalue = number(c, "clipvalue", 0.0f);
    return settings;
  };
  if (name == "SGD")
    return clip(SGD{number(c, "learning_rate", 0.01f), number(c, "momentum", 0.0f), flag(c, "nesterov", false)});
  if (name == "Adam")
    return clip(Adam{number(c, "learning_rate", 0.001f), number(c, "beta_1", 0.9f), number(c, "beta_2", 0.999f),
                     number(c, "epsilon", 1e-7f)});
  if (name == "AdamW")
    return clip(AdamW{number(c, "learning_rate", 0.001f), number(c, "weight_decay", 0.004f),
                      number(c, "beta_1", 0.9f), number(c, "beta_2", 0.999f), number(c, "epsilon", 1e-7f)});
  if (name == "RMSprop")
    return clip(RMSprop{number(c, "learning_rate", 0.001f), number(c, "rho", 0.9f), number(c, "momentum", 0.0f),
                        number(c, "epsilon", 1e-7f), flag(c, "centered", false)});
  if (name == "Adagrad")
    return clip(Adagrad{number(c, "learning_rate", 0.001f), number(c, "initial_accumulator_value", 0.1f),
                        number(c, "epsilon", 1e-7f)});
  throw ValueError("compile: unknown optimizer '" + name + "'; known: SGD, Adam, AdamW, RMSprop, Adagrad");
}

LossSpec loss_spec(const py::object& spec) {
  if (py::isinstance<py::str>(spec)) return LossSpec(py::cast<std::string>(spec));
  const py::dict object = py::cast<py::dict>(spec);
  const std::string name = py::cast<std::string>(object["class_name"]);
  const py::dict c = py::cast<py::dict>(object["config"]);
  if (name == "MeanSquaredError") return MeanSquaredError{};
  if (name == "MeanAbsoluteError") return MeanAbsoluteError{};
  if (name == "Huber") return Huber{number(c, "delta", 1.0f)};
  if (name == "BinaryCrossentropy") return BinaryCrossentropy{flag(c, "from_logits", false)};
  if (name == "CategoricalCrossentropy") return CategoricalCrossentropy{flag(c, "from_logits", false)};
  if (name == "SparseCategoricalCrossentropy") return SparseCategoricalCrossentropy{flag(c, "from_logits", false)};
  throw ValueError("compile: unknown loss '" + name + "'");
}

// DP-SGD settings from citadel.privacy.DPSGD (its get_config()).
std::optional<DPSGDOptions> private_training(const py::object& dp) {
  if (dp.is_none()) return std::nullopt;
  const py::dict c = py::cast<py::dict>(dp);
  DPSGDOptions settings;
  settings.l2_norm_clip = number(c, "l2_norm_clip", 1.0f);
  settings.noise_multiplier = py::cast<double>(c["noise_multiplier"]);
  if (c.contains("target_epsilon") && !c["target_epsilon"].is_none())
    settings.target_epsilon = py::cast<double>(c["target_epsilon"]);
  settings.delta = py::cast<double>(c["delta"]);
  settings.poisson_sampling = flag(c, "poisson_sampling", true);
  settings.reproducible = flag(c, "reproducible", false);
  settings.record_training_metrics = flag(c, "record_training_metrics", true);
  return settings;
}

py::tuple history_tuple(const History& history) {
  py::dict values;
  for (const auto& [key, list] : history.history) values[py::str(key)] = py::cast(list);
  return py::make_tuple(py::cast(history.epoch), values, history.stop_reason);
}

// One view per array; `argument` names them in errors (x[0], x[1], ...).
std::vector<ConstTensorView> views_of(const std::vector<FloatArray>& arrays, const std::string& argument) {
  std::vector<ConstTensorView> views;
  for (size_t i = 0; i < arrays.size(); ++i) {
    const std::string name = arrays.size() == 1 ? argument : argument + "[" + std::to_string(i) + "]";
    views.push_back(view_of(arrays[i], name.c_str()));
  }
  return views;
}

py::list numpy_list(std::vector<Tensor> tensors) {
  py::list arrays;
  for (Tensor& tensor : tensors) arrays.append(to_numpy(std::move(tensor)));
  return arrays;
}

// DP-SGD as fit_private runs it, for any number of inputs and outputs: a validation split
// of several arrays is not offered (fit_private splits one x by a hash of its rows).
History fit_private_graph(citadel::Model& model, const std::vector<ConstTensorView>& x,
                          const std::vector<ConstTensorView>& y, FitOptions options, const DPSGDOptions& dp) {
  if (x.size() == 1 && y.size() == 1) return fit_private(model, x[0], y[0], options, dp);
  CITADEL_CHECK(options.validation_data || options.validation_split == 0, ValueError,
                "fit: validation_split with dp= on a model of several inputs or outputs is not supported; give "
                "validation_data");
  CITADEL_CHECK(!x.empty() && x[0].rank() >= 1 && x[0].shape(0) > 0, ValueError, "fit: no data");
  const PrivateTrainingPlan plan = plan_private_training(x[0].shape(0), options.batch_size, options.epochs, dp);
  options.private_training = PrivateTraining{.l2_norm_clip = dp.l2_norm_clip,
                                             .noise_multiplier = static_cast<float>(plan.noise_multiplier),
                                             .poisson_sampling = dp.poisson_sampling,
                                             .reproducible = dp.reproducible,
                                             .record_training_metrics = dp.record_training_metrics};
  options.callbacks.insert(options.callbacks.begin(),
                           PrivacyAccountant(plan.sampling_rate, plan.noise_multiplier, plan.steps_per_epoch, dp.delta));
  return model.fit(x, y, options);
}

ModelAccess access_for(const std::string& public_key, const std::string& key_file, const std::string& passphrase) {
  return ModelAccess{public_key, encryption_key(key_file, passphrase)};
}

// Rows given as CSV text (with a header) or as a list of {column: value} dicts (holding
// the label column too when `with_label`).
CsvTable table_of(const py::object& rows, const DataSchema& schema, bool with_label = false) {
  if (py::isinstance<py::str>(rows)) return parse_csv(py::cast<std::string>(rows), "rows");
  CsvTable table;
  table.source = "rows";
  table.had_header = true;
  table.columns = schema.input_columns;
  if (with_label) table.columns.push_back(schema.label);
  for (size_t c = 0; c < table.columns.size(); ++c) table.column_by_name.emplace(table.columns[c], int64_t(c));
  int64_t index = 0;
  for (const py::handle& row : rows) {
    CITADEL_CHECK(py::isinstance<py::dict>(row), ValueError, "rows[", index, "]: expected a dict of column values");
    const py::dict cells = py::reinterpret_borrow<py::dict>(row);
    for (const std::string& column : table.columns) {
      CITADEL_CHECK(cells.contains(column), ValueError, "rows[", index, "]: no value for column '", column, "'");
      const py::handle value = cells[py::str(column)];
      table.cells.push_back(value.is_none() ? std::string() : py::cast<std::string>(py::str(value)));
    }
    table.lines.push_back(index + 1);
    ++index;
  }
  table.rows = index;
  return table;
}

// missing= of predict_rows / encode_rows, as the CLI's --missing; "" (None in Python): the
// policy the model's training rows had.
std::optional<MissingValues> missing_values(const std::string& name) {
  if (name.empty()) return std::nullopt;
  if (name == "error") return MissingValues::kError;
  if (name == "drop") return MissingValues::kDrop;
  CITADEL_CHECK(name == "mean", ValueError, "missing: expected 'error', 'drop' or 'mean', got '", name, "'");
  return MissingValues::kMean;
}

std::unique_ptr<Model> load(const std::string& path, const std::string& public_key, const std::string& key_file,
                            const std::string& passphrase) {
  auto model = std::make_unique<Model>();
  std::string bytes = read_protected_file(path, access_for(public_key, key_file, passphrase), kPurposeModel);
  try {
    LoadedModel loaded = load_model_from_bytes(bytes, path);
    model->has_schema = loaded.metadata.count("schema") > 0;
    if (model->has_schema) {
      model->saved = saved_model_from(std::move(loaded), path);
    } else {
      model->saved.model = std::move(loaded.model);
      model->saved.metadata = std::move(loaded.metadata);
    }
  } catch (...) {
    wipe_bytes(bytes);
    throw;
  }
  wipe_bytes(bytes);
  return model;
}

}  // namespace

void register_model(py::module_& module) {
  module.attr("__version__") = kVersion;
  module.def("set_seed", [](uint64_t seed) { random::set_seed(seed); }, py::arg("seed"));
  module.def("num_threads", &num_threads);
  module.def("set_num_threads", &set_num_threads, py::arg("threads"));
  module.def("set_sandbox_executable", &set_sandbox_executable, py::arg("path"));
  module.def("layer_types", &registered_layer_types);

  py::class_<Model>(module, "Model")
      .def_static(
          "from_config",
          [](const std::string& json, const std::string& name) {
            auto model = std::make_unique<Model>();
            model->saved.model = model_from_config(json, name);
            return model;
          },
          py::arg("json"), py::arg("name"))
      .def_static("load", &load, py::arg("path"), py::arg("public_key") = "", py::arg("key_file") = "",
                  py::arg("passphrase") = "")
      .def("to_config", [](Model& self) { Lock lock(self.lock); return model_to_config(self.sequential()); })
      .def("compile",
           [](Model& self, const py::object& loss, const py::object& optimizer, const std::vector<std::string>& metrics,
              const std::string& precision, const py::dict& losses, const std::map<std::string, double>& loss_weights,
              const std::map<std::string, std::vector<std::string>>& output_metrics) {
             CompileOptions options{.loss = loss.is_none() ? LossSpec() : loss_spec(loss),
                                    .optimizer = optimizer_spec(optimizer),
                                    .metrics = metrics,
                                    .loss_weights = loss_weights,
                                    .output_metrics = output_metrics,
                                    .precision = precision};
             // A model of several outputs: Keras's dict forms, keyed by the output layers' names.
             for (const auto& [output, spec] : losses)
               options.losses.emplace(py::cast<std::string>(output), loss_spec(py::reinterpret_borrow<py::object>(spec)));
             Lock lock(self.lock);
             self.sequential().compile(options);
           },
           py::arg("loss"), py::arg("optimizer"), py::arg("metrics"), py::arg("precision") = "float32",
           py::arg("losses") = py::dict(), py::arg("loss_weights") = std::map<std::string, double>{},
           py::arg("output_metrics") = std::map<std::string, std::vector<std::string>>{})
      .def("set_precision",
           [](Model& self, const std::string& name) {
             Lock lock(self.lock);
             self.sequential().set_precision(name);
           })
      .def_property_readonly("precision",
                             [](Model& self) { return std::string(ops::precision_name(self.sequential().precision())); })
      .def_property_readonly("precision_warning", [](Model& self) { return self.sequential().precision_warning(); })
      .def_property_readonly("compiled", [](Model& self) { return self.sequential().compiled(); })
      .def("compile_settings",
           [](Model& self) {
             Lock lock(self.lock);
             const auto settings = self.sequential().compile_settings();
             py::dict result;
             result["loss"] = settings.loss;
             result["optimizer"] = settings.optimizer;
             result["learning_rate"] = settings.learning_rate;
             result["metrics"] = settings.metrics;
             return result;
           })
      .def("build",
           [](Model& self, const std::vector<int64_t>& shape) {
             Lock lock(self.lock);
             self.sequential().build(Shape(shape));
           })
      .def_property_readonly("built", [](Model& self) { return self.sequential().built(); })
      .def(
          "fit",
          [](Model& self, const std::vector<FloatArray>& x, const std::vector<FloatArray>& y, int epochs,
             int64_t batch_size, int verbose, double validation_split, const std::optional<std::vector<FloatArray>>& validation_x,
             const std::optional<std::vector<FloatArray>>& validation_y, bool shuffle, const py::list& callbacks,
             const py::object& owner, std::optional<uint64_t> seed, const py::object& dp) {
            FitOptions options;
            options.epochs = epochs;
            options.batch_size = batch_size;
            options.verbose = verbose;
            options.validation_split = validation_split;
            if (validation_x && validation_y)
              options.validation_data = ValidationData{views_of(*validation_x, "validation_data x"),
                                                       views_of(*validation_y, "validation_data y")};
            options.shuffle = shuffle;
            options.seed = seed;
            const std::optional<DPSGDOptions> privacy = private_training(dp);
            FitCallbacks held = fit_callbacks(callbacks, owner);
            options.callbacks = held.refs;
            const std::vector<ConstTensorView> xs = views_of(x, "x"), ys = views_of(y, "y");
            History history;
            {
              py::gil_scoped_release released;
              Lock lock(self.lock);
              try {
                history = privacy ? fit_private_graph(self.sequential(), xs, ys, options, *privacy)
                                  : self.sequential().fit(xs, ys, options);
              } catch (...) {
                std::cout.flush();
                throw;
              }
              std::cout.flush();
            }
            return history_tuple(history);
          },
          py::arg("x"), py::arg("y"), py::arg("epochs"), py::arg("batch_size"), py::arg("verbose"),
          py::arg("validation_split"), py::arg("validation_x"), py::arg("validation_y"), py::arg("shuffle"),
          py::arg("callbacks"), py::arg("owner"), py::arg("seed"), py::arg("dp"))
      .def("evaluate",
           [](Model& self, const std::vector<FloatArray>& x, const std::vector<FloatArray>& y, int64_t batch_size) {
             const std::vector<ConstTensorView> xs = views_of(x, "x"), ys = views_of(y, "y");
             py::gil_scoped_release released;
             Lock lock(self.lock);
             return self.sequential().evaluate(xs, ys, {batch_size});
           })
      .def("predict",
           [](Model& self, const std::vector<FloatArray>& x, int64_t batch_size) {
             const std::vector<ConstTensorView> xs = views_of(x, "x");
             std::vector<Tensor> results;
             {
               py::gil_scoped_release released;
               Lock lock(self.lock);
               results = self.sequential().predict(xs, {batch_size});
             }
             return numpy_list(std::move(results));
           })
      .def("predict_layer_outputs",
           [](Model& self, const std::vector<FloatArray>& x, const std::vector<std::string>& names, int64_t batch_size) {
             const std::vector<ConstTensorView> xs = views_of(x, "x");
             std::vector<Tensor> results;
             {
               py::gil_scoped_release released;
               Lock lock(self.lock);
               results = self.sequential().predict_layer_outputs(xs, names, {batch_size});
             }
             return numpy_list(std::move(results));
           })
      .def("train_on_batch",
           [](Model& self, const std::vector<FloatArray>& x, const std::vector<FloatArray>& y) {
             const std::vector<ConstTensorView> xs = views_of(x, "x"), ys = views_of(y, "y");
             py::gil_scoped_release released;
             Lock lock(self.lock);
             return self.sequential().train_on_batch(xs, ys);
           })
      .def("summary_text", [](Model& self) { Lock lock(self.lock); return self.sequential().summary_text(); })
      .def("mask_warnings", [](Model& self) { Lock lock(self.lock); return self.sequential().mask_warnings(); })
      .def("count_params", [](Model& self) { Lock lock(self.lock); return self.sequential().count_params(); })
      .def("get_weights",
           [](Model& self) {
             Lock lock(self.lock);
             py::list weights;
             for (Tensor& tensor : self.sequential().get_weights()) weights.append(to_numpy(std::move(tensor)));
             return weights;
           })
      .def("set_weights",
           [](Model& self, const std::vector<FloatArray>& arrays) {
             std::vector<Tensor> weights;
             for (size_t i = 0; i < arrays.size(); ++i)
               weights.push_back(Tensor::from(view_of(arrays[i], ("weights[" + std::to_string(i) + "]").c_str())));
             Lock lock(self.lock);
             self.sequential().set_weights(weights);
           })
      .def("weight_names",
           [](Model& self) {
             Lock lock(self.lock);
             std::vector<std::string> names;
             for (const ParameterInfo& info : self.sequential().parameters().parameters()) names.push_back(info.name);
             return names;
           })
      .def("layer_info",
           [](Model& self) {
             Lock lock(self.lock);
             citadel::Model& model = self.sequential();
             py::list layers;
             for (size_t i = 0; i < model.size(); ++i)
               layers.append(py::make_tuple(model.layer(i).name(), model.layer(i).type(),
                                            model.layer(i).parameter_count()));
             return layers;
           })
      .def_property_readonly("input_shape",
                             [](Model& self) {
                               Lock lock(self.lock);
                               citadel::Model& model = self.sequential();
                               if (model.built()) return model.input_shape().dims();
                               // Before building: what the first layer declares (input_dim, Input), if anything.
                               const auto declared = model.size() ? model.layer(0).declared_input_shape() : std::nullopt;
                               return declared ? declared->dims() : std::vector<int64_t>{};
                             })
      .def_property_readonly("output_shape", [](Model& self) { Lock lock(self.lock); return self.sequential().output_shape().dims(); })
      .def_property(
          "learning_rate", [](Model& self) { return self.sequential().optimizer().learning_rate(); },
          [](Model& self, float rate) { self.sequential().optimizer().set_learning_rate(rate); })
      .def("stop_training", [](Model& self, const std::string& reason) { self.sequential().stop_training(reason); })
      .def(
          "save",
          [](Model& self, const std::string& path, const std::string& secret_key, const std::string& key_file,
             const std::string& passphrase, const std::map<std::string, std::string>& records) {
            py::gil_scoped_release released;
            Lock lock(self.lock);
            Metadata extra;
            // A model trained by the CLI keeps its schema and preprocessing records, and the
            // version they need (a schema of several outputs is version 3).
            for (const char* record : {"schema", "preprocessing", "trained_on", "format_version"}) {
              const auto found = self.saved.metadata.find(record);
              if (found != self.saved.metadata.end()) extra[record] = found->second;
            }
            // What the Python package adds (the Keras compile settings of several outputs).
            for (const auto& [key, value] : records) extra[key] = value;
            ModelProtection protection;
            protection.secret_key = secret_key;
            protection.key = encryption_key(key_file, passphrase);
            write_protected_file(path, model_file_bytes(self.sequential(), extra), protection, kPurposeModel);
          },
          py::arg("path"), py::arg("secret_key") = "", py::arg("key_file") = "", py::arg("passphrase") = "",
          py::arg("records") = std::map<std::string, std::string>{})
      .def("save_weights", [](Model& self, const std::string& path) { Lock lock(self.lock); save_weights(self.sequential(), path); })
      .def("load_weights", [](Model& self, const std::string& path) { Lock lock(self.lock); load_weights(self.sequential(), path); })
      .def_property_readonly("has_schema", [](const Model& self) { return self.has_schema; })
      .def_property_readonly("input_columns", [](const Model& self) { return self.saved.schema.input_columns; })
      .def_property_readonly("class_names", [](const Model& self) { return self.saved.schema.classes; })
      .def("encode_rows",
           [](Model& self, const py::object& rows, bool labelled, const std::string& missing) {
             CITADEL_CHECK(self.has_schema, ValueError,
                           "encode_rows: this model has no data schema (only models trained by `citadel train` on a "
                           "CSV file have one)");
             CsvTable table = table_of(rows, self.saved.schema, labelled);
             const std::optional<MissingValues> policy = missing_values(missing);
             Dataset data = labelled ? self.saved.encode_labelled(table, policy) : self.saved.encode(table, policy);
             py::object y = labelled ? py::object(to_numpy(std::move(data.y))) : py::object(py::none());
             return py::make_tuple(to_numpy(std::move(data.x)), y);
           })
      .def("predict_rows", [](Model& self, const py::object& rows, int64_t batch_size, const std::string& missing) {
        CITADEL_CHECK(self.has_schema, ValueError,
                      "predict_rows: this model has no data schema (only models trained by `citadel train` on a "
                      "CSV file have one); use predict() with numbers");
        CsvTable table = table_of(rows, self.saved.schema);
        const std::optional<MissingValues> policy = missing_values(missing);
        RowPredictions predictions;
        {
          py::gil_scoped_release released;
          Lock lock(self.lock);
          predictions = self.saved.predict_rows(table, policy, batch_size);
        }
        py::dict result;
        if (self.saved.classification()) {
          result["labels"] = predictions.labels;
          result["class_names"] = predictions.class_names;
          result["probabilities"] = to_numpy(std::move(predictions.probabilities));
        } else {
          result["values"] = to_numpy(std::move(predictions.values));
        }
        return result;
      });
}

}  // namespace citadel::python
