// Recurrent layers in Keras 3 files: weights under the layer's cell (layers/lstm/cell/vars/0..2,
// the cell named lstm_cell; the layer's own vars empty), as real Keras 3 writes them, and a
// masked LSTM/GRU/SimpleRNN model read back bit for bit.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "../../src/interop/hdf5_image.hpp"
#include "../../src/interop/zip_archive.hpp"
#include "citadel/core/error.hpp"
#include "citadel/interop/keras_export.hpp"
#include "citadel/interop/keras_import.hpp"
#include "citadel/interop/onnx_export.hpp"
#include "citadel/layers/bidirectional.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/layers/masking.hpp"
#include "citadel/layers/recurrent.hpp"
#include "citadel/layers/spatial_dropout.hpp"
#include "citadel/layers/time_distributed.hpp"
#include "citadel/model/sequential.hpp"
#include "random_model_values.hpp"

namespace keras_recurrent_test {

using namespace citadel;

namespace {

Sequential recurrent_model() {
  Sequential model;
  model.add(Masking(MaskingOptions{.input_shape = {5, 3}}));
  model.add(LSTM(4, {.return_sequences = true}));
  model.add(GRU(3, {.return_sequences = true, .go_backwards = true, .reset_after = false}));
  model.add(GRU(3, {.return_sequences = true}));
  model.add(SimpleRNN(2));
  model.add(Dense(1));
  model.build(Shape{5, 3});
  testkit::randomize(model, 4);
  return model;
}

Tensor padded_inputs() {
  std::vector<Tensor> x = testkit::random_inputs(recurrent_model(), 3, 9);
  for (int64_t t = 3; t < 5; ++t)  // row 0 right-padded, row 1 left-padded
    for (int64_t d = 0; d < 3; ++d) x[0][(0 * 5 + t) * 3 + d] = x[0][(1 * 5 + t - 3) * 3 + d] = 0.0f;
  return x[0];
}

}  // namespace

TEST(KerasRecurrent, WeightsLieUnderTheCellAsKeras3WritesThem) {
  Sequential model = recurrent_model();
  const std::string bytes = keras_file_bytes(model);
  detail::ZipReader archive(bytes, "rnn.keras", {});
  detail::Hdf5Reader weights(archive.read("model.weights.h5", 1 << 24), "model.weights.h5");
  struct Expected {
    const char* group;
    const char* cell;
    std::vector<std::vector<int64_t>> shapes;
  };
  for (const Expected& e : {Expected{"lstm", "lstm_cell", {{3, 16}, {4, 16}, {16}}},
                            Expected{"gru", "gru_cell", {{4, 9}, {3, 9}, {9}}},
                            Expected{"gru_1", "gru_cell", {{3, 9}, {3, 9}, {2, 9}}},
                            Expected{"simple_rnn", "simple_rnn_cell", {{3, 2}, {2, 2}, {2}}}}) {
    const std::string layer = std::string("layers/") + e.group;
    EXPECT_TRUE(weights.children(layer + "/vars").empty()) << layer;
    EXPECT_EQ(weights.string_attribute(layer + "/cell/vars", "name"), std::vector<std::string>{e.cell}) << layer;
    for (size_t i = 0; i < e.shapes.size(); ++i)
      EXPECT_EQ(weights.dataset_shape(layer + "/cell/vars/" + std::to_string(i)), e.shapes[i]) << layer << " " << i;
  }
}

TEST(KerasRecurrent, AnExportedMaskedModelComesBackBitIdentically) {
  Sequential model = recurrent_model();
  const Tensor x = padded_inputs();
  Model back = load_keras_model_bytes(keras_file_bytes(model), "rnn.keras");
  const Tensor y = model.predict(x), z = back.predict(x);
  ASSERT_EQ(y.shape(), z.shape());
  EXPECT_EQ(std::memcmp(y.data(), z.data(), size_t(y.numel()) * sizeof(float)), 0);
  // The weights file alone loads into the same architecture, and into no other.
  const auto path = std::filesystem::temp_directory_path() / ("citadel_rnn_" + std::to_string(::getpid()) + ".weights.h5");
  save_keras_weights(model, path.string());
  Sequential twin = recurrent_model();
  testkit::randomize(twin, 11);
  load_keras_weights(twin, path.string());
  const Tensor w = twin.predict(x);
  EXPECT_EQ(std::memcmp(y.data(), w.data(), size_t(y.numel()) * sizeof(float)), 0);
  Sequential other;
  other.add(Masking(MaskingOptions{.input_shape = {5, 3}}));
  other.add(LSTM(4, {.return_sequences = true}));
  other.add(GRU(3, {.return_sequences = true, .go_backwards = true}));  // reset_after: another bias shape
  other.add(GRU(3, {.return_sequences = true}));
  other.add(SimpleRNN(2));
  other.add(Dense(1));
  other.build(Shape{5, 3});
  EXPECT_THROW(load_keras_weights(other, path.string()), IoError);
  std::filesystem::remove(path);
}

// A cell activation the exporter does not write (a linear cell: tanh, sigmoid and relu are
// written) is refused naming the layer.
TEST(KerasRecurrent, OnnxExportOfALinearCellIsRefusedNamingTheLayer) {
  Sequential model;
  model.add(Masking(MaskingOptions{.input_shape = {4, 2}}));
  model.add(LSTM(3, {.activation = "linear"}));
  model.build(Shape{4, 2});
  try {
    onnx_model_bytes(model);
    ADD_FAILURE() << "exported";
  } catch (const NotImplementedError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("layer lstm (LSTM)"), std::string::npos) << message;
    EXPECT_NE(message.find("\"linear\""), std::string::npos) << message;
  }
}

