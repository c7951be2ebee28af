// Model files: exact round trips, a layout any safetensors reader understands, and a
// clear error (never a crash) for every kind of hostile file.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "citadel/core/error.hpp"
#include "citadel/io/model_file.hpp"
#include "citadel/layers/activation.hpp"
#include "citadel/core/random.hpp"
#include "citadel/layers/batch_normalization.hpp"
#include "citadel/layers/conv2d.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/layers/pooling2d.hpp"
#include "citadel/layers/reshape.hpp"
#include "citadel/layers/dropout.hpp"
#include "citadel/layers/regularizers.hpp"
#include "grad_check.hpp"

namespace model_file_test {

using namespace citadel;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

fs::path scratch(const std::string& name) {
  return fs::temp_directory_path() / ("citadel_io_" + std::to_string(::getpid()) + "_" + name);
}

Sequential trained_model() {
  random::set_seed(51);
  Sequential model("saved");
  model.add(Dense(6, {.input_dim = 4, .activation = "tanh", .kernel_regularizer = L2(1e-3)}));
  model.add(Dropout(0.25f));
  model.add(Dense(3));
  model.add(Activation("softmax"));
  model.compile({.loss = "sparse_categorical_crossentropy", .optimizer = Adam{.learning_rate = 0.01f},
                 .metrics = {"accuracy", "auc"}});
  const Tensor x = random::uniform({30, 4}), y = random::randint(0, 3, {30});
  model.fit(x, y, {.epochs = 3, .verbose = 0});
  return model;
}

std::string saved_bytes() {
  Sequential model = trained_model();
  const fs::path path = scratch("model.safetensors");
  save_model(model, path.string(), {{"classes", "[\"a\", \"b\", \"c\"]"}});
  return read_file_bytes(path.string());
}

// A file from a header object and raw data, laid out as safetensors.
std::string file_from(const json& header, const std::string& data) {
  const std::string text = header.dump();
  std::string file(8, '\0');
  const uint64_t length = text.size();
  std::memcpy(file.data(), &length, 8);
  return file + text + data;
}

std::string error_of(const std::string& bytes) {
  try {
    load_model_from_bytes(bytes, "m.safetensors");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// The header of a real saved file, to modify.
json saved_header(const std::string& bytes) {
  uint64_t length = 0;
  std::memcpy(&length, bytes.data(), 8);
  return json::parse(bytes.substr(8, length));
}

std::string saved_data(const std::string& bytes) {
  uint64_t length = 0;
  std::memcpy(&length, bytes.data(), 8);
  return bytes.substr(8 + length);
}

}  // namespace

TEST(ModelFile, RoundTripPredictsBitIdentically) {
  Sequential model = trained_model();
  const fs::path path = scratch("round.safetensors");
  save_model(model, path.string());
  LoadedModel loaded = load_model(path.string());
  const Tensor x = testkit::random_input(Shape{7, 4}, 3);
  EXPECT_EQ(model.predict(x).to_vector(), loaded.model.predict(x).to_vector());
  EXPECT_EQ(loaded.model.name(), "saved");
  EXPECT_EQ(loaded.model.summary_text(), model.summary_text());
  const auto settings = loaded.model.compile_settings();
  EXPECT_EQ(settings.loss, "sparse_categorical_crossentropy");
  EXPECT_EQ(settings.optimizer, "adam");
  EXPECT_FLOAT_EQ(settings.learning_rate, 0.01f);
  EXPECT_EQ(settings.metrics, (std::vector<std::string>{"accuracy", "auc"}));
  EXPECT_FLOAT_EQ(loaded.model.parameters().parameters()[0].regularizer.l2, 1e-3f);
}

TEST(ModelFile, ConvolutionalModelsRoundTripWithMovingStatistics) {
  random::set_seed(8);
  Sequential model("cnn");
  model.add(Conv2D(3, 3, {.input_shape = {6, 6, 2}, .padding = "same", .dilation_rate = {2, 2},
                          .activation = "relu"}));
  model.add(BatchNormalization({.momentum = 0.5f}));
  model.add(AveragePooling2D({2, 2}, {.strides = {1, 1}}));
  model.add(MaxPooling2D());
  model.add(Reshape({-1}));
  model.add(Dense(2, {.activation = "softmax"}));
  model.compile({.loss = "sparse_categorical_crossentropy", .optimizer = "adam"});
  const Tensor x = testkit::random_input(Shape{10, 6, 6, 2}, 1);
  Tensor y(Shape{10});
  for (int64_t i = 0; i < 10; ++i) y[i] = float(i % 2);
  model.fit(x, y, {.epochs = 3, .batch_size = 5, .verbose = 0});  // moves the moving statistics
  const fs::path path = scratch("cnn.safetensors");
  save_model(model, path.string());
  LoadedModel loaded = load_model(path.string());
  EXPECT_EQ(model.predict(x).to_vector(), loaded.model.predict(x).to_vector());
  EXPECT_EQ(loaded.model.summary_text(), model.summary_text());
  const auto& infos = loaded.model.parameters().parameters();
  bool found = false;
  for (size_t i = 0; i < infos.size(); ++i)
    if (infos[i].name.find("moving_variance") != std::string::npos) {
      found = true;
      EXPECT_FALSE(infos[i].trainable);
      const ConstTensorView moved = loaded.model.parameters().value(static_cast<int>(i));
      EXPECT_NE(moved[0], 1.0f);  // not the initial value: training moved it and the file kept it
    }
  EXPECT_TRUE(found);

  // One Keras naming rule: "conv2d", "max_pooling2d"; files from before, whose tensors are
  // named "conv2_d/...", still load and predict the same.
  EXPECT_EQ(model.layer(0).name(), "conv2d");
  EXPECT_EQ(model.layer(3).name(), "max_pooling2d");
  EXPECT_EQ(model.layer(2).name(), "average_pooling2d");
  const std::string bytes = read_file_bytes(path.string());
  json header = saved_header(bytes), legacy = json::object();
  for (auto& [name, entry] : header.items()) {
    std::string old = name;
    if (old.rfind("conv2d/", 0) == 0) old.replace(0, 6, "conv2_d");
    legacy[old] = entry;
  }
  ASSERT_TRUE(legacy.contains("conv2_d/kernel"));
  LoadedModel old_file = load_model_from_bytes(file_from(legacy, saved_data(bytes)), "old.safetensors");
  EXPECT_EQ(model.predict(x).to_vector(), old_file.model.predict(x).to_vector());
  // A file naming one tensor both ways is refused.
  json both = header;
  both["conv2_d/kernel"] = header["conv2d/kernel"];
  EXPECT_NE(error_of(file_from(both, saved_data(bytes))).find("two tensors are named 'conv2d/kernel'"),
            std::string::npos);
}

TEST(ModelFile, IsAPlainSafetensorsFile) {
  const std::string bytes = saved_bytes();
  uint64_t length = 0;
  std::memcpy(&length, bytes.data(), 8);
  EXPECT_EQ((8 + length) % 8, 0u);  // data 8-byte aligned
  const json header = saved_header(bytes);
  EXPECT_EQ(header["__metadata__"]["format"], "citadel-model");
  EXPECT_EQ(header["__metadata__"]["classes"], "[\"a\", \"b\", \"c\"]");
  EXPECT_TRUE(json::parse(header["__metadata__"]["architecture"].get<std::string>()).is_object());
  EXPECT_EQ(header["dense/kernel"]["dtype"], "F32");
  EXPECT_EQ(header["dense/kernel"]["shape"], (json{4, 6}));
  EXPECT_EQ(header["dense_1/bias"]["shape"], (json{3}));
  // The bias of dense_1 read directly from its offsets equals the model's weights.
  const auto offsets = header["dense_1/bias"]["data_offsets"];
  std::vector<float> bias(3);
  std::memcpy(bias.data(), saved_data(bytes).data() + offsets[0].get<size_t>(), 12);
  Sequential model = trained_model();
  EXPECT_EQ(bias, model.get_weights()[3].to_vector());
}

TEST(ModelFile, WeightsOnlyRoundTrip) {
  Sequential model = trained_model();
  const fs::path path = scratch("weights.safetensors");
  save_weights(model, path.string());
  random::set_seed(99);
  Sequential other("other");
  other.add(Dense(6, {.input_dim = 4, .activation = "tanh"}));
  other.add(Dropout(0.25f));
  other.add(Dense(3));
  other.add(Activation("softmax"));
  other.build(Shape{4});
  load_weights(other, path.string());
  const Tensor x = testkit::random_input(Shape{5, 4}, 8);
  EXPECT_EQ(model.predict(x).to_vector(), other.predict(x).to_vector());
  Sequential wrong;
  wrong.add(Dense(5, {.input_dim = 4}));
  wrong.build(Shape{4});
  EXPECT_THROW(load_weights(wrong, path.string()), IoError);
}

TEST(ModelFile, HostileHeadersGetClearErrors) {
  const std::string bytes = saved_bytes();
  const std::string data = saved_data(bytes);
  const json header = saved_header(bytes);
  auto with = [&](const std::function<void(json&)>& change) {
    json h = header;
    change(h);
    return error_of(file_from(h, data));
  };
  EXPECT_NE(error_of("abc").find("too short"), std::string::npos);
  std::string huge_length = bytes;
  const uint64_t big = uint64_t(1) << 40;
  std::memcpy(huge_length.data(), &big, 8);
  EXPECT_NE(error_of(huge_length).find("header length"), std::string::npos);
  std::string past_end = bytes.substr(0, 8) + "{}";
  EXPECT_NE(error_of(past_end).find("runs past the end"), std::string::npos);
  // A header that does not open a JSON object does not start like a safetensors file at all.
  EXPECT_NE(error_of(file_from(json::array(), "")).find("is not a citadel model file"), std::string::npos);
  EXPECT_NE(error_of(std::string("\x02\0\0\0\0\0\0\0{x", 10)).find("not valid JSON"), std::string::npos);
  const std::string deep = "{\"a\":" + std::string(100, '[') + std::string(100, ']') + "}";
  std::string deep_file(8, '\0');
  const uint64_t deep_length = deep.size();
  std::memcpy(deep_file.data(), &deep_length, 8);
  EXPECT_NE(error_of(deep_file + deep).find("nested deeper"), std::string::npos);
  EXPECT_NE(with([](json& h) { h["dense/bias"]["dtype"] = "F64"; }).find("dtype \"F64\" is not supported"),
            std::string::npos);
  EXPECT_NE(with([](json& h) { h["dense/bias"]["shape"] = {uint64_t(1) << 62, 1 << 20}; }).find("more elements than fit"),
            std::string::npos);
  EXPECT_NE(with([](json& h) { h["dense/bias"]["shape"] = {7}; }).find("needs 28 bytes but data_offsets give 24"),
            std::string::npos);
  EXPECT_NE(with([](json& h) { h["dense/bias"]["data_offsets"] = {0, 1 << 30}; }).find("lie outside"),
            std::string::npos);
  EXPECT_NE(with([](json& h) { h["dense/bias"]["data_offsets"] = h["dense/kernel"]["data_offsets"]; h["dense/bias"]["shape"] = h["dense/kernel"]["shape"]; })
                .find("overlap"),
            std::string::npos);
  EXPECT_NE(with([](json& h) { h["dense/bias"]["extra"] = 1; }).find("exactly dtype, shape and data_offsets"),
            std::string::npos);
  EXPECT_NE(error_of(file_from(header, data + "trailing")).find("after the last tensor belong to no tensor"),
            std::string::npos);
  EXPECT_NE(with([](json& h) { h.erase("dense/bias"); }).find("belong to no tensor"), std::string::npos);  // a gap
  EXPECT_NE(with([](json& h) { h["__metadata__"]["format_version"] = "7"; }).find("re-save the model"),
            std::string::npos);
  EXPECT_NE(with([](json& h) { h["__metadata__"].erase("format"); }).find("not a citadel model file"), std::string::npos);
  EXPECT_NE(with([](json& h) { h["__metadata__"]["architecture"] = "{not json"; }).find("not valid JSON"),
            std::string::npos);
  EXPECT_NE(with([](json& h) { h["__metadata__"]["architecture"] = R"({"layers": [{"class_name": "Lambda"}]})"; })
                .find("unknown layer type"),
            std::string::npos);
  EXPECT_NE(with([](json& h) { h["__metadata__"]["compile"] = "{\"loss\": 3}"; }).find("compile settings"),
            std::string::npos);
  EXPECT_NE(with([](json& h) { h["__metadata__"]["classes"] = 5; }).find("must be a string"), std::string::npos);
}

TEST(ModelFile, TensorsMustMatchTheArchitecture) {
  const std::string bytes = saved_bytes();
  const std::string data = saved_data(bytes);
  json renamed = saved_header(bytes);
  renamed["dense/bias2"] = renamed["dense/bias"];
  renamed.erase("dense/bias");
  EXPECT_NE(error_of(file_from(renamed, data)).find("parameter 'dense/bias' that the file does not hold"),
            std::string::npos);
  json reshaped = saved_header(bytes);
  reshaped["dense/kernel"]["shape"] = {6, 4};
  EXPECT_NE(error_of(file_from(reshaped, data)).find("has shape (6, 4) but the architecture needs (4, 6)"),
            std::string::npos);
}

TEST(ModelFile, EveryTruncationIsAnErrorNotACrash) {
  const std::string bytes = saved_bytes();
  for (size_t length = 0; length < bytes.size(); length += 7)
    EXPECT_THROW(load_model_from_bytes(bytes.substr(0, length), "cut.safetensors"), Error) << length;
}

TEST(ModelFile, MissingFileNamesIt) {
  try {
    load_model("/no/such/model.safetensors");
    FAIL();
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("/no/such/model.safetensors"), std::string::npos);
  }
}

// Files mistaken for a model file are named for what they look like, with a hint, before the
// header's bounds are checked (which would call CSV text a header of 7 quintillion bytes).
TEST(ModelFile, AFileThatIsNotAModelFileSaysWhatItLooksLike) {
  const std::vector<std::pair<std::string, std::string>> cases{
      {"Pregnancies,Glucose,Outcome\n6,148,1\n1,85,0\n", "looks like CSV data"},
      {"<!doctype html><html><body>report</body></html>", "looks like an HTML page"},
      {"  [1, 2, 3]", "looks like JSON"},
      {std::string("PK\x03\x04\x14\x00\x00\x00", 8) + "config.json", "zip archive"},
      {std::string("\x89HDF\r\n\x1a\n\0\0\0\0", 12), "HDF5"},
      {std::string("\x08\x08\x3a\x10", 4) + "graph", "ONNX"},
      {std::string("\x1f\x8b\x08\0\0\0\0\0", 8), "gzip"},
      {"CTDLENC1" + std::string(40, '\0'), "encrypted citadel file"},
  };
  for (const auto& [bytes, hint] : cases) {
    const std::string message = error_of(bytes);
    EXPECT_EQ(message.rfind("m.safetensors is not a citadel model file (it does not start like a safetensors file)", 0), 0u)
        << message;
    EXPECT_NE(message.find(hint), std::string::npos) << message;
  }
  // A real header after an implausible length is still checked against the bounds.
  std::string huge = saved_bytes();
  const uint64_t length = uint64_t(1) << 40;
  std::memcpy(huge.data(), &length, 8);
  EXPECT_NE(error_of(huge).find("exceeds the limit"), std::string::npos) << error_of(huge);
}

// As Keras 3's save: a model file needs its extension; nothing is written without one.
TEST(ModelFile, SavingWithoutTheExtensionIsRefused) {
  Sequential model = trained_model();
  for (const std::string name : {"model", "model.bin", "model.safetensors.tmp"}) {
    const fs::path path = scratch(name);
    try {
      save_model(model, path.string());
      FAIL() << name;
    } catch (const ValueError& e) {
      EXPECT_NE(std::string(e.what()).find(path.string() + "' does not end in .safetensors"), std::string::npos)
          << e.what();
    }
    EXPECT_FALSE(fs::exists(path)) << name;
  }
  const fs::path upper = scratch("MODEL.SAFETENSORS");
  save_model(model, upper.string());
  EXPECT_TRUE(fs::exists(upper));
}

}  // namespace model_file_test
