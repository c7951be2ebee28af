// Keras-style model configs: what Keras writes is read; anything else gets an error
// naming the layer and field.
#include <gtest/gtest.h>

#include "citadel/core/error.hpp"
#include "citadel/model/model_config.hpp"

namespace model_config_test {

using namespace citadel;

namespace {

std::string error_of(const std::string& json) {
  try {
    model_from_config(json, "model.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(ModelConfig, ReadsAKeras3Config) {
  const std::string json = R"({"class_name": "Sequential", "config": {"name": "pima", "layers": [
    {"class_name": "InputLayer", "config": {"batch_shape": [null, 8], "dtype": "float32", "name": "input"}},
    {"class_name": "Dense", "config": {"name": "dense", "units": 12, "activation": "relu", "use_bias": true,
      "kernel_initializer": {"module": "keras.initializers", "class_name": "HeNormal", "config": {"seed": null}},
      "kernel_regularizer": {"module": "keras.regularizers", "class_name": "L2", "config": {"l2": 0.001}},
      "kernel_constraint": null, "bias_constraint": null}},
    {"class_name": "Dropout", "config": {"rate": 0.2, "seed": null}},
    {"class_name": "Dense", "config": {"units": 1, "activation": "sigmoid"}}]}})";
  Sequential model = model_from_config(json, "model.json");
  model.build(Shape{8});
  EXPECT_EQ(model.name(), "pima");
  EXPECT_EQ(model.size(), 3u);
  EXPECT_EQ(model.count_params(), 8 * 12 + 12 + 12 + 1);
  EXPECT_FLOAT_EQ(model.parameters().parameters()[0].regularizer.l2, 0.001f);
  EXPECT_EQ(model.parameters().parameters()[0].initializer, "he_normal");
}

TEST(ModelConfig, ReadsTheShortFormWithImages) {
  Sequential model = model_from_config(R"({"layers": [
    {"class_name": "Flatten", "config": {"input_shape": [28, 28, 1]}},
    {"class_name": "Dense", "config": {"units": 10, "activation": "softmax"}}]})", "m.json");
  model.build(Shape{28, 28, 1});
  EXPECT_EQ(model.count_params(), 784 * 10 + 10);
}

TEST(ModelConfig, ErrorsNameTheLayerAndField) {
  EXPECT_NE(error_of("{").find("not valid JSON"), std::string::npos);
  // Found by model_config_fuzz: a number too large for a double is not a parse error to
  // nlohmann::json but an out_of_range exception, which once escaped uncaught.
  EXPECT_NE(error_of(R"({"class_name": 777E963s_nn": am{)").find("not valid JSON"), std::string::npos);
  EXPECT_NE(error_of(R"({"layers": [{"class_name": "Dense", "config": {"units": 1E999}}]})").find("not valid JSON"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"layers": []})").find("'layers' is empty"), std::string::npos);
  EXPECT_NE(error_of(R"({"layers": [{"class_name": "Dense", "config": {"units": "ten"}}]})")
                .find("layers[0] (Dense): 'units' must be a whole number"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"layers": [{"class_name": "Dense", "config": {"units": 3, "unitz": 4}}]})")
                .find("unknown setting 'unitz'"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"layers": [{"class_name": "Conv3D", "config": {}}]})").find("unknown layer type"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"layers": [{"class_name": "Dense", "config": {"units": 3, "activation": "relux"}}]})")
                .find("unknown activation 'relux'"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"class_name": "Functional", "config": {}})").find("expected 'layers'"), std::string::npos);
  EXPECT_NE(error_of(R"({"class_name": "Subclassed", "config": {}})").find("Sequential and Functional models are"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"layers": [{"class_name": "Dense", "config": {"units": 3, "kernel_constraint": {"x": 1}}}]})")
                .find("not supported"),
            std::string::npos);
  // Found by model_config_fuzz in CI: a tensor reference whose class_name is an object made
  // json's type_error escape (value("class_name", "") converts); now it is not a reference.
  const std::string functional = R"({"class_name": "Functional", "config": {"input_layers": [["x", 0, 0]],
      "output_layers": [["d", 0, 0]], "layers": [
      {"class_name": "InputLayer", "name": "x", "config": {"batch_shape": [null, 4], "name": "x"}, "inbound_nodes": []},
      {"class_name": "Dense", "name": "d", "config": {"units": 2, "name": "d"},
       "inbound_nodes": [{"args": [{"class_name": CLASS, "config": {"keras_history": ["x", 0, 0]}}], "kwargs": {}}]}]}})";
  const auto with_class = [&](const std::string& class_name) {
    std::string text = functional;
    return text.replace(text.find("CLASS"), 5, class_name);
  };
  EXPECT_EQ(error_of(with_class(R"("__keras_tensor__")")), "");  // the well-formed one is read
  for (const std::string bad : {R"({})", R"([1])", R"(7)", R"(null)"})
    EXPECT_NE(error_of(with_class(bad)).find("expected a tensor reference"), std::string::npos) << bad;
}

