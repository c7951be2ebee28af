// Recurrent layers' states: return_state (the output and the final states, as Keras 3 gives
// them) and initial states (Keras's initial_state=), against the direct double loop of
// recurrent_reference.hpp — values, masks (right, left and all padding), go_backwards and
// the gradients of the input, weights and initial states — then in graph models: an
// encoder's states into a decoder (gradient-checked end to end, trained, written to a Keras
// config and read back).
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"
#include "citadel/io/model_file.hpp"
#include "citadel/layers/bidirectional.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/layers/masking.hpp"
#include "citadel/layers/recurrent.hpp"
#include "citadel/layers/time_distributed.hpp"
#include "citadel/model/model.hpp"
#include "citadel/model/model_config.hpp"
#include "citadel/model/sequential.hpp"
#include "citadel/optim/optimizer.hpp"
#include "grad_check.hpp"
#include "recurrent_reference.hpp"

namespace recurrent_state_test {

using namespace citadel;
using citadel::testkit::Reference;
using citadel::testkit::reference_forward;

namespace {

struct StateCase {
  std::string what;
  std::function<std::unique_ptr<Layer>()> make;
  Reference ref;
};

std::vector<StateCase> state_cases() {
  std::vector<StateCase> all;
  Reference rnn{"rnn", 3, 2, 5};
  rnn.return_state = true;
  all.push_back(
      {"SimpleRNN", [] { return std::make_unique<SimpleRNN>(3, SimpleRNNOptions{.return_state = true}); }, rnn});
  Reference lstm{"lstm", 3, 2, 5};
  lstm.return_state = true;
  all.push_back({"LSTM", [] { return std::make_unique<LSTM>(3, LSTMOptions{.return_state = true}); }, lstm});
  Reference lstm_seq{"lstm", 2, 3, 4, "tanh", "sigmoid", true, true, true};
  lstm_seq.return_state = true;
  all.push_back({"LSTM sequences, backwards",
                 [] {
                   return std::make_unique<LSTM>(
                       2, LSTMOptions{.return_sequences = true, .return_state = true, .go_backwards = true});
                 },
                 lstm_seq});
  Reference gru{"gru", 3, 2, 5, "tanh", "sigmoid", true, true, false};
  gru.return_state = true;
  all.push_back({"GRU sequences",
                 [] { return std::make_unique<GRU>(3, GRUOptions{.return_sequences = true, .return_state = true}); },
                 gru});
  Reference gru_v1{"gru_v1", 2, 3, 4, "tanh", "sigmoid", true, false, true};
  gru_v1.return_state = true;
  all.push_back({"GRU reset_after=false, backwards",
                 [] {
                   return std::make_unique<GRU>(
                       2, GRUOptions{.return_state = true, .go_backwards = true, .reset_after = false});
                 },
                 gru_v1});
  return all;
}

std::vector<double> to_double(ConstTensorView v) { return {v.data(), v.data() + v.numel()}; }

double relative_error(const std::vector<double>& a, const std::vector<double>& b) {
  double difference = 0, norm = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    difference += (a[i] - b[i]) * (a[i] - b[i]);
    norm += a[i] * a[i] + b[i] * b[i];
  }
  return std::sqrt(difference / std::max(norm, 1e-300));
}

// Rows 0: every step kept; 1: right-padded; 2: left-padded; 3: every step padded.
std::vector<float> padding_mask(int64_t N, int64_t T) {
  std::vector<float> mask(size_t(N * T), 1.0f);
  for (int64_t t = 0; t < T; ++t) {
    if (t >= T - 2) mask[size_t(1 * T + t)] = 0;
    if (t < 2) mask[size_t(2 * T + t)] = 0;
    mask[size_t(3 * T + t)] = 0;
  }
  return mask;
}

// The layer called on {x, h0 (, c0)} with return_state: its packed rows [output, h (, c)]
// against the loop, and every gradient (input, initial states, weights) against central
// differences of the loop.
void check_states(const StateCase& c, bool masked, bool with_initial_state) {
  SCOPED_TRACE(c.what + (masked ? ", masked" : "") + (with_initial_state ? ", initial state" : ""));
  const Reference& ref = c.ref;
  const int64_t N = 4, T = ref.steps, D = ref.features, U = ref.units;
  const int states = ref.cell == "lstm" ? 2 : 1;
  std::vector<Shape> shapes{Shape{N, T, D}};
  if (with_initial_state)
    for (int k = 0; k < states; ++k) shapes.push_back(Shape{N, U});
  auto built = testkit::build_layer(*c.make(), shapes, 3);
  Layer& layer = *built->layer;
  std::vector<Tensor> inputs;
  for (size_t k = 0; k < shapes.size(); ++k) inputs.push_back(testkit::random_input(shapes[k], 10 + k));
  const std::vector<float> mask = masked ? padding_mask(N, T) : std::vector<float>{};
  Tensor mask_tensor(Shape{N, T}, padding_mask(N, T));
  layer.set_input_mask(masked ? ConstTensorView(mask_tensor) : ConstTensorView());
  std::vector<ConstTensorView> views(inputs.begin(), inputs.end());
  Tensor y;
  layer.forward_inputs(views, y, Mode::kTrain);

  std::vector<double> W = to_double(built->params.value(0)), R = to_double(built->params.value(1)),
                      b = to_double(built->params.value(2));
  std::vector<double> x = to_double(inputs[0]), h0, c0;
  if (with_initial_state) h0 = to_double(inputs[1]);
  if (with_initial_state && states == 2) c0 = to_double(inputs[2]);
  const std::vector<double> expected = reference_forward(ref, W, R, b, x, mask, N, {}, {}, h0, c0);
  ASSERT_EQ(size_t(y.numel()), expected.size());
  EXPECT_LT(relative_error(to_double(y), expected), 1e-6);
  if (masked) {  // the all-padded row ends in its initial state
    const int64_t row = y.numel() / N, width = row - states * U;
    for (int64_t j = 0; j < U; ++j) {
      EXPECT_FLOAT_EQ(y[3 * row + width + j], with_initial_state ? inputs[1][3 * U + j] : 0.0f);
      if (states == 2) {
        EXPECT_FLOAT_EQ(y[3 * row + width + U + j], with_initial_state ? inputs[2][3 * U + j] : 0.0f);
      }
    }
  }

  const Tensor r = testkit::random_input(y.shape(), 5);
  built->params.zero_grad();
  std::vector<Tensor> dx(shapes.size());
  std::vector<Tensor*> targets;
  for (Tensor& d : dx) targets.push_back(&d);
  layer.backward_inputs(r, targets);
  auto loss = [&] {
    const std::vector<double> out = reference_forward(ref, W, R, b, x, mask, N, {}, {}, h0, c0);
    double total = 0;
    for (size_t i = 0; i < out.size(); ++i) total += double(r[int64_t(i)]) * out[i];
    return total;
  };
  auto numeric = [&](std::vector<double>& values) {
    std::vector<double> gradient(values.size());
    for (size_t i = 0; i < values.size(); ++i) {
      const double saved = values[i];
      values[i] = saved + 1e-6;
      const double up = loss();
      values[i] = saved - 1e-6;
      const double down = loss();
      values[i] = saved;
      gradient[i] = (up - down) / 2e-6;
    }
    return gradient;
  };
  EXPECT_LT(relative_error(to_double(dx[0]), numeric(x)), 1e-4) << "input gradient";
  EXPECT_LT(relative_error(to_double(built->params.grad(0)), numeric(W)), 1e-4) << "kernel gradient";
  EXPECT_LT(relative_error(to_double(built->params.grad(1)), numeric(R)), 1e-4) << "recurrent gradient";
  EXPECT_LT(relative_error(to_double(built->params.grad(2)), numeric(b)), 1e-4) << "bias gradient";
  if (!with_initial_state) return;
  EXPECT_LT(relative_error(to_double(dx[1]), numeric(h0)), 1e-4) << "initial h gradient";
  if (states == 2) {
    EXPECT_LT(relative_error(to_double(dx[2]), numeric(c0)), 1e-4) << "initial c gradient";
  }
}

}  // namespace

