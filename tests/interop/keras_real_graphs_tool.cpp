// citadel's side of tests/interop/keras_real_graphs_check: imports each real Keras 3
// Functional model (as .keras, legacy .h5, and .weights.h5 with its config), predicts,
// prints the largest difference from Keras's predictions, and exports the model as .keras
// and ONNX for Keras and ONNX Runtime to run (DIR/citadel.json: citadel's predictions).
// Exits 1 when a difference is over 1e-5 or a file is refused.
#include <cmath>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "citadel/interop/keras_export.hpp"
#include "citadel/interop/keras_import.hpp"
#include "citadel/interop/onnx_export.hpp"

namespace {

using citadel::Model;
using citadel::Shape;
using citadel::Tensor;
using nlohmann::json;
namespace fs = std::filesystem;

constexpr double kBar = 1e-5;

Tensor as_tensor(const json& rows, const Shape& row_shape) {
  std::vector<int64_t> dims{static_cast<int64_t>(rows.size())};
  for (int64_t d : row_shape.dims()) dims.push_back(d);
  Tensor x{Shape(dims)};
  int64_t at = 0;
  std::function<void(const json&)> fill = [&](const json& value) {
    if (!value.is_array()) {
      if (at >= x.numel()) throw std::runtime_error("more values than the shape " + x.shape().str());
      x[at++] = value.get<float>();
      return;
    }
    for (const json& item : value) fill(item);
  };
  fill(rows);
  if (at != x.numel()) throw std::runtime_error("fewer values than the shape " + x.shape().str());
  return x;
}

std::vector<Tensor> inputs_of(const json& entry, const Model& model) {
  const std::vector<Shape> shapes = model.input_shapes();
  if (entry["x"].size() != shapes.size()) throw std::runtime_error("the model's inputs are not Keras's");
  std::vector<Tensor> inputs;
  for (size_t i = 0; i < shapes.size(); ++i) inputs.push_back(as_tensor(entry["x"][i], shapes[i]));
  return inputs;
}

std::vector<Tensor> predict(Model& model, const std::vector<Tensor>& inputs) {
  return model.predict(std::vector<citadel::ConstTensorView>(inputs.begin(), inputs.end()));
}

double worst_difference(const std::vector<Tensor>& ys, const json& expected) {
  if (ys.size() != expected.size()) throw std::runtime_error("the model's outputs are not Keras's");
  double worst = 0;
  for (size_t k = 0; k < ys.size(); ++k) {
    const std::vector<int64_t> dims = ys[k].shape().dims();
    const Tensor wanted = as_tensor(expected[k], Shape(std::vector<int64_t>(dims.begin() + 1, dims.end())));
    for (int64_t i = 0; i < ys[k].numel(); ++i)
      worst = std::max(worst, std::abs(double(ys[k][i]) - double(wanted[i])));
  }
  return worst;
}

json as_json(const Tensor& y) {
  const int64_t rows = y.shape().dims()[0], width = y.numel() / rows;
  json out = json::array();
  for (int64_t r = 0; r < rows; ++r) out.push_back(std::vector<float>(y.data() + r * width, y.data() + (r + 1) * width));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR (written by keras_real_graphs.py write DIR)\n", argv[0]);
    return 2;
  }
  const fs::path dir = argv[1];
  std::ifstream manifest_file(dir / "manifest.json");
  const json manifest = json::parse(manifest_file);
  json ours = json::object();
  double worst = 0;
  bool failed = false;
  std::printf("%-14s %14s %12s %19s\n", "model", "keras→citadel", "h5→citadel", "weights.h5→citadel");
  for (const json& entry : manifest["models"]) {
    const std::string name = entry["name"];
    try {
      Model model = citadel::load_keras_model((dir / (name + ".keras")).string());
      const std::vector<Tensor> x = inputs_of(entry, model);
      if (entry.contains("dtypes") && json(model.input_dtypes()) != entry["dtypes"])
        throw std::runtime_error("input dtypes " + json(model.input_dtypes()).dump() + ", Keras's " +
                                 entry["dtypes"].dump());
      const std::vector<Tensor> y = predict(model, x);
      Model legacy = citadel::load_keras_model((dir / (name + ".h5")).string());
      citadel::KerasImportOptions with_config;
      with_config.config_path = (dir / (name + ".json")).string();
      Model rebuilt = citadel::load_keras_model((dir / (name + ".weights.h5")).string(), with_config);
      const double row[3] = {worst_difference(y, entry["y"]), worst_difference(predict(legacy, x), entry["y"]),
                             worst_difference(predict(rebuilt, x), entry["y"])};
      std::printf("%-14s %14.2e %12.2e %19.2e\n", name.c_str(), row[0], row[1], row[2]);
      for (double d : row) worst = std::max(worst, d);
      citadel::export_keras(model, (dir / (name + ".citadel.keras")).string());
      if (entry.value("onnx", true)) citadel::export_onnx(model, (dir / (name + ".citadel.onnx")).string());
      json outputs = json::array();
      for (const Tensor& output : y) outputs.push_back(as_json(output));
      ours[name] = outputs;
    } catch (const std::exception& e) {
      std::printf("%-14s refused: %s\n", name.c_str(), e.what());
      failed = true;
    }
  }
  std::ofstream(dir / "citadel.json") << ours.dump();
  std::printf("largest difference from Keras %s: %.2e (the bar: %g)\n",
              manifest.value("keras", std::string("?")).c_str(), worst, kBar);
  return failed || worst > kBar ? 1 : 0;
}
