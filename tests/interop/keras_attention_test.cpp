// MultiHeadAttention in Keras 3 files: the export writes Keras's call (mha(query, value,
// key=..., use_causal_mask=...)), build_config and weight groups (query_dense/vars, ...), and
// the importer reads them back bit for bit; the call arguments citadel cannot honour are
// refused naming the file, the layer and the argument. (Real Keras's files, both ways:
// tests/interop/keras_real_graphs.py, model "attention".)
#include <gtest/gtest.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "../../src/interop/hdf5_image.hpp"
#include "../../src/interop/zip_archive.hpp"
#include "citadel/core/error.hpp"
#include "citadel/interop/keras_export.hpp"
#include "citadel/interop/keras_import.hpp"
#include "citadel/layers/masking.hpp"
#include "citadel/layers/merge.hpp"
#include "citadel/layers/multi_head_attention.hpp"
#include "citadel/layers/symbolic_tensor.hpp"
#include "citadel/model/model.hpp"
#include "random_model_values.hpp"

namespace keras_attention_test {

using namespace citadel;
using nlohmann::json;

namespace {

Model attention_model() {
  const SymbolicTensor x = Input({6, 4}, {.name = "frames"}), memory = Input({5, 3}, {.name = "memory"}),
                       keys = Input({5, 2}, {.name = "keys"});
  const SymbolicTensor m = Masking(0.0f)(x);
  const SymbolicTensor h =
      MultiHeadAttention(2, 3, {.use_causal_mask = true}).named("self_attention")({m, m});
  const SymbolicTensor c = MultiHeadAttention(2, 4, {.value_dim = 2, .output_shape = 5})
                               .named("cross_attention")({Add()({m, h}), memory, keys});
  Model model({x, memory, keys}, {c}, {.name = "attention"});
  testkit::randomize(model, 5);
  return model;
}

std::vector<ConstTensorView> views(const std::vector<Tensor>& tensors) { return {tensors.begin(), tensors.end()}; }

const json& layer_named(const json& config, const std::string& name) {
  for (const json& layer : config["config"]["layers"])
    if (layer["name"] == name) return layer;
  throw std::runtime_error("no layer " + name);
}

std::string error_of(const std::string& config_text) {
  try {
    keras_architecture(config_text, "hand.json");
  } catch (const NotImplementedError& e) {
    return std::string("NotImplementedError: ") + e.what();
  } catch (const std::exception& e) {
    return std::string("other: ") + e.what();
  }
  return "no error";
}

}  // namespace

TEST(KerasAttention, AnExportedModelIsKerasCallFormAndReadsBackBitIdentically) {
  Model model = attention_model();
  std::vector<Tensor> x = testkit::random_inputs(model, 4, 8);
  for (int64_t t = 3; t < 6; ++t)  // row 1 padded after 3 steps: the mask matters
    for (int64_t d = 0; d < 4; ++d) x[0].data()[(6 + t) * 4 + d] = 0.0f;
  const std::string bytes = keras_file_bytes(model);
  detail::ZipReader archive(bytes, "attention.keras", {});
  const json config = json::parse(archive.read("config.json", 1 << 20));
  const json& self = layer_named(config, "self_attention");
  EXPECT_EQ(self["inbound_nodes"][0]["args"].size(), 2u);
  EXPECT_EQ(self["inbound_nodes"][0]["kwargs"]["use_causal_mask"], true);
  EXPECT_FALSE(self["config"].contains("use_causal_mask"));
  EXPECT_EQ(self["build_config"]["shapes_dict"]["query_shape"], json::parse("[null, 6, 4]"));
  const json& cross = layer_named(config, "cross_attention");
  EXPECT_EQ(cross["inbound_nodes"][0]["kwargs"]["key"]["config"]["keras_history"][0], "keys");
  EXPECT_FALSE(cross["inbound_nodes"][0]["kwargs"].contains("use_causal_mask"));
  EXPECT_EQ(cross["build_config"]["shapes_dict"]["key_shape"], json::parse("[null, 5, 2]"));
  // Keras 3's weight groups: the four projections, and the sublayers' empty groups.
  detail::Hdf5Reader file(archive.read("model.weights.h5", 1 << 24), "model.weights.h5");
  EXPECT_EQ(file.dataset_shape("layers/multi_head_attention_1/value_dense/vars/0"), (std::vector<int64_t>{3, 2, 2}));
  EXPECT_EQ(file.dataset_shape("layers/multi_head_attention_1/key_dense/vars/0"), (std::vector<int64_t>{2, 2, 4}));
  EXPECT_EQ(file.dataset_shape("layers/multi_head_attention_1/output_dense/vars/1"), (std::vector<int64_t>{5}));
  EXPECT_TRUE(file.exists("layers/multi_head_attention/_softmax/vars"));
  Model back = load_keras_model_bytes(bytes, "attention.keras");
  const std::vector<Tensor> y = model.predict(views(x)), z = back.predict(views(x));
  ASSERT_EQ(z.size(), 1u);
  ASSERT_EQ(y[0].numel(), z[0].numel());
  EXPECT_EQ(std::memcmp(y[0].data(), z[0].data(), size_t(y[0].numel()) * sizeof(float)), 0);
}

TEST(KerasAttention, CallArgumentsCitadelCannotHonourAreRefusedByName) {
  // A Keras 3 config as Keras writes one: mha(x, x, <kwargs>).
  auto config = [](const std::string& kwargs, const std::string& second_call = "") {
    const std::string ref = R"({"class_name": "__keras_tensor__", "config": {"shape": [null, 4, 3],
        "dtype": "float32", "keras_history": ["x", 0, 0]}})";
    std::string nodes = R"([{"args": [)" + ref + ", " + ref + R"(], "kwargs": {)" + kwargs + "}}";
    if (!second_call.empty()) nodes += R"(, {"args": [)" + ref + ", " + ref + R"(], "kwargs": {)" + second_call + "}}";
    return R"({"class_name": "Functional", "config": {"name": "m", "layers": [
        {"class_name": "InputLayer", "name": "x", "config": {"batch_shape": [null, 4, 3], "name": "x"},
         "inbound_nodes": []},
        {"class_name": "MultiHeadAttention", "name": "att", "config": {"name": "att", "num_heads": 2,
         "key_dim": 2, "attention_axes": [1], "use_gate": false, "sliding_window": null},
         "inbound_nodes": )" + nodes + R"(]}],
        "input_layers": [["x", 0, 0]], "output_layers": [["att", 0, 0]]}})";
  };
  EXPECT_EQ(error_of(config(R"("use_causal_mask": true, "return_attention_scores": false, "training": false)")),
            "no error");
  const std::string mask = error_of(config(R"("attention_mask": {"class_name": "__keras_tensor__", "config":
      {"shape": [null, 4, 4], "dtype": "float32", "keras_history": ["x", 0, 0]}})"));
  EXPECT_NE(mask.find("NotImplementedError: hand.json: layer 'att' (MultiHeadAttention)"), std::string::npos) << mask;
  EXPECT_NE(mask.find("'attention_mask'"), std::string::npos) << mask;
  const std::string scores = error_of(config(R"("return_attention_scores": true)"));
  EXPECT_NE(scores.find("layer 'att'"), std::string::npos) << scores;
  EXPECT_NE(scores.find("return_attention_scores=true"), std::string::npos) << scores;
  const std::string differ = error_of(config(R"("use_causal_mask": true)", R"("use_causal_mask": false)"));
  EXPECT_NE(differ.find("differ in use_causal_mask"), std::string::npos) << differ;
  std::string axes = config("");
  axes.replace(axes.find(R"("attention_axes": [1])"), 21, R"("attention_axes": [2])");
  const std::string refused_axes = error_of(axes);
  EXPECT_NE(refused_axes.find("'attention_axes'"), std::string::npos) << refused_axes;
}

}  // namespace keras_attention_test