TEST(ModelConfig, RefusesDeepOrHugeInput) {
  const std::string deep = std::string(10000, '[') + std::string(10000, ']');
  EXPECT_NE(error_of(deep).find("nested deeper"), std::string::npos);
  EXPECT_THROW(model_from_config(std::string(2000, ' '), "m.json", {.max_bytes = 1000}), ValueError);
  EXPECT_NE(error_of(R"({"layers": [{"class_name": "Dense", "config": {"units": 100000000000}}]})").find("'units'"),
            std::string::npos);
}

TEST(ModelConfig, KeepsLayerNamesAndMakesTheOthersUnique) {
  // Names given by the config stay (they name the tensors in model files); a layer without
  // one gets add()'s name, with a further suffix where a given name took it.
  Sequential model = model_from_config(R"({"layers": [
    {"class_name": "Dense", "config": {"name": "dense_1", "units": 4, "input_dim": 3}},
    {"class_name": "Dense", "config": {"units": 4}},
    {"class_name": "Dense", "config": {"name": "out", "units": 1}}]})", "model.json");
  ASSERT_EQ(model.size(), 3u);
  EXPECT_EQ(model.layer(0).name(), "dense_1");
  EXPECT_EQ(model.layer(1).name(), "dense_1_1");
  EXPECT_EQ(model.layer(2).name(), "out");
  model.build(Shape{3});
  EXPECT_EQ(model.parameters().parameters().front().name, "dense_1/kernel");
  EXPECT_EQ(model.parameters().parameters().back().name, "out/bias");
  // The names written before the one Keras naming rule read as today's.
  Sequential old = model_from_config(R"({"layers": [{"class_name": "Conv2D", "config": {"name": "conv2_d",
    "filters": 2, "kernel_size": 3, "input_shape": [5, 5, 1]}}]})", "old.json");
  EXPECT_EQ(old.layer(0).name(), "conv2d");
}

TEST(ModelConfig, RefusesDuplicateOrUnsafeLayerNames) {
  EXPECT_NE(error_of(R"({"layers": [{"class_name": "Dense", "config": {"name": "a", "units": 1, "input_dim": 2}},
    {"class_name": "Dense", "config": {"name": "a", "units": 1}}]})").find("layers[1]: the name 'a' is used"),
            std::string::npos);
  for (const char* name : {"", "a/b", "../x", "tab\\there", "k\u00e9"}) {
    const std::string json = std::string(R"({"layers": [{"class_name": "Dense", "config": {"name": ")") + name +
                             R"(", "units": 1, "input_dim": 2}}]})";
    EXPECT_NE(error_of(json).find("layers[0] (Dense): name"), std::string::npos) << name << ": " << error_of(json);
  }
  const std::string long_name(129, 'x');
  EXPECT_NE(error_of(R"({"layers": [{"class_name": "Dense", "config": {"name": ")" + long_name +
                     R"(", "units": 1, "input_dim": 2}}]})").find("name"), std::string::npos);
}

}  // namespace model_config_test