TEST(RecurrentState, ReturnStateAndInitialStatesMatchADirectLoopInDouble) {
  for (const StateCase& c : state_cases())
    for (const bool masked : {false, true})
      for (const bool initial : {false, true}) check_states(c, masked, initial);
}

TEST(RecurrentState, InitialStateGradientsPassTheGenericChecker) {
  // The shared finite-difference checker, in float, covers every input of a call.
  EXPECT_TRUE(testkit::check_input_gradient(LSTM(3, {.return_state = true}), {{2, 4, 3}, {2, 3}, {2, 3}}));
  EXPECT_TRUE(testkit::check_input_gradient(GRU(3, {.return_sequences = true}), {{2, 4, 3}, {2, 3}}));
  EXPECT_TRUE(testkit::check_param_gradients(SimpleRNN(3, {.return_state = true}), {{2, 4, 3}, {2, 3}}));
}

// Bidirectional(LSTM, return_state) on {x, forward h, c, backward h, c}: [merged output,
// forward h, c, backward h, c] against the loop run each way; gradients by the checker.
TEST(RecurrentState, BidirectionalGivesAndTakesBothDirectionsStates) {
  const int64_t N = 3, T = 4, D = 2, U = 3;
  const Bidirectional layer(LSTM(U, {.return_sequences = true, .return_state = true}));
  const std::vector<Shape> shapes{{N, T, D}, {N, U}, {N, U}, {N, U}, {N, U}};
  auto built = testkit::build_layer(layer, shapes, 4);
  std::vector<Tensor> inputs;
  for (size_t k = 0; k < shapes.size(); ++k) inputs.push_back(testkit::random_input(shapes[k], 20 + k));
  std::vector<ConstTensorView> views(inputs.begin(), inputs.end());
  Tensor y;
  built->layer->forward_inputs(views, y, Mode::kInfer);
  auto weights = [&](int first) {
    return std::vector<std::vector<double>>{to_double(built->params.value(first)),
                                            to_double(built->params.value(first + 1)),
                                            to_double(built->params.value(first + 2))};
  };
  Reference forward{"lstm", U, D, T, "tanh", "sigmoid", true, true, false};
  forward.return_state = true;
  Reference backward = forward;
  backward.go_backwards = true;
  const auto wf = weights(0), wb = weights(3);
  const std::vector<double> f = reference_forward(forward, wf[0], wf[1], wf[2], to_double(inputs[0]), {}, N, {}, {},
                                                  to_double(inputs[1]), to_double(inputs[2]));
  const std::vector<double> b = reference_forward(backward, wb[0], wb[1], wb[2], to_double(inputs[0]), {}, N, {}, {},
                                                  to_double(inputs[3]), to_double(inputs[4]));
  const int64_t row = T * 2 * U + 4 * U, own = T * U + 2 * U;  // packed rows: ours, and each direction's
  ASSERT_EQ(y.shape(), Shape({N, row}));
  std::vector<double> expected;
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t t = 0; t < T; ++t) {  // concat: forward step t, backward step T-1-t (its own order reversed)
      for (int64_t j = 0; j < U; ++j) expected.push_back(f[size_t(n * own + t * U + j)]);
      for (int64_t j = 0; j < U; ++j) expected.push_back(b[size_t(n * own + (T - 1 - t) * U + j)]);
    }
    for (int64_t j = 0; j < 2 * U; ++j) expected.push_back(f[size_t(n * own + T * U + j)]);
    for (int64_t j = 0; j < 2 * U; ++j) expected.push_back(b[size_t(n * own + T * U + j)]);
  }
  EXPECT_LT(relative_error(to_double(y), expected), 1e-6);
  EXPECT_TRUE(testkit::check_input_gradient(layer, shapes));
  EXPECT_TRUE(testkit::check_param_gradients(layer, shapes));
  const Bidirectional gru(GRU(2, {.return_state = true}), {.merge_mode = "sum"});
  EXPECT_TRUE(testkit::check_input_gradient(gru, {{2, 3, 2}, {2, 2}, {2, 2}}));
  const auto parts = Bidirectional(GRU(2, {.return_state = true})).call({Input({3, 2})});
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0].shape(), Shape({4}));
}

