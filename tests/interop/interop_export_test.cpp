// citadel models out: to a Keras 3 file that the importer reads back bit-identically, and
// to ONNX graphs that ONNX's own protobuf classes parse and its checker accepts, with the
// operators, layouts, paddings and epsilons the conversion promises.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cstring>
#include <filesystem>
#include <unistd.h>
#include <random>

#include "citadel/core/error.hpp"
#include "citadel/interop/keras_export.hpp"
#include "citadel/interop/keras_import.hpp"
#include "citadel/interop/onnx_export.hpp"
#include "citadel/model/model_config.hpp"

namespace citadel {
namespace interop_export_test {
namespace {

// A built model from a citadel-style config, every weight (and moving statistic) random.
Sequential random_model(const std::string& config, uint32_t seed) {
  Sequential model = model_from_config(config, "test");
  model.build(*model.layer(0).declared_input_shape());
  std::mt19937 generator(seed);
  std::normal_distribution<float> normal(0.0f, 0.5f);
  ParameterStore& store = model.parameters();
  for (size_t i = 0; i < store.parameters().size(); ++i) {
    TensorView values = store.value(static_cast<int>(i));
    const bool variance = store.parameters()[i].name.find("moving_variance") != std::string::npos;
    for (int64_t k = 0; k < values.numel(); ++k) values[k] = variance ? 0.5f + std::abs(normal(generator)) : normal(generator);
  }
  return model;
}

Tensor random_rows(Sequential& model, int64_t rows, uint32_t seed) {
  std::vector<int64_t> dims{rows};
  for (int64_t d : model.input_shape().dims()) dims.push_back(d);
  Tensor x{Shape(dims)};
  std::mt19937 generator(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = normal(generator);
  return x;
}

std::string input(const std::string& shape) {
  return R"({"class_name": "InputLayer", "config": {"batch_shape": [null, )" + shape + "]}}";
}
std::string sequential(const std::string& layers) {
  return R"({"class_name": "Sequential", "config": {"name": "exported", "layers": [)" + layers + "]}}";
}

const std::string kDense = sequential(input("8") + R"(,
  {"class_name": "Dense", "config": {"units": 10, "activation": "relu", "kernel_regularizer": "l2"}},
  {"class_name": "BatchNormalization", "config": {"epsilon": 0.001}},
  {"class_name": "Dropout", "config": {"rate": 0.3}},
  {"class_name": "Dense", "config": {"units": 6, "activation": "gelu"}},
  {"class_name": "Dense", "config": {"units": 1, "activation": "sigmoid"}})");
const std::string kConv = sequential(input("12, 12, 2") + R"(,
  {"class_name": "Conv2D", "config": {"filters": 4, "kernel_size": 3, "padding": "same", "activation": "relu"}},
  {"class_name": "BatchNormalization", "config": {}},
  {"class_name": "MaxPooling2D", "config": {"pool_size": 2}},
  {"class_name": "Conv2D", "config": {"filters": 3, "kernel_size": [2, 3], "strides": 2, "padding": "same"}},
  {"class_name": "AveragePooling2D", "config": {"pool_size": 2, "padding": "same"}},
  {"class_name": "Flatten", "config": {}},
  {"class_name": "Dense", "config": {"units": 3, "activation": "softmax"}})");
const std::string kGlobal = sequential(input("12") + R"(,
  {"class_name": "Reshape", "config": {"target_shape": [2, 2, 3]}},
  {"class_name": "Conv2D", "config": {"filters": 5, "kernel_size": 2, "padding": "same", "activation": "tanh"}},
  {"class_name": "GlobalMaxPooling2D", "config": {}},
  {"class_name": "Activation", "config": {"activation": "swish"}},
  {"class_name": "Dense", "config": {"units": 2, "activation": "softmax"}})");

TEST(KerasExport, TheImporterReadsAnExportedFileBackBitIdentically) {
  uint32_t seed = 1;
  for (const std::string& config : {kDense, kConv, kGlobal}) {
    SCOPED_TRACE(config.substr(0, 120));
    Sequential model = random_model(config, seed++);
    const std::string bytes = keras_file_bytes(model);
    SavedModel back = import_keras_bytes(bytes, "exported.keras");
    EXPECT_EQ(model_to_config(back.model), model_to_config(model));
    const auto& ours = model.parameters().values();
    const auto& theirs = back.model.parameters().values();
    ASSERT_EQ(ours.size(), theirs.size());
    EXPECT_EQ(std::memcmp(ours.data(), theirs.data(), ours.size() * sizeof(float)), 0);
    const Tensor x = random_rows(model, 7, seed);
    const Tensor a = model.predict(x), b = back.model.predict(x);
    EXPECT_EQ(std::memcmp(a.data(), b.data(), a.numel() * sizeof(float)), 0);
  }
}

TEST(KerasExport, WeightsFilesLoadIntoTheSameArchitectureAndNoOther) {
  Sequential model = random_model(kConv, 11), twin = random_model(kConv, 12), other = random_model(kDense, 13);
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("citadel_weights_" + std::to_string(::getpid()) + ".weights.h5")).string();
  save_keras_weights(model, path);
  load_keras_weights(twin, path);
  const auto& a = model.parameters().values();
  const auto& b = twin.parameters().values();
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0);
  const std::vector<float> before(other.parameters().values().begin(), other.parameters().values().end());
  EXPECT_THROW(load_keras_weights(other, path), IoError);
  EXPECT_TRUE(std::equal(before.begin(), before.end(), other.parameters().values().begin()));
  std::filesystem::remove(path);
}

TEST(KerasExport, ModelsThatAreNotBuiltAreRefused) {
  Sequential model = model_from_config(sequential(R"({"class_name": "Dense", "config": {"units": 2}})"), "t");
  EXPECT_THROW(keras_file_bytes(model), ValueError);
  EXPECT_THROW(onnx_model_bytes(model), ValueError);
}

onnx::ModelProto parsed(const std::string& bytes) {
  onnx::ModelProto proto;
  EXPECT_TRUE(proto.ParseFromString(bytes));
  return proto;
}

std::vector<std::string> op_types(const onnx::ModelProto& proto) {
  std::vector<std::string> ops;
  for (const auto& node : proto.graph().node()) ops.push_back(node.op_type());
  return ops;
}

const onnx::AttributeProto* attribute(const onnx::NodeProto& node, const std::string& name) {
  for (const auto& a : node.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}

TEST(OnnxExport, DenseLayersBecomeGemmWithTheirActivationsAndBatchNormKeepsKerasEpsilon) {
  Sequential model = random_model(kDense, 3);
  const onnx::ModelProto proto = parsed(onnx_model_bytes(model));
  EXPECT_EQ(proto.opset_import(0).version(), 13);
  // Dropout leaves no node; gelu is x·(1 + erf(x/√2))/2.
  EXPECT_EQ(op_types(proto), (std::vector<std::string>{"Gemm", "Relu", "BatchNormalization", "Gemm", "Mul", "Erf", "Add",
                                                        "Mul", "Mul", "Gemm", "Sigmoid", "Identity"}));
  const auto* epsilon = attribute(proto.graph().node(2), "epsilon");
  ASSERT_NE(epsilon, nullptr);
  EXPECT_FLOAT_EQ(epsilon->f(), 1e-3f);
  // The batch is symbolic, the rest the model's shape.
  const auto& in = proto.graph().input(0).type().tensor_type().shape();
  EXPECT_EQ(in.dim(0).dim_param(), "N");
  EXPECT_EQ(in.dim(1).dim_value(), 8);
  EXPECT_EQ(proto.graph().output(0).name(), "output");
}

TEST(OnnxExport, ConvolutionsRunInNchwBetweenTransposesWithKerasSamePadding) {
  Sequential model = random_model(kConv, 4);
  const onnx::ModelProto proto = parsed(onnx_model_bytes(model));
  EXPECT_EQ(op_types(proto), (std::vector<std::string>{"Transpose", "Conv", "Relu", "BatchNormalization", "MaxPool",
                                                        "Conv", "AveragePool", "Transpose", "Flatten", "Gemm",
                                                        "Softmax", "Identity"}));
  // Kernel (3, 3), stride 1 on 12: one pixel each side. Kernel (2, 3), stride 2 on 6: 0
  // rows before and 0 after (out 3, total 0), 0 columns before and 1 after (total 1).
  const auto pads = [&](int node) {
    const auto* a = attribute(proto.graph().node(node), "pads");
    return std::vector<int64_t>(a->ints().begin(), a->ints().end());
  };
  EXPECT_EQ(pads(1), (std::vector<int64_t>{1, 1, 1, 1}));
  EXPECT_EQ(pads(5), (std::vector<int64_t>{0, 0, 0, 1}));
  // The kernel went from Keras's HWIO to ONNX's OIHW.
  for (const auto& initializer : proto.graph().initializer())
    if (initializer.name().rfind("conv2d_kernel", 0) == 0) {
      EXPECT_EQ(std::vector<int64_t>(initializer.dims().begin(), initializer.dims().end()),
                (std::vector<int64_t>{4, 2, 3, 3}));
      // OIHW[f][c][y][x] = HWIO[y][x][c][f]: spot-check one element.
      const float* oihw = reinterpret_cast<const float*>(initializer.raw_data().data());
      const auto& store = model.parameters();
      ConstTensorView hwio = store.value(0);
      const int f = 3, c = 1, y = 2, x = 0;
      EXPECT_EQ(oihw[((f * 2 + c) * 3 + y) * 3 + x], hwio[((y * 3 + x) * 2 + c) * 4 + f]);
    }
}

TEST(OnnxExport, GlobalPoolingAndReshapeKeepKerasLayout) {
  Sequential model = random_model(kGlobal, 5);
  const onnx::ModelProto proto = parsed(onnx_model_bytes(model));
  EXPECT_EQ(op_types(proto), (std::vector<std::string>{"Reshape", "Transpose", "Conv", "Tanh", "GlobalMaxPool",
                                                        "Flatten", "Sigmoid", "Mul", "Gemm", "Softmax", "Identity"}));
  OnnxExportOptions options;
  options.opset = 12;
  EXPECT_THROW(onnx_model_bytes(model, options), ValueError);
}

}  // namespace
}  // namespace interop_export_test
}  // namespace citadel