namespace {

Sequential bidirectional_model() {
  Sequential model;
  model.add(Masking(MaskingOptions{.input_shape = {5, 3}}));
  model.add(Bidirectional(LSTM(4, {.return_sequences = true})));
  model.add(Bidirectional(GRU(3, {.reset_after = false}), {.merge_mode = "ave"}));
  model.add(Dense(1));
  model.build(Shape{5, 3});
  testkit::randomize(model, 5);
  return model;
}

}  // namespace

// As real Keras 3 writes them: layers/bidirectional/{forward,backward}_layer/cell/vars/0..2,
// each copy's own vars empty and named, the wrapper's vars empty.
TEST(KerasRecurrent, BidirectionalWeightsLieUnderEachCopysCell) {
  Sequential model = bidirectional_model();
  const std::string bytes = keras_file_bytes(model);  // the archive reads it in place
  detail::ZipReader archive(bytes, "bi.keras", {});
  detail::Hdf5Reader weights(archive.read("model.weights.h5", 1 << 24), "model.weights.h5");
  struct Expected {
    std::string group, copy, cell;
    std::vector<std::vector<int64_t>> shapes;
  };
  for (const Expected& e : {Expected{"bidirectional/forward_layer", "forward_lstm", "lstm_cell", {{3, 16}, {4, 16}, {16}}},
                            Expected{"bidirectional/backward_layer", "backward_lstm", "lstm_cell", {{3, 16}, {4, 16}, {16}}},
                            Expected{"bidirectional_1/forward_layer", "forward_gru", "gru_cell", {{8, 9}, {3, 9}, {9}}},
                            Expected{"bidirectional_1/backward_layer", "backward_gru", "gru_cell", {{8, 9}, {3, 9}, {9}}}}) {
    const std::string layer = "layers/" + e.group;
    EXPECT_TRUE(weights.children(layer + "/vars").empty()) << layer;
    EXPECT_EQ(weights.string_attribute(layer + "/vars", "name"), std::vector<std::string>{e.copy}) << layer;
    EXPECT_EQ(weights.string_attribute(layer + "/cell/vars", "name"), std::vector<std::string>{e.cell}) << layer;
    for (size_t i = 0; i < e.shapes.size(); ++i)
      EXPECT_EQ(weights.dataset_shape(layer + "/cell/vars/" + std::to_string(i)), e.shapes[i]) << layer << " " << i;
  }
  EXPECT_TRUE(weights.children("layers/bidirectional/vars").empty());
  EXPECT_EQ(weights.string_attribute("layers/bidirectional/vars", "name"), std::vector<std::string>{"bidirectional"});
  const std::string config = archive.read("config.json", 1 << 20);
  for (const char* expected : {"\"class_name\":\"Bidirectional\"", "\"merge_mode\":\"ave\"", "\"name\":\"backward_gru\""})
    EXPECT_NE(config.find(expected), std::string::npos) << expected;
}