TEST(RecurrentState, SymbolicCallsGiveKerasOutputsAndRefuseWrongStates) {
  const SymbolicTensor x = Input({5, 2});
  const std::vector<SymbolicTensor> lstm = LSTM(4, {.return_sequences = true, .return_state = true}).call({x});
  ASSERT_EQ(lstm.size(), 3u);
  EXPECT_EQ(lstm[0].shape(), Shape({5, 4}));
  EXPECT_EQ(lstm[1].shape(), Shape({4}));
  EXPECT_EQ(lstm[2].shape(), Shape({4}));
  EXPECT_EQ(GRU(4, {.return_state = true}).call({x}).size(), 2u);
  EXPECT_EQ(SimpleRNN(4).call({x}).size(), 1u);
  // One tensor from a layer of several outputs, a state of the wrong width, a missing state.
  EXPECT_THROW(LSTM(4, {.return_state = true})(x), ValueError);
  EXPECT_THROW(LSTM(4)({x, Input({3}), Input({4})}), ShapeError);
  EXPECT_THROW(LSTM(4)({x, Input({4})}), ValueError);
  Sequential chain;
  EXPECT_THROW(chain.add(GRU(2, {.return_state = true})), ValueError);
}

TEST(RecurrentState, StatesCarryNoMaskAndTheSequenceKeepsIt) {
  const SymbolicTensor x = Input({6, 2});
  const SymbolicTensor masked = Masking(0.0f)(x);
  const auto outputs = LSTM(3, {.return_sequences = true, .return_state = true}).named("states").call({masked});
  const SymbolicTensor pooled = LSTM(2)(outputs[0]);  // reads the mask: no warning
  Model model({x}, {pooled, outputs[1], outputs[2]});
  EXPECT_TRUE(model.mask_warnings().empty()) << model.mask_warnings()[0];
  // Four steps padded on the right (row 0) and on the left (row 1) end in the same states.
  random::set_seed(3);
  const Tensor steps = random::uniform(Shape{1, 4, 2}, 0.5f, 1.5f);
  Tensor padded(Shape{2, 6, 2});
  for (int64_t t = 0; t < 4; ++t)
    for (int64_t d = 0; d < 2; ++d) padded[(0 * 6 + t) * 2 + d] = padded[(1 * 6 + t + 2) * 2 + d] = steps[t * 2 + d];
  const std::vector<Tensor> y = model.predict({ConstTensorView(padded)});
  for (int k = 1; k <= 2; ++k)
    for (int64_t j = 0; j < 3; ++j) {
      EXPECT_NEAR(y[size_t(k)][j], y[size_t(k)][3 + j], 1e-6) << k;
      EXPECT_NE(y[size_t(k)][j], 0.0f);
    }
  // By name, such a layer's output would be its packed parts: refused.
  EXPECT_THROW(model.predict_layer_outputs({ConstTensorView(padded)}, {"states"}), NotImplementedError);
}

