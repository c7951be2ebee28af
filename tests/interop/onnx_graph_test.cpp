// Graphs out as ONNX: several inputs and outputs under the model's names, every merge layer
// as its ONNX operators (Add, Sub, Mul, Mean, Max, Min, Concat; Dot as Mul + ReduceSum or
// MatMul), a shared layer's weights stored once, a tensor read by several nodes, NCHW kept
// across a residual block; recurrent layers, LayerNormalization (opsets 13-17), Conv1D, the
// 1-D poolings, MultiHeadAttention and TimeDistributed; Keras's masks (mask_zero, Masking)
// through recurrent layers, pooling, attention and merges. The graphs compute what citadel
// predicts, checked by an independent numpy evaluator of the ONNX operators
// (onnx_graph_check.py) and by ONNX Runtime where scripts/setup_clients (build/venv-clients)
// or scripts/check_interop (build/venv-interop) installed it.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "citadel/core/error.hpp"
#include "citadel/interop/onnx_export.hpp"
#include "citadel/layers/activation.hpp"
#include "citadel/layers/batch_normalization.hpp"
#include "citadel/layers/bidirectional.hpp"
#include "citadel/layers/conv1d.hpp"
#include "citadel/layers/conv2d.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/layers/embedding.hpp"
#include "citadel/layers/flatten.hpp"
#include "citadel/layers/global_pooling1d.hpp"
#include "citadel/layers/global_pooling2d.hpp"
#include "citadel/layers/layer_normalization.hpp"
#include "citadel/layers/masking.hpp"
#include "citadel/layers/merge.hpp"
#include "citadel/layers/multi_head_attention.hpp"
#include "citadel/layers/pooling1d.hpp"
#include "citadel/layers/pooling2d.hpp"
#include "citadel/layers/recurrent.hpp"
#include "citadel/layers/reshape.hpp"
#include "citadel/layers/spatial_dropout.hpp"
#include "citadel/layers/time_distributed.hpp"
#include "random_model_values.hpp"

