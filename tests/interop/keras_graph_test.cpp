// Keras Functional models in and out: files written by tests/interop/keras_graph_files.py
// (h5py, in Keras 3's and Keras 2's layouts: residual blocks, two inputs and two outputs
// with a shared layer, every merge layer, a ResNet block with BatchNormalization, nested
// Sequential and Functional models, 10,000 layers deep, 2,000 wide) predict what a numpy
// evaluation of their own arrays computes; hostile graphs are refused naming the file and
// the layer, by the library and by `citadel import`, in bounded memory; Keras's order of a
// graph's layers (which numbers its weights) is the real Keras 3's; citadel's graphs go out
// as .keras and .weights.h5 files the importer reads back bit-identically.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "../../src/interop/keras_model_tree.hpp"
#include "../../src/interop/zip_archive.hpp"
#include "../cli/cli_runner.hpp"
#include "citadel/core/error.hpp"
#include "citadel/interop/keras_export.hpp"
#include "citadel/interop/keras_import.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/layers/merge.hpp"
#include "citadel/model/model_config.hpp"
#include "random_model_values.hpp"

namespace citadel {
namespace keras_graph_test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The generator runs once per test process, into a directory of its own, removed when the
// process ends (the files weigh tens of megabytes).
struct GeneratedFiles {
  fs::path dir = fs::temp_directory_path() / ("citadel_keras_graphs_" + std::to_string(::getpid()));
  GeneratedFiles() {
    const std::string command = std::string(CITADEL_PYTHON3) + " " + CITADEL_TEST_SOURCE_DIR +
                                "/interop/keras_graph_files.py " + dir.string();
    if (std::system(command.c_str()) != 0) throw std::runtime_error("keras_graph_files.py failed: " + command);
  }
  ~GeneratedFiles() {
    std::error_code ignored;
    fs::remove_all(dir, ignored);
  }
};

const fs::path& graph_files() {
  static const GeneratedFiles files;
  return files.dir;
}

json manifest() {
  std::ifstream file(graph_files() / "manifest.json");
  return json::parse(file);
}

json entry_of(const std::string& file) {
  const json files = manifest();  // kept: a range over a temporary's member would dangle
  for (const json& entry : files["graphs"])
    if (entry["file"] == file) return entry;
  throw std::runtime_error("no manifest entry for " + file);
}

KerasImportOptions options_for(const json& entry) {
  KerasImportOptions options;
  if (entry.contains("config")) options.config_path = (graph_files() / entry["config"].get<std::string>()).string();
  return options;
}

Tensor as_tensor(const json& rows, const Shape& row_shape) {
  std::vector<int64_t> dims{static_cast<int64_t>(rows.size())};
  for (int64_t d : row_shape.dims()) dims.push_back(d);
  Tensor x{Shape(dims)};
  int64_t at = 0;
  std::function<void(const json&)> fill = [&](const json& value) {
    if (value.is_array()) {
      for (const json& item : value) fill(item);
    } else {
      x[at++] = value.get<float>();
    }
  };
  fill(rows);
  EXPECT_EQ(at, x.numel());
  return x;
}

std::vector<Tensor> inputs_of(const json& entry, const Model& model) {
  std::vector<Tensor> inputs;
  const std::vector<Shape> shapes = model.input_shapes();
  EXPECT_EQ(entry["x"].size(), shapes.size());
  for (size_t i = 0; i < shapes.size(); ++i) inputs.push_back(as_tensor(entry["x"][i], shapes[i]));
  return inputs;
}

std::vector<ConstTensorView> views(const std::vector<Tensor>& tensors) { return {tensors.begin(), tensors.end()}; }

// The largest difference from the float64 reference, relative to the outputs' scale when
// it is over 1: float32 carries about 7 digits, so a sum of 2,000 terms in the thousands
// (wide_fan_out) can be off by 1e-2 however it is summed, and 1e-5 × its scale is the bar.
double worst_difference(const Tensor& y, const json& expected) {
  const std::vector<int64_t> dims = y.shape().dims();
  const Tensor wanted = as_tensor(expected, Shape(std::vector<int64_t>(dims.begin() + 1, dims.end())));
  EXPECT_EQ(wanted.shape(), y.shape());
  double worst = 0, scale = 1;
  for (int64_t i = 0; i < y.numel(); ++i) {
    worst = std::max(worst, std::abs(double(y[i]) - double(wanted[i])));
    scale = std::max(scale, std::abs(double(wanted[i])));
  }
  return worst / scale;
}

std::string error_of(const std::function<void()>& run) {
  try {
    run();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(KerasGraphImport, FunctionalFilesPredictWhatNumpyComputesFromTheirArrays) {
  const json graphs = manifest()["graphs"];
  ASSERT_GE(graphs.size(), 15u);
  for (const json& entry : graphs) {
    const std::string file = entry["file"];
    SCOPED_TRACE(file);
    Model model = load_keras_model((graph_files() / file).string(), options_for(entry));
    const std::vector<Tensor> x = inputs_of(entry, model);
    const std::vector<Tensor> y = model.predict(views(x));
    ASSERT_EQ(y.size(), entry["y"].size());
    for (size_t k = 0; k < y.size(); ++k) EXPECT_LE(worst_difference(y[k], entry["y"][k]), 1e-5) << "output " << k;
  }
}

TEST(KerasGraphImport, GraphsOfOneInputAndOneOutputBecomeModelFilesThatLoadAgain) {
  for (const std::string file : {"residual.keras", "residual.h5", "small_resnet.h5", "nested_sequential.keras",
                                 "wide_fan_out.keras"}) {
    SCOPED_TRACE(file);
    const json entry = entry_of(file);
    SavedModel saved = import_keras_model((graph_files() / file).string(), options_for(entry));
    const fs::path path = graph_files() / (file + ".safetensors");
    save_saved_model(saved.model, saved.metadata, path.string());
    SavedModel loaded = load_saved_model(path.string());
    const std::vector<Tensor> x = inputs_of(entry, loaded.model);
    EXPECT_LE(worst_difference(loaded.model.predict(x[0]), entry["y"][0]), 1e-5);
  }
  // A softmax output makes a classifier, as for Sequential models.
  SavedModel resnet = import_keras_model((graph_files() / "small_resnet.keras").string());
  EXPECT_TRUE(resnet.images);
  EXPECT_EQ(resnet.schema.classes, (std::vector<std::string>{"0", "1", "2"}));
}

TEST(KerasGraphImport, ModelsOfSeveralInputsOrOutputsAreReadAsModelsNotModelFiles) {
  const std::string file = (graph_files() / "two_inputs_two_outputs.keras").string();
  const std::string message = error_of([&] { import_keras_model(file); });
  EXPECT_NE(message.find("two_inputs_two_outputs.keras: the model has 2 inputs (a, b) and 2 outputs (cls, amount)"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("load_keras_model"), std::string::npos) << message;
  EXPECT_THROW(import_keras_model(file), NotImplementedError);
  const fs::path output = graph_files() / "two.safetensors";
  const testkit::CliResult run = testkit::run_cli("import " + file + " --output " + output.string());
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.err.find("the model has 2 inputs (a, b)"), std::string::npos) << run.err;
  EXPECT_FALSE(fs::exists(output));
}

TEST(KerasGraphImport, NestedModelsAreInlinedUnderTheirNamesAndShareWeightsAcrossCalls) {
  Model model = load_keras_model((graph_files() / "nested_sequential.keras").string());
  // The block (Dense 6→5, BatchNormalization(5), Dense 5→6) is called twice: its layers
  // are called twice, with one set of weights.
  EXPECT_EQ(model.size(), 5u);
  const Layer& inner = model.get_layer("block.dense_1");
  EXPECT_EQ(inner.type(), "Dense");
  EXPECT_EQ(model.get_layer("block.batch_normalization").type(), "BatchNormalization");
  int calls = 0;
  for (const GraphInfo::NodeInfo& node : model.graph().nodes) calls += model.layer(node.layer).name() == "block.dense_2";
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(model.count_params(), (6 * 5 + 5) + 4 * 5 + (5 * 6 + 6) + (6 + 1));
  Model functional = load_keras_model((graph_files() / "nested_functional.h5").string());
  EXPECT_EQ(functional.input_names(), (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(functional.get_layer("inner.dense_1").type(), "Dense");
}

TEST(KerasGraphImport, HostileGraphsAreRefusedNamingTheFileAndTheLayer) {
  const json hostile = manifest()["hostile"];
  ASSERT_GE(hostile.size(), 11u);
  for (const json& entry : hostile) {
    const std::string file = entry["file"], expected = entry["error"];
    SCOPED_TRACE(file);
    try {
      load_keras_model((graph_files() / file).string());
      ADD_FAILURE() << file << " was imported";
    } catch (const IoError& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find(expected), std::string::npos) << message;
      EXPECT_NE(message.find(file + ": config.json"), std::string::npos) << "the error names the file: " << message;
    } catch (const Error& e) {
      ADD_FAILURE() << "not an IoError: " << e.what();
    }
  }
}

TEST(KerasGraphImport, TheCliRefusesHostileGraphsInBoundedMemoryAndWritesNothing) {
  const json files = manifest();
  for (const json& entry : files["hostile"]) {
    const std::string file = entry["file"];
    SCOPED_TRACE(file);
    const fs::path output = graph_files() / (file + ".safetensors");
    const testkit::MeasuredResult run =
        testkit::run_cli_measured("import " + (graph_files() / file).string() + " --output " + output.string());
    EXPECT_NE(run.result.exit_code, 0);
    EXPECT_NE(run.result.err.find(entry["error"].get<std::string>()), std::string::npos) << run.result.err;
    EXPECT_FALSE(fs::exists(output));
    EXPECT_LT(run.peak_mb, CITADEL_TEST_PEAK_MB) << file;
  }
}

TEST(KerasGraphImport, TheDeepestAndWidestGraphsImportThroughTheCliInBoundedMemory) {
  // 10,000 layers in a chain (the limit) and one tensor read by 2,000 layers merged by one
  // Add: checked and built without recursion, in bounded memory.
  for (const std::string file : {"deep_chain.keras", "wide_fan_out.keras"}) {
    SCOPED_TRACE(file);
    const fs::path output = graph_files() / (file + ".cli.safetensors");
    const testkit::MeasuredResult run =
        testkit::run_cli_measured("import " + (graph_files() / file).string() + " --output " + output.string());
    EXPECT_EQ(run.result.exit_code, 0) << run.result.err;
    EXPECT_TRUE(fs::exists(output));
    EXPECT_LT(run.peak_mb, 2 * CITADEL_TEST_PEAK_MB) << file;
  }
}

// --- Keras's order of a graph's layers -------------------------------------------------

std::vector<std::string> keras_order(const Model& model) {
  std::vector<std::string> names;
  for (const detail::KerasLayerPlace& place : detail::keras_layer_places(model)) names.push_back(place.keras_name);
  return names;
}

TEST(KerasLayerOrder, IsTheOrderRealKeras3ListsTheLayersIn) {
  // Each graph as it was built in Keras 3.15.1 (JAX), and the model.layers it listed.
  {
    const SymbolicTensor a = Input({4}, {.name = "a"}), b = Input({4}, {.name = "b"});
    const SymbolicTensor added = Add().named("add")({a, Dense(4).named("dense")(a)});
    Dense shared(3);
    shared.named("shared");
    const SymbolicTensor left = shared(added), right = shared(b);
    const SymbolicTensor cls = Dense(2).named("cls")(Concatenate().named("concatenate")({left, right}));
    const SymbolicTensor amount = Dense(1).named("amount")(Multiply().named("multiply")({left, right}));
    const Model model({a, b}, {cls, amount});
    EXPECT_EQ(keras_order(model), (std::vector<std::string>{"a", "dense", "add", "b", "shared", "concatenate",
                                                            "multiply", "cls", "amount"}));
  }
  {  // a shared layer called at two depths, two outputs
    const SymbolicTensor x = Input({4}, {.name = "x"});
    const SymbolicTensor d1 = Dense(4).named("d1")(x);
    const SymbolicTensor d2 = Dense(4).named("d2")(d1);
    Dense s(4);
    s.named("s");
    const SymbolicTensor sum = Add().named("sum")({s(x), s(d2)});
    const Model model({x}, {Dense(2).named("out")(sum), Dense(1).named("side")(d1)});
    EXPECT_EQ(keras_order(model), (std::vector<std::string>{"x", "d1", "d2", "s", "sum", "out", "side"}));
  }
  // Three inputs used at different depths, listed in two orders.
  const SymbolicTensor a = Input({3}, {.name = "a"}), b = Input({3}, {.name = "b"}), c = Input({3}, {.name = "c"});
  const SymbolicTensor first = Dense(2).named("first")(a);
  const SymbolicTensor c2 = Dense(3).named("c2")(Dense(3).named("c1")(c));
  const SymbolicTensor second = Dense(1).named("second")(Add().named("plus")({Dense(3).named("b1")(b), c2}));
  EXPECT_EQ(keras_order(Model({a, b, c}, {first, second})),
            (std::vector<std::string>{"c", "b", "c1", "b1", "c2", "a", "plus", "first", "second"}));
  EXPECT_EQ(keras_order(Model({c, a, b}, {second, first})),
            (std::vector<std::string>{"c", "b", "c1", "b1", "c2", "plus", "a", "second", "first"}));
}

// --- citadel's graphs out ---------------------------------------------------------------

using testkit::random_inputs;
using testkit::randomize;

std::map<std::string, json> layers_by_name(const Model& model) {
  std::map<std::string, json> layers;
  const json config = json::parse(model_to_config(model));  // kept: a range over a temporary's member would dangle
  for (const json& layer : config["config"]["layers"]) layers[layer["name"]] = layer;
  return layers;
}

std::map<std::string, std::vector<float>> weights_by_name(const Model& model) {
  std::map<std::string, std::vector<float>> weights;
  const ParameterStore& store = model.parameters();
  for (size_t i = 0; i < store.parameters().size(); ++i) {
    ConstTensorView values = store.value(static_cast<int>(i));
    weights[store.parameters()[i].name] = std::vector<float>(values.data(), values.data() + values.numel());
  }
  return weights;
}

// Two inputs, a shared layer, a residual add, every merge, two outputs.
Model exported_graph() {
  const SymbolicTensor a = Input({4}, {.name = "a"}), b = Input({4}, {.name = "b"});
  const SymbolicTensor h = Add()({a, Dense(4, {.activation = "relu"})(a)});
  Dense shared(4, {.activation = "tanh"});
  shared.named("shared");
  const SymbolicTensor left = shared(h), right = shared(b);
  const SymbolicTensor merged = Concatenate()({Subtract()({left, right}), Multiply()({left, right}),
                                               Average()({left, right, h}), Maximum()({left, right}),
                                               Minimum()({left, right}), Dot({.axes = {1, 1}})({left, right})});
  const SymbolicTensor cls = Dense(3, {.activation = "softmax"}).named("cls")(merged);
  const SymbolicTensor amount = Dense(1).named("amount")(Add()({left, right}));
  return Model({a, b}, {cls, amount}, {.name = "exported"});
}

TEST(KerasGraphExport, TheImporterReadsAnExportedGraphBackBitIdentically) {
  Model model = exported_graph();
  randomize(model, 3);
  const std::string bytes = keras_file_bytes(model);
  Model back = load_keras_model_bytes(bytes, "exported.keras");
  // The same layers and calls (listed in Keras's order, which need not be citadel's) and
  // the same weights, bit for bit.
  EXPECT_EQ(layers_by_name(back), layers_by_name(model));
  EXPECT_EQ(weights_by_name(back), weights_by_name(model));
  const std::vector<Tensor> x = random_inputs(model, 6, 4);
  const std::vector<Tensor> y = model.predict(views(x)), z = back.predict(views(x));
  ASSERT_EQ(y.size(), 2u);
  for (size_t k = 0; k < y.size(); ++k)
    EXPECT_EQ(std::memcmp(y[k].data(), z[k].data(), size_t(y[k].numel()) * sizeof(float)), 0);
  // config.json is a Functional model's, its layers (InputLayers too) listed in the order
  // Keras numbers their weights in, each call of the shared layer an inbound node.
  detail::ZipReader archive(bytes, "exported.keras", {});
  const json config = json::parse(archive.read("config.json", 1 << 20));
  EXPECT_EQ(config["class_name"], "Functional");
  EXPECT_EQ(config["module"], "keras.src.models.functional");
  std::vector<std::string> listed;
  for (const json& layer : config["config"]["layers"]) {
    listed.push_back(layer["name"]);
    if (layer["name"] == "shared") {
      EXPECT_EQ(layer["inbound_nodes"].size(), 2u);
    }
  }
  EXPECT_EQ(listed, keras_order(model));
  EXPECT_EQ(listed.front(), "a");
  EXPECT_EQ(config["config"]["output_layers"], json::parse(R"([["cls", 0, 0], ["amount", 0, 0]])"));
}

TEST(KerasGraphExport, AGraphsWeightsFileLoadsIntoTheSameArchitectureAndNoOther) {
  Model model = exported_graph(), twin = exported_graph();
  randomize(model, 5);
  randomize(twin, 6);
  const fs::path path = fs::temp_directory_path() / ("citadel_graph_" + std::to_string(::getpid()) + ".weights.h5");
  save_keras_weights(model, path.string());
  load_keras_weights(twin, path.string());
  const auto& a = model.parameters().values();
  const auto& b = twin.parameters().values();
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0);
  // A graph of other layers keeps its weights.
  const SymbolicTensor x = Input({4}, {.name = "a"});
  Model other(x, Dense(2)(Dense(4)(x)));
  const std::vector<float> before(other.parameters().values().begin(), other.parameters().values().end());
  EXPECT_THROW(load_keras_weights(other, path.string()), IoError);
  EXPECT_TRUE(std::equal(before.begin(), before.end(), other.parameters().values().begin()));
  fs::remove(path);
}

TEST(KerasGraphExport, AnImportedNestedModelGoesOutFlatAndComesBackTheSame) {
  Model model = load_keras_model((graph_files() / "nested_sequential.h5").string());
  Model back = load_keras_model_bytes(keras_file_bytes(model), "flat.keras");
  const json entry = entry_of("nested_sequential.h5");
  const std::vector<Tensor> x = inputs_of(entry, back);
  EXPECT_LE(worst_difference(back.predict(x[0]), entry["y"][0]), 1e-5);
  EXPECT_EQ(back.get_layer("block.dense_2").type(), "Dense");
}

}  // namespace
}  // namespace keras_graph_test
}  // namespace citadel