namespace {

// An encoder's final states start a decoder (the classic seq2seq): the decoder sees only
// zeros, so the target — each decoder step repeats the mean of the encoder's input — can
// only reach it through the states.
Model seq2seq(const std::string& cell) {
  const SymbolicTensor source = Input({5, 2}, {.name = "source"});
  const SymbolicTensor start = Input({3, 1}, {.name = "start"});
  std::vector<SymbolicTensor> encoded, decoded;
  if (cell == "lstm") {
    encoded = LSTM(6, {.return_state = true}).named("encoder").call({source});
    decoded = LSTM(6, {.return_sequences = true}).named("decoder").call({start, encoded[1], encoded[2]});
  } else {
    encoded = GRU(6, {.return_state = true}).named("encoder").call({source});
    decoded = GRU(6, {.return_sequences = true}).named("decoder").call({start, encoded[1]});
  }
  const SymbolicTensor y = TimeDistributed(Dense(2)).named("head")(decoded[0]);
  return Model({source, start}, {y});
}

struct Seq2SeqData {
  Tensor source, start, target;
};

Seq2SeqData seq2seq_data(int64_t N) {
  random::set_seed(11);
  Seq2SeqData d{random::uniform(Shape{N, 5, 2}, -1.0f, 1.0f), Tensor(Shape{N, 3, 1}), Tensor(Shape{N, 3, 2})};
  d.start.fill(0.0f);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < 2; ++k) {
      float mean = 0;
      for (int64_t t = 0; t < 5; ++t) mean += d.source[(n * 5 + t) * 2 + k] / 5;
      for (int64_t t = 0; t < 3; ++t) d.target[(n * 3 + t) * 2 + k] = mean;
    }
  return d;
}

}  // namespace