TEST(KerasRecurrent, AnExportedBidirectionalModelComesBackBitIdentically) {
  Sequential model = bidirectional_model();
  const Tensor x = padded_inputs();
  Model back = load_keras_model_bytes(keras_file_bytes(model), "bi.keras");
  const Tensor y = model.predict(x), z = back.predict(x);
  ASSERT_EQ(y.shape(), z.shape());
  EXPECT_EQ(std::memcmp(y.data(), z.data(), size_t(y.numel()) * sizeof(float)), 0);
  const auto path = std::filesystem::temp_directory_path() / ("citadel_bi_" + std::to_string(::getpid()) + ".weights.h5");
  save_keras_weights(model, path.string());
  Sequential twin = bidirectional_model();
  testkit::randomize(twin, 12);
  load_keras_weights(twin, path.string());
  const Tensor w = twin.predict(x);
  EXPECT_EQ(std::memcmp(y.data(), w.data(), size_t(y.numel()) * sizeof(float)), 0);
  std::filesystem::remove(path);
}

// SpatialDropout1D: no weights, its rate in the config as Keras 3 writes it, the mask passed on
// to the LSTM after it.
TEST(KerasRecurrent, SpatialDropout1DRoundTripsThroughAKerasFile) {
  Sequential model;
  model.add(Masking(MaskingOptions{.input_shape = {5, 3}}));
  model.add(SpatialDropout1D(0.3f));
  model.add(LSTM(4));
  model.add(Dense(1));
  model.build(Shape{5, 3});
  testkit::randomize(model, 6);
  const std::string bytes = keras_file_bytes(model);
  detail::ZipReader archive(bytes, "sd.keras", {});
  const std::string config = archive.read("config.json", 1 << 20);
  for (const char* expected : {"\"class_name\":\"SpatialDropout1D\"", "\"name\":\"spatial_dropout1d\"", "\"rate\":0.3"})
    EXPECT_NE(config.find(expected), std::string::npos) << expected << " in " << config;
  const Tensor x = padded_inputs();
  Model back = load_keras_model_bytes(bytes, "sd.keras");
  EXPECT_EQ(back.layer(1).type(), "SpatialDropout1D");
  EXPECT_TRUE(back.mask_warnings().empty());
  const Tensor y = model.predict(x), z = back.predict(x);
  ASSERT_EQ(y.shape(), z.shape());
  EXPECT_EQ(std::memcmp(y.data(), z.data(), size_t(y.numel()) * sizeof(float)), 0);
}

namespace {

Sequential time_distributed_model() {
  Sequential model;
  model.add(Masking(MaskingOptions{.input_shape = {5, 3}}));
  model.add(TimeDistributed(Dense(4, {.activation = "relu"})));
  model.add(LSTM(3, {.return_sequences = true}));
  model.add(TimeDistributed(Dense(2).named("head")));
  model.build(Shape{5, 3});
  testkit::randomize(model, 7);
  return model;
}

}  // namespace

// As Keras 3 writes them: layers/time_distributed/layer/vars/0..1, named as the wrapped
// layer, the wrapper's own vars empty and named.
TEST(KerasRecurrent, TimeDistributedWeightsLieUnderTheWrappedLayer) {
  Sequential model = time_distributed_model();
  const std::string bytes = keras_file_bytes(model);
  detail::ZipReader archive(bytes, "td.keras", {});
  detail::Hdf5Reader weights(archive.read("model.weights.h5", 1 << 24), "model.weights.h5");
  struct Expected {
    std::string group, wrapped;
    std::vector<std::vector<int64_t>> shapes;
  };
  for (const Expected& e : {Expected{"time_distributed", "dense", {{3, 4}, {4}}},
                            Expected{"time_distributed_1", "head", {{3, 2}, {2}}}}) {
    const std::string layer = "layers/" + e.group;
    EXPECT_TRUE(weights.children(layer + "/vars").empty()) << layer;
    EXPECT_EQ(weights.string_attribute(layer + "/vars", "name"), std::vector<std::string>{e.group}) << layer;
    EXPECT_EQ(weights.string_attribute(layer + "/layer/vars", "name"), std::vector<std::string>{e.wrapped}) << layer;
    for (size_t i = 0; i < e.shapes.size(); ++i)
      EXPECT_EQ(weights.dataset_shape(layer + "/layer/vars/" + std::to_string(i)), e.shapes[i]) << layer << " " << i;
  }
  const std::string config = archive.read("config.json", 1 << 20);
  for (const char* expected : {"\"class_name\":\"TimeDistributed\"", "\"name\":\"head\"", "\"module\":\"keras.layers\""})
    EXPECT_NE(config.find(expected), std::string::npos) << expected;
}