namespace citadel {
namespace onnx_graph_test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using testkit::random_inputs;
using testkit::randomize;

// Two inputs; a layer shared by both; every element-wise merge (Add and Multiply over three
// tensors, so as chains), Dot of two vectors plain and normalized, Concatenate; two outputs.
Model merges_graph() {
  const SymbolicTensor a = Input({4}, {.name = "a"}), b = Input({4}, {.name = "b"});
  Dense shared(4, {.activation = "tanh"});
  shared.named("shared");
  const SymbolicTensor left = shared(a), right = shared(b);
  const SymbolicTensor h = Dense(4, {.activation = "relu"})(a);
  const SymbolicTensor merged = Concatenate()(
      {Add()({left, right, h}), Subtract()({left, right}), Multiply()({left, right, h}), Average()({left, right}),
       Maximum()({left, right, h}), Minimum()({left, right}), Dot({.axes = {1, 1}})({left, right}),
       Dot({.axes = {1, 1}, .normalize = true})({a, b})});
  const SymbolicTensor cls = Dense(3, {.activation = "softmax"}).named("cls")(merged);
  const SymbolicTensor amount = Dense(1).named("amount")(Add()({left, right}));
  return Model({a, b}, {cls, amount}, {.name = "merges"});
}

// Dot on matrices: (2, 3)·(2, 3) over the rows and over the columns, and (2, 3)·(3).
Model matrix_dot_graph() {
  const SymbolicTensor x = Input({6}, {.name = "x"}), v = Input({3}, {.name = "v"});
  const SymbolicTensor m = Reshape({2, 3})(x);
  const SymbolicTensor columns = Flatten()(Dot({.axes = {2, 2}})({m, m}));  // (2, 2)
  const SymbolicTensor rows = Flatten()(Dot({.axes = {1, 1}})({m, m}));     // (3, 3)
  const SymbolicTensor applied = Dot({.axes = {2, 1}})({m, v});             // (2)
  const SymbolicTensor scored = Dot({.axes = {1, 2}, .normalize = true})({v, m});  // (2)
  return Model({x, v}, {Dense(2).named("out")(Concatenate()({columns, rows, applied, scored}))}, {.name = "dots"});
}

// A residual block of convolutions, its activation h read by the second convolution, the
// add and a channel concatenation: all in NCHW between one transpose in and one out.
Model conv_residual_graph() {
  const SymbolicTensor image = Input({6, 6, 2}, {.name = "image"});
  const SymbolicTensor h = Activation("relu")(BatchNormalization()(Conv2D(4, 3, {.padding = "same"})(image)));
  const SymbolicTensor block = BatchNormalization()(Conv2D(4, 3, {.padding = "same"})(h));
  const SymbolicTensor joined = Concatenate({.axis = -1})({Add()({h, block}), h});
  const SymbolicTensor pooled = MaxPooling2D({2, 2})(joined);
  const SymbolicTensor cls = Dense(3, {.activation = "softmax"}).named("cls")(Flatten()(pooled));
  const SymbolicTensor mean = Dense(1).named("mean")(GlobalAveragePooling2D()(h));
  return Model({image}, {cls, mean}, {.name = "conv_residual"});
}

// The Python with onnxruntime: scripts/setup_clients's build/venv-clients, else
// build/venv-interop (scripts/check_interop's); "" when neither has it.
std::string onnxruntime_python() {
  std::string clients = CITADEL_ONNXRUNTIME_PYTHON;
  std::string interop = clients;
  interop.replace(interop.rfind("venv-clients"), 12, "venv-interop");
  for (const std::string& python : {clients, interop}) {
    const std::string probe = python + " -c 'import onnxruntime' 2>/dev/null";
    if (fs::exists(python) && std::system(probe.c_str()) == 0) return python;
  }
  return "";
}

onnx::ModelProto parsed(const std::string& bytes) {
  onnx::ModelProto proto;
  EXPECT_TRUE(proto.ParseFromString(bytes));
  return proto;
}

std::multiset<std::string> op_types(const onnx::ModelProto& proto) {
  std::multiset<std::string> ops;
  for (const auto& node : proto.graph().node()) ops.insert(node.op_type());
  return ops;
}

json as_json(const Tensor& x) {
  std::vector<int64_t> dims = x.shape().dims();
  int64_t at = 0;
  std::function<json(size_t)> nest = [&](size_t axis) {
    json list = json::array();
    for (int64_t i = 0; i < dims[axis]; ++i) list.push_back(axis + 1 == dims.size() ? json(x[at++]) : nest(axis + 1));
    return list;
  };
  return nest(0);
}

// Writes the graph, inputs and citadel's predictions; runs the checker (numpy, or ONNX
// Runtime under `python`); returns its exit status.
int run_check(Model& model, const std::string& onnx_bytes, const std::string& python, bool runtime,
              const std::vector<Tensor>* given = nullptr) {
  const fs::path dir = fs::temp_directory_path() / ("citadel_onnx_graph_" + std::to_string(::getpid()) + "_" +
                                                    model.name() + (runtime ? "_runtime" : ""));
  fs::create_directories(dir);
  std::ofstream(dir / "model.onnx", std::ios::binary) << onnx_bytes;
  const std::vector<Tensor> x = given != nullptr ? *given : random_inputs(model, 5, 11);
  json inputs, expected;
  const std::vector<std::string> input_names = model.input_names(), output_names = model.output_names();
  for (size_t i = 0; i < x.size(); ++i) inputs[input_names[i]] = as_json(x[i]);
  const std::vector<Tensor> y = model.predict(std::vector<ConstTensorView>(x.begin(), x.end()));
  for (size_t k = 0; k < y.size(); ++k) expected[output_names[k]] = as_json(y[k]);
  std::ofstream(dir / "inputs.json") << inputs.dump();
  std::ofstream(dir / "expected.json") << expected.dump();
  const std::string command = python + " " + CITADEL_TEST_SOURCE_DIR + "/interop/onnx_graph_check.py " +
                              dir.string() + (runtime ? " --runtime" : "");
  const int status = std::system(command.c_str());
  fs::remove_all(dir);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(OnnxGraphExport, InputsAndOutputsKeepTheModelsNamesAndMergesBecomeTheirOperators) {
  Model model = merges_graph();
  randomize(model, 1);
  const onnx::ModelProto proto = parsed(onnx_model_bytes(model));
  ASSERT_EQ(proto.graph().input_size(), 2);
  EXPECT_EQ(proto.graph().input(0).name(), "a");
  EXPECT_EQ(proto.graph().input(1).name(), "b");
  ASSERT_EQ(proto.graph().output_size(), 2);
  EXPECT_EQ(proto.graph().output(0).name(), "cls");
  EXPECT_EQ(proto.graph().output(1).name(), "amount");
  EXPECT_EQ(proto.graph().output(1).type().tensor_type().shape().dim(1).dim_value(), 1);
  const std::multiset<std::string> ops = op_types(proto);
  for (const char* op : {"Add", "Sub", "Mul", "Mean", "Max", "Min", "Concat", "ReduceSum", "Sqrt", "Div"})
    EXPECT_GE(ops.count(op), 1u) << op;
  // Add and Multiply of three tensors: chains of two nodes each.
  EXPECT_GE(ops.count("Add"), 3u);  // two for the three-way add, one for the amount's
  // The shared layer's weights are stored once, read by both its calls.
  int shared_kernels = 0;
  for (const auto& initializer : proto.graph().initializer())
    shared_kernels += initializer.name().rfind("shared_kernel", 0) == 0;
  EXPECT_EQ(shared_kernels, 1);
  int gemms_reading_it = 0;
  for (const auto& node : proto.graph().node())
    if (node.op_type() == "Gemm" && node.input(1).rfind("shared_kernel", 0) == 0) ++gemms_reading_it;
  EXPECT_EQ(gemms_reading_it, 2);
}

TEST(OnnxGraphExport, DotBecomesMatMulOnMatricesAndAResidualBlockStaysInNchw) {
  Model dots = matrix_dot_graph();
  randomize(dots, 2);
  const std::multiset<std::string> dot_ops = op_types(parsed(onnx_model_bytes(dots)));
  EXPECT_EQ(dot_ops.count("MatMul"), 4u);
  EXPECT_GE(dot_ops.count("Unsqueeze"), 2u);  // the vector v as (N, 3, 1) and (N, 1, 3)
  Model conv = conv_residual_graph();
  randomize(conv, 3);
  const onnx::ModelProto proto = parsed(onnx_model_bytes(conv));
  const std::multiset<std::string> ops = op_types(proto);
  // One transpose into NCHW, one back before Flatten; h feeds four nodes in NCHW, the
  // channel concatenation runs on ONNX's axis 1.
  EXPECT_EQ(ops.count("Transpose"), 2u);
  for (const auto& node : proto.graph().node())
    if (node.op_type() == "Concat") {
      EXPECT_EQ(node.attribute(0).i(), 1);
    }
  std::map<std::string, int> readers;
  for (const auto& node : proto.graph().node())
    for (const auto& input : node.input()) ++readers[input];
  int shared_values = 0;
  for (const auto& [name, count] : readers) shared_values += count >= 4;
  EXPECT_GE(shared_values, 1) << "the relu's output is one value read by several nodes";
}

TEST(OnnxGraphExport, GraphsComputeWhatCitadelPredictsInAnIndependentEvaluator) {
  uint32_t seed = 10;
  for (const auto& make : std::vector<std::function<Model()>>{merges_graph, matrix_dot_graph, conv_residual_graph}) {
    Model model = make();
    SCOPED_TRACE(model.name());
    randomize(model, seed++);
    EXPECT_EQ(run_check(model, onnx_model_bytes(model), CITADEL_PYTHON3, false), 0);
  }
}

TEST(OnnxGraphExport, GraphsComputeWhatCitadelPredictsInOnnxRuntime) {
  const std::string python = onnxruntime_python();
  if (python.empty())
    GTEST_SKIP() << "onnxruntime is not installed (scripts/setup_clients puts it in build/venv-clients)";
  uint32_t seed = 20;
  for (const auto& make : std::vector<std::function<Model()>>{merges_graph, matrix_dot_graph, conv_residual_graph}) {
    Model model = make();
    SCOPED_TRACE(model.name());
    randomize(model, seed++);
    EXPECT_EQ(run_check(model, onnx_model_bytes(model), python, true), 0);
  }
}

// A recurrent graph checked by the numpy evaluator (ONNX's operator pages, written out in
// onnx_graph_check.py) and, where installed, by ONNX Runtime.
void expect_onnx_computes_what_citadel_predicts(Model& model, const OnnxExportOptions& options = {},
                                                const std::vector<Tensor>* given = nullptr) {
  const std::string bytes = onnx_model_bytes(model, options);
  EXPECT_EQ(run_check(model, bytes, CITADEL_PYTHON3, false, given), 0) << "numpy evaluator";
  const std::string python = onnxruntime_python();
  if (!python.empty()) {
    EXPECT_EQ(run_check(model, bytes, python, true, given), 0) << "ONNX Runtime";
  }
}

// Every recurrent cell as ONNX's LSTM, GRU (both reset_after forms) and RNN: sequences and
// last outputs, go_backwards both ways, relu and no bias among them.
TEST(OnnxGraphExport, RecurrentLayersComputeWhatCitadelPredicts) {
  const SymbolicTensor x = Input({6, 3}, {.name = "x"});
  SymbolicTensor h = LSTM(5, {.return_sequences = true}).named("lstm")(x);
  h = GRU(4, {.return_sequences = true, .go_backwards = true, .reset_after = false}).named("gru_v1")(h);
  h = SimpleRNN(4, {.activation = "relu", .use_bias = false, .return_sequences = true}).named("rnn")(h);
  const SymbolicTensor last = GRU(3).named("gru")(h);
  const SymbolicTensor back = LSTM(2, {.activation = "relu", .go_backwards = true}).named("lstm_back")(x);
  Model model({x}, {Dense(2).named("out")(last), back}, {.name = "recurrent"});
  randomize(model, 30);
  expect_onnx_computes_what_citadel_predicts(model);
}

// Bidirectional as one bidirectional node: every merge mode, sequences and last outputs,
// each cell, GRU's reset_after both ways, an explicit backward layer with its own activation.
TEST(OnnxGraphExport, BidirectionalLayersComputeWhatCitadelPredicts) {
  const SymbolicTensor x = Input({5, 3}, {.name = "frames"});
  SymbolicTensor h = Bidirectional(LSTM(3, {.return_sequences = true})).named("bi_lstm")(x);
  h = Bidirectional(GRU(2, {.return_sequences = true}), {.merge_mode = "sum"}).named("bi_gru")(h);
  h = Bidirectional(GRU(2, {.return_sequences = true, .reset_after = false}),
                    GRU(2, {.activation = "relu", .return_sequences = true, .go_backwards = true, .reset_after = false}),
                    {.merge_mode = "ave"})
          .named("bi_ave")(h);
  const SymbolicTensor last = Bidirectional(SimpleRNN(3), {.merge_mode = "mul"}).named("bi_rnn")(h);
  const SymbolicTensor lstm_last = Bidirectional(LSTM(2, {.use_bias = false})).named("bi_last")(x);
  Model model({x}, {Dense(2).named("out")(last), lstm_last}, {.name = "bidirectional"});
  randomize(model, 32);
  expect_onnx_computes_what_citadel_predicts(model);
}

// Keras's seq2seq: an encoder's final states (return_state) as a decoder's initial states, a
// GRU's state as an output, a Bidirectional's four states out and two given in.
TEST(OnnxGraphExport, RecurrentStatesInAndOutComputeWhatCitadelPredicts) {
  const SymbolicTensor source = Input({6, 3}, {.name = "source"}), target = Input({4, 2}, {.name = "target"});
  const auto encoded = LSTM(3, {.return_state = true}).named("encoder").call({source});
  const SymbolicTensor decoded =
      LSTM(3, {.return_sequences = true}).named("decoder")({target, encoded[1], encoded[2]});
  const auto summary = GRU(2, {.return_state = true}).named("summary").call({decoded});
  const auto both = Bidirectional(LSTM(2, {.return_sequences = true, .return_state = true})).named("bi").call({source});
  const SymbolicTensor restarted =
      Bidirectional(GRU(2)).named("bi_given")({target, both[1], both[3]});  // the two h states
  Model model({source, target},
              {decoded, summary[1], both[0], both[2], both[4], restarted},
              {.name = "seq2seq"});
  randomize(model, 33);
  expect_onnx_computes_what_citadel_predicts(model);
}

// Token ids (float32, as they travel) through an Embedding's Cast and Gather into an LSTM.
TEST(OnnxGraphExport, AnEmbeddingBeforeAnLstmComputesWhatCitadelPredicts) {
  const SymbolicTensor ids = Input({7}, {.name = "ids", .dtype = "int32"});
  const SymbolicTensor h = LSTM(4).named("lstm")(Embedding(12, 5).named("embedding")(ids));
  Model model({ids}, {Dense(3).named("out")(h)}, {.name = "text"});
  randomize(model, 31);
  Tensor x(Shape{5, 7});
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = float((i * 5 + 3) % 12);  // every id, 0 and 11 included
  const std::vector<Tensor> given{x};
  EXPECT_EQ(run_check(model, onnx_model_bytes(model), CITADEL_PYTHON3, false, &given), 0) << "numpy evaluator";
  const std::string python = onnxruntime_python();
  if (!python.empty()) {
    EXPECT_EQ(run_check(model, onnx_model_bytes(model), python, true, &given), 0) << "ONNX Runtime";
  }
}

// Rows of token ids (as floats) padded every way a mask can be: on the right, on the left, in
// the middle, not at all, wholly; the ids themselves from 1 to 11.
Tensor padded_ids(int64_t steps) {
  const int64_t N = 6;
  Tensor x(Shape{N, steps});
  for (int64_t n = 0; n < N; ++n)
    for (int64_t t = 0; t < steps; ++t) {
      const bool padding = (n == 0 && t >= 4) || (n == 1 && t < 3) || (n == 2 && (t == 2 || t == 3 || t == 5)) ||
                           n == 4 || (n == 5 && t != steps - 1);
      x[n * steps + t] = padding ? 0.0f : float(1 + (n * 7 + t * 3) % 11);
    }
  return x;
}

// mask_zero's mask through every recurrent cell and setting: sequences and last outputs,
// go_backwards, zero_output_for_mask, Bidirectional (which zeroes masked outputs), the mask
// passed on by return_sequences to the next layer, return_state's states. Left, right and
// middle padding and an all-padded row compute what citadel predicts.
TEST(OnnxGraphExport, MaskedRecurrentLayersComputeWhatCitadelPredicts) {
  const SymbolicTensor ids = Input({8}, {.name = "ids", .dtype = "int32"});
  const SymbolicTensor e = Embedding(12, 4, {.mask_zero = true}).named("tokens")(ids);
  SymbolicTensor h = LSTM(3, {.return_sequences = true}).named("lstm")(e);
  h = GRU(3, {.return_sequences = true, .go_backwards = true, .zero_output_for_mask = true}).named("gru_back")(h);
  h = SimpleRNN(2, {.return_sequences = true, .go_backwards = true}).named("rnn_back")(h);
  const SymbolicTensor last = GRU(2, {.reset_after = false}).named("gru_last")(h);
  const SymbolicTensor back = LSTM(2, {.go_backwards = true}).named("lstm_back")(e);
  const SymbolicTensor both = Bidirectional(GRU(2, {.return_sequences = true})).named("bi")(e);
  const SymbolicTensor bi_last = Bidirectional(LSTM(2), {.merge_mode = "sum"}).named("bi_last")(both);
  const auto states = LSTM(2, {.return_sequences = true, .return_state = true}).named("states").call({e});
  Model model({ids}, {last, back, both, bi_last, states[0], states[1], states[2]}, {.name = "masked_recurrent"});
  randomize(model, 34);
  const std::vector<Tensor> given{padded_ids(8)};
  expect_onnx_computes_what_citadel_predicts(model, {}, &given);
}

// Initial states given to masked layers: a row that keeps no step keeps them, and steps
// before the first kept one show them.
TEST(OnnxGraphExport, MaskedRecurrentLayersWithInitialStatesComputeWhatCitadelPredicts) {
  const SymbolicTensor ids = Input({8}, {.name = "ids", .dtype = "int32"}), start = Input({6}, {.name = "start"});
  const SymbolicTensor e = Embedding(12, 3, {.mask_zero = true}).named("tokens")(ids);
  const SymbolicTensor h0 = Dense(2, {.activation = "tanh"}).named("h0")(start);
  const SymbolicTensor c0 = Dense(2, {.activation = "tanh"}).named("c0")(start);
  const SymbolicTensor decoded = LSTM(2, {.return_sequences = true}).named("decoder")({e, h0, c0});
  const auto ended = GRU(2, {.return_sequences = true, .return_state = true, .go_backwards = true}).named("ender").call({e, h0});
  const SymbolicTensor both = Bidirectional(SimpleRNN(2)).named("bi")({e, h0, c0});
  Model model({ids, start}, {decoded, ended[0], ended[1], both}, {.name = "masked_initial_states"});
  randomize(model, 35);
  Tensor starts(Shape{6, 6});
  for (int64_t i = 0; i < starts.numel(); ++i) starts[i] = float((i * 7) % 13) / 6.0f - 1.0f;
  const std::vector<Tensor> given{padded_ids(8), starts};
  expect_onnx_computes_what_citadel_predicts(model, {}, &given);
}

// Masking's mask (steps whose every feature is the mask value) through the layers that read
// it beside those that pass or drop it: LayerNormalization and TimeDistributed pass it,
// GlobalAveragePooling1D averages the kept steps, Conv1D drops it, MultiHeadAttention's query
// and value masks with the causal one, Add (OR) and Concatenate along time (one input
// unmasked), TimeDistributed(Dense).
TEST(OnnxGraphExport, MasksThroughPoolingAttentionAndMergesComputeWhatCitadelPredicts) {
  const SymbolicTensor x = Input({6, 3}, {.name = "frames"}), y = Input({6, 3}, {.name = "other"});
  const SymbolicTensor masked = Masking(0.0f).named("padding")(x);
  const SymbolicTensor other = Masking(0.0f).named("other_padding")(y);
  const SymbolicTensor normed = LayerNormalization().named("norm")(TimeDistributed(Dense(4)).named("per_step")(masked));
  const SymbolicTensor average = GlobalAveragePooling1D().named("average")(normed);
  const SymbolicTensor peak = GlobalMaxPooling1D().named("peak")(normed);
  const SymbolicTensor conv = GlobalAveragePooling1D().named("conv_average")(Conv1D(2, 3).named("conv")(masked));
  const SymbolicTensor attended =
      MultiHeadAttention(2, 2, {.use_causal_mask = true}).named("attention")({normed, TimeDistributed(Dense(4)).named("kv")(other)});
  const SymbolicTensor either = Add().named("either")({masked, other});
  const SymbolicTensor joined = Concatenate({.axis = 1}).named("joined")({either, y});
  const SymbolicTensor stepped = TimeDistributed(Dense(2, {.activation = "relu"})).named("stepped")(joined);
  const SymbolicTensor summary = LSTM(2).named("summary")(stepped);
  const SymbolicTensor pooled = GlobalAveragePooling1D().named("attended_average")(attended);
  Model model({x, y}, {average, peak, conv, pooled, summary}, {.name = "masked_layers"});
  randomize(model, 36);
  std::vector<Tensor> given = random_inputs(model, 5, 12);
  const int64_t zeroed[5][2] = {{0, 5}, {0, 0}, {1, 2}, {2, 3}, {3, 4}};  // (row, step) of x, then of y
  for (const auto& [n, t] : zeroed) std::fill_n(given[0].data() + (n * 6 + t) * 3, 3, 0.0f);
  for (int64_t t = 0; t < 6; ++t) std::fill_n(given[0].data() + (4 * 6 + t) * 3, 3, 0.0f);  // row 4 wholly padded
  for (int64_t t = 2; t < 6; ++t) std::fill_n(given[1].data() + (4 * 6 + t) * 3, 3, 0.0f);
  std::fill_n(given[1].data() + (1 * 6 + 0) * 3, 3, 0.0f);
  expect_onnx_computes_what_citadel_predicts(model, {}, &given);
}

// LayerNormalization with gamma and beta, without either, without both, its epsilon, on
// sequences and on rows.
Model layer_normalization_graph() {
  const SymbolicTensor x = Input({5, 6}, {.name = "x"}), rows = Input({7}, {.name = "rows"});
  SymbolicTensor h = LayerNormalization().named("ln")(x);
  h = LayerNormalization({.center = false}).named("ln_no_beta")(h);
  h = LayerNormalization({.epsilon = 0.5f, .scale = false}).named("ln_no_gamma")(h);
  h = LayerNormalization({.center = false, .scale = false}).named("ln_plain")(h);
  const SymbolicTensor r = LayerNormalization({.epsilon = 1e-2f}).named("ln_rows")(rows);
  return Model({x, rows}, {h, r}, {.name = "layer_normalization"});
}

// ONNX's LayerNormalization from opset 17; before, ReduceMean (axes an attribute) and its
// arithmetic. Both compute what citadel predicts.
TEST(OnnxGraphExport, LayerNormalizationComputesWhatCitadelPredictsAtOpsets13And17) {
  Model model = layer_normalization_graph();
  randomize(model, 40);
  for (const int opset : {13, 16, 17}) {
    SCOPED_TRACE(opset);
    OnnxExportOptions options;
    options.opset = opset;
    const std::multiset<std::string> ops = op_types(parsed(onnx_model_bytes(model, options)));
    EXPECT_EQ(ops.count("LayerNormalization"), opset >= 17 ? 5u : 0u);
    EXPECT_EQ(ops.count("ReduceMean"), opset >= 17 ? 0u : 10u);
    expect_onnx_computes_what_citadel_predicts(model, options);
  }
}

// Conv1D with every padding (Keras's "same" split for odd and even kernels, strided and
// dilated; causal dilated and strided), with and without bias, relu/tanh/softmax; the 1-D
// poolings valid and same (an odd step padded after only); SpatialDropout1D; the global
// 1-D poolings; a GRU reading a pooled sequence.
Model conv1d_graph() {
  const SymbolicTensor x = Input({13, 3}, {.name = "x"});
  const SymbolicTensor a = Conv1D(4, 3, {.padding = "same", .activation = "relu"}).named("same_odd")(x);
  const SymbolicTensor b = Conv1D(4, 4, {.strides = 2, .padding = "same"}).named("same_even_strided")(x);
  const SymbolicTensor c =
      Conv1D(3, 3, {.padding = "causal", .dilation_rate = 2, .activation = "tanh"}).named("causal_dilated")(a);
  const SymbolicTensor d = Conv1D(3, 2, {.strides = 3, .padding = "causal"}).named("causal_strided")(x);
  const SymbolicTensor e =
      Conv1D(5, 3, {.dilation_rate = 2, .activation = "softmax", .use_bias = false}).named("valid_dilated")(c);
  const SymbolicTensor f = Conv1D(3, 2, {.padding = "same", .dilation_rate = 3}).named("same_dilated_even")(x);
  const SymbolicTensor max_valid = MaxPooling1D(2).named("max_valid")(a);
  const SymbolicTensor avg_same = AveragePooling1D(2, {.strides = 2, .padding = "same"}).named("avg_same")(f);
  const SymbolicTensor max_same = MaxPooling1D(3, {.strides = 2, .padding = "same"}).named("max_same")(a);
  const SymbolicTensor avg_valid = AveragePooling1D(3, {.strides = 1}).named("avg_valid")(c);
  const SymbolicTensor dropped = SpatialDropout1D(0.3f).named("dropped")(b);
  const SymbolicTensor globals = Concatenate()({GlobalMaxPooling1D().named("global_max")(e),
                                                GlobalAveragePooling1D().named("global_average")(d),
                                                GRU(3).named("gru")(max_valid)});
  return Model({x}, {Dense(2).named("out")(globals), dropped, avg_same, max_same, avg_valid, e},
               {.name = "conv1d"});
}

TEST(OnnxGraphExport, Conv1DAndThe1DPoolingsComputeWhatCitadelPredicts) {
  Model model = conv1d_graph();
  randomize(model, 41);
  const onnx::ModelProto proto = parsed(onnx_model_bytes(model));
  const std::multiset<std::string> ops = op_types(proto);
  EXPECT_EQ(ops.count("Conv"), 6u);
  EXPECT_EQ(ops.count("MaxPool"), 2u);
  EXPECT_EQ(ops.count("AveragePool"), 2u);
  EXPECT_EQ(ops.count("ReduceMax"), 1u);
  EXPECT_EQ(ops.count("ReduceMean"), 1u);
  for (const auto& node : proto.graph().node())
    if (node.op_type() == "Conv" && node.name().rfind("causal_dilated", 0) == 0)
      for (const auto& attribute : node.attribute())
        if (attribute.name() == "pads") {
          EXPECT_EQ(attribute.ints(0), 4);  // (3 − 1)·2 steps before
          EXPECT_EQ(attribute.ints(1), 0);
        }
  expect_onnx_computes_what_citadel_predicts(model);
}

// Self-attention with the causal mask, then a residual Add and LayerNormalization;
// cross-attention with its own keys, value_dim ≠ key_dim and output_shape; attention
// without biases, causal over fewer key steps than query steps.
Model attention_graph() {
  const SymbolicTensor x = Input({5, 6}, {.name = "x"}), memory = Input({4, 3}, {.name = "memory"}),
                       keys = Input({4, 2}, {.name = "keys"});
  const SymbolicTensor self = MultiHeadAttention(2, 3, {.use_causal_mask = true}).named("self_attention")({x, x});
  const SymbolicTensor h = LayerNormalization().named("norm")(Add()({x, self}));
  const SymbolicTensor cross =
      MultiHeadAttention(3, 2, {.value_dim = 4, .output_shape = 5}).named("cross")({h, memory, keys});
  const SymbolicTensor plain =
      MultiHeadAttention(1, 4, {.use_bias = false, .use_causal_mask = true}).named("plain")({cross, memory});
  return Model({x, memory, keys}, {Dense(2).named("out")(GlobalAveragePooling1D()(plain)), cross},
               {.name = "attention"});
}

TEST(OnnxGraphExport, MultiHeadAttentionComputesWhatCitadelPredicts) {
  Model model = attention_graph();
  randomize(model, 42);
  const std::multiset<std::string> ops = op_types(parsed(onnx_model_bytes(model)));
  EXPECT_EQ(ops.count("Softmax"), 3u);
  EXPECT_EQ(ops.count("MatMul"), 3u * 6u);  // q, k, v, scores, context, output per call
  for (const int opset : {13, 17}) {
    SCOPED_TRACE(opset);
    OnnxExportOptions options;
    options.opset = opset;
    expect_onnx_computes_what_citadel_predicts(model, options);
  }
}

// TimeDistributed over frames: a Conv2D per frame (NCHW inside, NHWC at the fold), pooled
// per frame, read by an LSTM.
TEST(OnnxGraphExport, TimeDistributedFramesComputeWhatCitadelPredicts) {
  const SymbolicTensor clip = Input({3, 5, 5, 2}, {.name = "clip"});
  const SymbolicTensor conv = TimeDistributed(Conv2D(3, 3, {.padding = "same", .activation = "relu"})).named("frames")(clip);
  const SymbolicTensor pooled = TimeDistributed(GlobalAveragePooling2D()).named("pooled")(conv);
  const SymbolicTensor flat = TimeDistributed(Flatten()).named("flat")(TimeDistributed(MaxPooling2D({2, 2})).named("max")(conv));
  Model model({clip}, {LSTM(2).named("summary")(pooled), flat}, {.name = "time_distributed"});
  randomize(model, 37);
  expect_onnx_computes_what_citadel_predicts(model);
}

TEST(OnnxGraphExport, PreprocessingGoesInFrontOfOneInputOnly) {
  Model model = merges_graph();
  OnnxExportOptions options;
  options.preprocessing = R"({"scaling": "standard", "imputation": "none", "mean": [0, 0, 0, 0],
                              "scale": [1, 1, 1, 1]})";
  try {
    onnx_model_bytes(model, options);
    ADD_FAILURE() << "exported";
  } catch (const NotImplementedError& e) {
    EXPECT_NE(std::string(e.what()).find("has 2; export it without the preprocessing"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace onnx_graph_test
}  // namespace citadel