TEST(RecurrentState, EncoderStatesIntoADecoderAreGradientCheckedAndTrain) {
  for (const std::string cell : {"lstm", "gru"}) {
    SCOPED_TRACE(cell);
    Model model = seq2seq(cell);
    model.compile({.loss = "mse", .optimizer = Adam{.learning_rate = 0.02f}});
    const Seq2SeqData d = seq2seq_data(64);
    // The encoder's weights get their gradient only through the states.
    EXPECT_LT(testkit::model_gradient_error(model, {d.source, d.start}, {d.target}), 2e-3);
    const double before = model.evaluate({d.source, d.start}, {d.target}).at("loss");
    model.fit({d.source, d.start}, {d.target}, {.epochs = 30, .batch_size = 16, .verbose = 0, .seed = 1});
    const double after = model.evaluate({d.source, d.start}, {d.target}).at("loss");
    EXPECT_LT(after, 0.3 * before) << before << " -> " << after;
  }
}

TEST(RecurrentState, Seq2SeqRoundTripsThroughAKerasConfig) {
  Model model = seq2seq("lstm");
  model.build();
  const std::string text = model_to_config(model);
  const nlohmann::json config = nlohmann::json::parse(text)["config"];
  // Keras 3's form: no OutputPart layer; the decoder's call reads the encoder's tensors 1 and 2
  // as its initial_state argument.
  std::vector<std::string> names;
  for (const auto& layer : config["layers"]) names.push_back(layer["name"]);
  EXPECT_EQ(names, (std::vector<std::string>{"source", "start", "encoder", "decoder", "head"}));
  const auto& decoder_call = config["layers"][3]["inbound_nodes"][0];
  ASSERT_EQ(decoder_call["kwargs"]["initial_state"].size(), 2u);
  EXPECT_EQ(decoder_call["kwargs"]["initial_state"][0]["config"]["keras_history"], nlohmann::json({"encoder", 0, 1}));
  EXPECT_EQ(decoder_call["kwargs"]["initial_state"][1]["config"]["keras_history"], nlohmann::json({"encoder", 0, 2}));
  EXPECT_TRUE(config["layers"][2]["config"]["return_state"].get<bool>());

  Model again = model_from_config(text, "seq2seq.json");
  again.build();
  again.set_weights(model.get_weights());
  EXPECT_EQ(model_to_config(again), text);
  const Seq2SeqData d = seq2seq_data(4);
  const Tensor a = model.predict({ConstTensorView(d.source), ConstTensorView(d.start)})[0];
  const Tensor b = again.predict({ConstTensorView(d.source), ConstTensorView(d.start)})[0];
  for (int64_t i = 0; i < a.numel(); ++i) EXPECT_EQ(a[i], b[i]);
  // A citadel model file (its architecture is this config) reads back the same.
  LoadedModel loaded = load_model_from_bytes(model_file_bytes(model, {}), "seq2seq.safetensors");
  const Tensor c = loaded.model.predict({ConstTensorView(d.source), ConstTensorView(d.start)})[0];
  for (int64_t i = 0; i < a.numel(); ++i) EXPECT_EQ(a[i], c[i]);
}