TEST(KerasRecurrent, AnExportedTimeDistributedModelComesBackBitIdentically) {
  Sequential model = time_distributed_model();
  const Tensor x = padded_inputs();
  Model back = load_keras_model_bytes(keras_file_bytes(model), "td.keras");
  EXPECT_EQ(back.mask_warnings(), model.mask_warnings());  // the output's mask only, as the original's
  const Tensor y = model.predict(x), z = back.predict(x);
  ASSERT_EQ(y.shape(), z.shape());
  EXPECT_EQ(std::memcmp(y.data(), z.data(), size_t(y.numel()) * sizeof(float)), 0);
  const auto path = std::filesystem::temp_directory_path() / ("citadel_td_" + std::to_string(::getpid()) + ".weights.h5");
  save_keras_weights(model, path.string());
  Sequential twin = time_distributed_model();
  testkit::randomize(twin, 13);
  load_keras_weights(twin, path.string());
  const Tensor w = twin.predict(x);
  EXPECT_EQ(std::memcmp(y.data(), w.data(), size_t(y.numel()) * sizeof(float)), 0);
  std::filesystem::remove(path);
}

// An encoder's states into a decoder (LSTM's h into a GRU) and its cell state as a second
// output: the .keras file writes Keras 3's form — tensor indices 1 and 2 of the encoder's
// call, the decoder's initial_state argument — and reads back bit for bit.
TEST(KerasRecurrent, AnEncoderDecoderWithStatesComesBackBitIdentically) {
  const SymbolicTensor source = Input({5, 3}, {.name = "source"}), start = Input({4, 2}, {.name = "start"});
  const auto encoded = LSTM(4, {.return_state = true}).named("encoder").call({Masking(0.0f).named("pad")(source)});
  const SymbolicTensor decoded = GRU(4).named("decoder")({start, encoded[1]});
  Model model({source, start}, {Dense(2).named("head")(decoded), encoded[2]});
  testkit::randomize(model, 5);
  const std::string bytes = keras_file_bytes(model);
  detail::ZipReader archive(bytes, "seq2seq.keras", {});
  const std::string config = archive.read("config.json", 1 << 20);
  EXPECT_NE(config.find("\"initial_state\""), std::string::npos);
  EXPECT_NE(config.find("[\"encoder\",0,1]"), std::string::npos);
  EXPECT_NE(config.find("[\"encoder\",0,2]"), std::string::npos);
  EXPECT_EQ(config.find("OutputPart"), std::string::npos);
  Model back = load_keras_model_bytes(bytes, "seq2seq.keras");
  std::vector<Tensor> x = testkit::random_inputs(model, 3, 6);
  for (int64_t d = 0; d < 3; ++d) x[0][(0 * 5 + 4) * 3 + d] = 0.0f;  // a padded last step
  const std::vector<Tensor> y = model.predict({ConstTensorView(x[0]), ConstTensorView(x[1])});
  const std::vector<Tensor> z = back.predict({ConstTensorView(x[0]), ConstTensorView(x[1])});
  ASSERT_EQ(y.size(), 2u);
  ASSERT_EQ(z.size(), 2u);
  for (size_t k = 0; k < 2; ++k) {
    ASSERT_EQ(y[k].shape(), z[k].shape());
    EXPECT_EQ(std::memcmp(y[k].data(), z[k].data(), size_t(y[k].numel()) * sizeof(float)), 0) << k;
  }
}

}  // namespace keras_recurrent_test