TEST(RecurrentState, ConfigsNameTheBadStateReference) {
  Model model = seq2seq("gru");
  model.build();
  std::string text = model_to_config(model);
  const std::string good = "[\"encoder\",0,1]";
  ASSERT_NE(text.find(good), std::string::npos);
  text.replace(text.find(good), good.size(), "[\"encoder\",0,2]");
  try {
    model_from_config(text, "seq2seq.json");
    FAIL() << "no error";
  } catch (const ValueError& error) {
    EXPECT_NE(std::string(error.what()).find("tensor index 2 of layer 'encoder'"), std::string::npos) << error.what();
  }
}

// A config as Keras 3 writes one (modules, dtype policies, build_config, the call's mask and
// training kwargs): a GRU started from a state given as a model input, its output and final
// state both outputs; the numbers against the loop.
TEST(RecurrentState, AKeras3ConfigWithAGivenStateLoads) {
  const std::string tensor = R"({"class_name": "__keras_tensor__", "config": {"shape": SHAPE, "dtype": "float32",
      "keras_history": HISTORY}})";
  auto ref = [&](const std::string& shape, const std::string& history) {
    std::string text = tensor;
    text.replace(text.find("SHAPE"), 5, shape);
    text.replace(text.find("HISTORY"), 7, history);
    return text;
  };
  const std::string config = R"({"module": "keras", "class_name": "Functional", "config": {"name": "decoder",
    "trainable": true, "layers": [
    {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [null, 4, 2], "dtype": "float32",
      "sparse": false, "name": "steps"}, "registered_name": null, "name": "steps", "inbound_nodes": []},
    {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [null, 3], "dtype": "float32",
      "sparse": false, "name": "state"}, "registered_name": null, "name": "state", "inbound_nodes": []},
    {"module": "keras.layers", "class_name": "GRU", "config": {"name": "gru", "trainable": true,
      "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null},
      "return_sequences": true, "return_state": true, "go_backwards": false, "stateful": false, "unroll": false,
      "zero_output_for_mask": false, "units": 3, "activation": "tanh", "recurrent_activation": "sigmoid",
      "use_bias": true, "kernel_regularizer": null, "recurrent_regularizer": null, "bias_regularizer": null,
      "activity_regularizer": null, "kernel_constraint": null, "recurrent_constraint": null, "bias_constraint": null,
      "dropout": 0.0, "recurrent_dropout": 0.0, "reset_after": true, "seed": null},
      "registered_name": null, "build_config": {"input_shape": [null, 4, 2]}, "name": "gru",
      "inbound_nodes": [{"args": [)" +
                             ref("[null, 4, 2]", R"(["steps", 0, 0])") + R"(], "kwargs": {"initial_state": [)" +
                             ref("[null, 3]", R"(["state", 0, 0])") +
                             R"(], "mask": null, "training": false}}]}],
    "input_layers": [["steps", 0, 0], ["state", 0, 0]], "output_layers": [["gru", 0, 0], ["gru", 0, 1]]}})";
  Model model = model_from_config(config, "decoder.json");
  model.build();
  ASSERT_EQ(model.output_shapes(), (std::vector<Shape>{{4, 3}, {3}}));
  random::set_seed(5);
  std::vector<Tensor> weights = model.get_weights();
  for (Tensor& w : weights) w = random::uniform(w.shape(), -0.8f, 0.8f);
  model.set_weights(weights);
  const Tensor x = testkit::random_input(Shape{2, 4, 2}, 7), h0 = testkit::random_input(Shape{2, 3}, 8);
  const std::vector<Tensor> y = model.predict({ConstTensorView(x), ConstTensorView(h0)});
  Reference gru{"gru", 3, 2, 4, "tanh", "sigmoid", true, true, false};
  gru.return_state = true;
  const std::vector<double> expected =
      reference_forward(gru, to_double(weights[0]), to_double(weights[1]), to_double(weights[2]), to_double(x), {}, 2,
                        {}, {}, to_double(h0));
  std::vector<double> got;
  for (int64_t n = 0; n < 2; ++n) {
    got.insert(got.end(), y[0].data() + n * 12, y[0].data() + (n + 1) * 12);
    got.insert(got.end(), y[1].data() + n * 3, y[1].data() + (n + 1) * 3);
  }
  EXPECT_LT(relative_error(got, expected), 1e-6);
}

}  // namespace recurrent_state_test
