// SimpleRNN, LSTM and GRU against a direct loop in double written from Keras's equations
// (forward, and gradients by central differences of that loop), masks as Keras applies them
// (left and right padding agree; all-padded rows give zeros; padded steps get no gradient),
// the initial weights Keras gives, and the arguments citadel refuses.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"
#include "citadel/layers/masking.hpp"
#include "citadel/layers/recurrent.hpp"
#include "citadel/model/sequential.hpp"
#include "grad_check.hpp"
#include "recurrent_reference.hpp"

namespace recurrent_test {

using namespace citadel;
using citadel::testkit::Reference;
using citadel::testkit::reference_forward;

namespace {

struct Case {
  std::string what;
  std::function<std::unique_ptr<Layer>()> make;
  Reference ref;
};

std::vector<Case> cases() {
  std::vector<Case> all;
  all.push_back({"SimpleRNN", [] { return std::make_unique<SimpleRNN>(3); }, {"rnn", 3, 2, 5}});
  all.push_back({"SimpleRNN relu, sequences, backwards",
                 [] {
                   return std::make_unique<SimpleRNN>(
                       2, SimpleRNNOptions{.activation = "relu", .return_sequences = true, .go_backwards = true});
                 },
                 {"rnn", 2, 3, 4, "relu", "sigmoid", true, true, true}});
  all.push_back({"LSTM", [] { return std::make_unique<LSTM>(3); }, {"lstm", 3, 2, 5}});
  all.push_back({"LSTM sequences, backwards, no bias",
                 [] {
                   return std::make_unique<LSTM>(
                       2, LSTMOptions{.use_bias = false, .return_sequences = true, .go_backwards = true});
                 },
                 {"lstm", 2, 3, 4, "tanh", "sigmoid", false, true, true}});
  all.push_back({"LSTM relu / tanh gates",
                 [] {
                   return std::make_unique<LSTM>(2, LSTMOptions{.activation = "relu", .recurrent_activation = "tanh",
                                                                .return_sequences = true});
                 },
                 {"lstm", 2, 2, 4, "relu", "tanh", true, true, false}});
  all.push_back({"GRU", [] { return std::make_unique<GRU>(3); }, {"gru", 3, 2, 5}});
  all.push_back({"GRU sequences, backwards",
                 [] { return std::make_unique<GRU>(2, GRUOptions{.return_sequences = true, .go_backwards = true}); },
                 {"gru", 2, 3, 4, "tanh", "sigmoid", true, true, true}});
  all.push_back({"GRU reset_after=false",
                 [] { return std::make_unique<GRU>(3, GRUOptions{.reset_after = false}); },
                 {"gru_v1", 3, 2, 5}});
  all.push_back({"GRU reset_after=false, sequences, backwards, no bias",
                 [] {
                   return std::make_unique<GRU>(2, GRUOptions{.use_bias = false, .return_sequences = true,
                                                              .go_backwards = true, .reset_after = false});
                 },
                 {"gru_v1", 2, 3, 4, "tanh", "sigmoid", false, true, true}});
  all.push_back({"SimpleRNN with dropout and recurrent dropout",
                 [] {
                   return std::make_unique<SimpleRNN>(
                       3, SimpleRNNOptions{.dropout = 0.4f, .recurrent_dropout = 0.5f, .return_sequences = true});
                 },
                 {"rnn", 3, 3, 4, "tanh", "sigmoid", true, true, false}});
  all.push_back({"LSTM with dropout and recurrent dropout",
                 [] { return std::make_unique<LSTM>(3, LSTMOptions{.dropout = 0.3f, .recurrent_dropout = 0.5f}); },
                 {"lstm", 3, 3, 4}});
  all.push_back({"GRU with recurrent dropout, backwards",
                 [] {
                   return std::make_unique<GRU>(
                       3, GRUOptions{.recurrent_dropout = 0.5f, .return_sequences = true, .go_backwards = true});
                 },
                 {"gru", 3, 2, 4, "tanh", "sigmoid", true, true, true}});
  all.push_back({"GRU reset_after=false with dropout and recurrent dropout",
                 [] {
                   return std::make_unique<GRU>(
                       3, GRUOptions{.dropout = 0.3f, .recurrent_dropout = 0.5f, .reset_after = false});
                 },
                 {"gru_v1", 3, 3, 4}});
  return all;
}

std::vector<double> to_double(ConstTensorView v) { return {v.data(), v.data() + v.numel()}; }

// Rows 0: every step kept; 1: right-padded; 2: left-padded; 3: holes; 4: every step padded.
std::vector<float> test_mask(int64_t N, int64_t T) {
  std::vector<float> mask(size_t(N * T), 1.0f);
  for (int64_t t = 0; t < T; ++t) {
    if (N > 1 && t >= T - 2) mask[size_t(1 * T + t)] = 0;
    if (N > 2 && t < 2) mask[size_t(2 * T + t)] = 0;
    if (N > 3 && t % 2 == 1) mask[size_t(3 * T + t)] = 0;
    if (N > 4) mask[size_t(4 * T + t)] = 0;
  }
  return mask;
}

double relative_error(const std::vector<double>& a, const std::vector<double>& b) {
  double difference = 0, norm = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    difference += (a[i] - b[i]) * (a[i] - b[i]);
    norm += a[i] * a[i] + b[i] * b[i];
  }
  return std::sqrt(difference / std::max(norm, 1e-300));
}

void check_against_reference(const Case& c, bool masked) {
  SCOPED_TRACE(c.what + (masked ? " with a mask" : ""));
  const Reference& ref = c.ref;
  const int64_t N = 5, T = ref.steps, D = ref.features;
  auto built = testkit::build_layer(*c.make(), Shape{N, T, D}, 3);
  Layer& layer = *built->layer;
  const Tensor x = testkit::random_input(Shape{N, T, D}, 4);
  Tensor mask_tensor(Shape{N, T}, test_mask(N, T));
  const std::vector<float> mask = masked ? test_mask(N, T) : std::vector<float>{};
  const auto& params = built->params.parameters();
  ASSERT_EQ(params.size(), ref.use_bias ? 3u : 2u);
  std::vector<double> W = to_double(built->params.value(0)), R = to_double(built->params.value(1)), b;
  if (ref.use_bias) b = to_double(built->params.value(2));
  EXPECT_EQ(params[0].shape, Shape({D, ref.gates() * ref.units}));
  EXPECT_EQ(params[1].shape, Shape({ref.units, ref.gates() * ref.units}));
  if (ref.use_bias) {
    EXPECT_EQ(params[2].shape, ref.cell == "gru" ? Shape({2, 3 * ref.units}) : Shape({ref.gates() * ref.units}));
  }

  layer.set_input_mask(masked ? ConstTensorView(mask_tensor) : ConstTensorView());
  Tensor y;
  layer.reseed(6);
  layer.forward(x, y, Mode::kTrain);
  const auto& recurrent = dynamic_cast<const Recurrent&>(layer);
  const auto& settings = recurrent.settings();
  std::vector<float> input_drop, state_drop;
  if (settings.dropout > 0) {
    ASSERT_EQ(recurrent.input_dropout_mask().shape(), Shape({N, D}));
    input_drop.assign(recurrent.input_dropout_mask().data(), recurrent.input_dropout_mask().data() + N * D);
  }
  if (settings.recurrent_dropout > 0) {
    ASSERT_EQ(recurrent.recurrent_dropout_mask().shape(), Shape({N, ref.units}));
    state_drop.assign(recurrent.recurrent_dropout_mask().data(),
                      recurrent.recurrent_dropout_mask().data() + N * ref.units);
  }
  for (const std::vector<float>* drop : {&input_drop, &state_drop}) {
    const double rate = drop == &input_drop ? settings.dropout : settings.recurrent_dropout;
    const auto dropped = std::count(drop->begin(), drop->end(), 0.0f);
    if (!drop->empty()) {  // the test needs both kinds of value
      EXPECT_GT(dropped, 0);
      EXPECT_LT(dropped, int64_t(drop->size()));
    }
    for (float v : *drop) EXPECT_TRUE(v == 0.0f || std::fabs(v * (1 - rate) - 1) < 1e-6) << v;
  }
  if (!input_drop.empty() || !state_drop.empty()) {  // inference drops nothing
    Tensor inferred;
    layer.forward(x, inferred, Mode::kInfer);
    EXPECT_TRUE(recurrent.input_dropout_mask().empty() && recurrent.recurrent_dropout_mask().empty());
    EXPECT_LT(relative_error(to_double(inferred), reference_forward(ref, W, R, b, to_double(x), mask, N)), 1e-6);
    layer.reseed(6);
    layer.forward(x, y, Mode::kTrain);  // the training pass again, for the gradients below
  }
  const std::vector<double> xd = to_double(x);
  const std::vector<double> expected = reference_forward(ref, W, R, b, xd, mask, N, input_drop, state_drop);
  ASSERT_EQ(size_t(y.numel()), expected.size());
  EXPECT_LT(relative_error(to_double(y), expected), 1e-6);
  if (masked) {  // the all-padded row gives zeros
    const int64_t per_row = y.numel() / N;
    for (int64_t i = 0; i < per_row; ++i) EXPECT_EQ(y[4 * per_row + i], 0.0f);
  }

  // L = Σ r·y: the layer's gradients against central differences of the double loop.
  const Tensor r = testkit::random_input(y.shape(), 5);
  built->params.zero_grad();
  Tensor dx;
  layer.backward(r, dx);
  auto loss = [&](const std::vector<double>& w, const std::vector<double>& rk, const std::vector<double>& bias,
                  const std::vector<double>& input) {
    const std::vector<double> out = reference_forward(ref, w, rk, bias, input, mask, N, input_drop, state_drop);
    double total = 0;
    for (size_t i = 0; i < out.size(); ++i) total += double(r[int64_t(i)]) * out[i];
    return total;
  };
  const double eps = 1e-6;
  auto numeric = [&](std::vector<double>& values, auto&& evaluate) {
    std::vector<double> gradient(values.size());
    for (size_t i = 0; i < values.size(); ++i) {
      const double saved = values[i];
      values[i] = saved + eps;
      const double up = evaluate();
      values[i] = saved - eps;
      const double down = evaluate();
      values[i] = saved;
      gradient[i] = (up - down) / (2 * eps);
    }
    return gradient;
  };
  std::vector<double> input = xd;
  auto evaluate = [&] { return loss(W, R, b, input); };
  EXPECT_LT(relative_error(to_double(dx), numeric(input, evaluate)), 1e-4) << "input gradient";
  EXPECT_LT(relative_error(to_double(built->params.grad(0)), numeric(W, evaluate)), 1e-4) << "kernel gradient";
  EXPECT_LT(relative_error(to_double(built->params.grad(1)), numeric(R, evaluate)), 1e-4) << "recurrent gradient";
  if (ref.use_bias) {
    EXPECT_LT(relative_error(to_double(built->params.grad(2)), numeric(b, evaluate)), 1e-4) << "bias gradient";
  }
  if (!masked) return;
  // Padded steps take no part: their input gradient is exactly zero.
  for (int64_t n = 0; n < N; ++n)
    for (int64_t t = 0; t < T; ++t)
      if (mask[size_t(n * T + t)] == 0.0f) {
        for (int64_t d = 0; d < D; ++d) EXPECT_EQ(dx[(n * T + t) * D + d], 0.0f) << n << ", " << t;
      }
}

}  // namespace

TEST(Recurrent, ForwardAndGradientsMatchADirectLoopInDouble) {
  for (const Case& c : cases()) check_against_reference(c, false);
}

TEST(Recurrent, MaskedStepsCarryTheStateAsInKeras) {
  for (const Case& c : cases()) check_against_reference(c, true);
}

// Masking(0) then the layer: a sequence padded on the right, on the left, or not at all
// (a model of its own length, same weights) ends in the same state.
TEST(Recurrent, LeftAndRightPaddingGiveTheSameResult) {
  const int64_t T = 6, L = 3, D = 2;
  random::set_seed(8);
  const Tensor sequence = random::uniform(Shape{1, L, D}, 0.5f, 1.5f);  // no step of zeros
  Tensor padded(Shape{3, T, D});  // rows: right-padded, left-padded, all padding
  for (int64_t t = 0; t < L; ++t)
    for (int64_t d = 0; d < D; ++d) {
      padded[(0 * T + t) * D + d] = sequence[t * D + d];
      padded[(1 * T + T - L + t) * D + d] = sequence[t * D + d];
    }
  std::vector<std::function<std::unique_ptr<Layer>()>> layers{
      [] { return std::make_unique<SimpleRNN>(4); },
      [] { return std::make_unique<LSTM>(4); },
      [] { return std::make_unique<LSTM>(4, LSTMOptions{.go_backwards = true}); },
      [] { return std::make_unique<GRU>(4); },
      [] { return std::make_unique<GRU>(4, GRUOptions{.go_backwards = true, .reset_after = false}); },
  };
  for (const auto& make : layers) {
    Sequential padded_model;
    padded_model.add(Masking(0.0f));
    padded_model.add(make());
    padded_model.build(Shape{T, D});
    Sequential short_model;
    short_model.add(make());
    short_model.build(Shape{L, D});
    short_model.set_weights(padded_model.get_weights());
    const Tensor y = padded_model.predict(padded), alone = short_model.predict(sequence);
    const int64_t U = 4;
    for (int64_t j = 0; j < U; ++j) {
      EXPECT_NEAR(y[0 * U + j], alone[j], 1e-6) << padded_model.layer(1).type() << " right-padded";
      EXPECT_NEAR(y[1 * U + j], alone[j], 1e-6) << padded_model.layer(1).type() << " left-padded";
      EXPECT_EQ(y[2 * U + j], 0.0f) << padded_model.layer(1).type() << " all padding";
    }
  }
}

TEST(Recurrent, ReturnSequencesPassesTheMaskOnAndZeroOutputForMaskZeroesPaddedSteps) {
  const int64_t T = 4, D = 2;
  Tensor x(Shape{1, T, D}, {1, 2, 0, 0, 3, 1, 0, 0});  // steps 1 and 3 padded
  for (bool zero_output : {false, true}) {
    Sequential model;
    model.add(Masking(0.0f));
    model.add(LSTM(3, {.return_sequences = true, .zero_output_for_mask = zero_output}));
    model.build(Shape{T, D});
    const Tensor y = model.predict(x);
    for (int64_t j = 0; j < 3; ++j) {
      if (zero_output) {
        EXPECT_EQ(y[1 * 3 + j], 0.0f);
        EXPECT_EQ(y[3 * 3 + j], 0.0f);
      } else {  // Keras 3: the previous output again
        EXPECT_EQ(y[1 * 3 + j], y[0 * 3 + j]);
        EXPECT_EQ(y[3 * 3 + j], y[2 * 3 + j]);
      }
      EXPECT_NE(y[2 * 3 + j], y[0 * 3 + j]);
    }
  }
}

TEST(Recurrent, InitialWeightsAreKeras) {
  random::set_seed(2);
  Sequential model;
  model.add(LSTM(4));
  model.build(Shape{3, 5});
  const auto weights = model.get_weights();
  ASSERT_EQ(weights.size(), 3u);
  // unit_forget_bias: zeros but the forget gate's quarter (i, f, c, o), which is ones.
  for (int64_t k = 0; k < 16; ++k) EXPECT_EQ(weights[2][k], k >= 4 && k < 8 ? 1.0f : 0.0f) << k;
  // recurrent_kernel (4, 16) orthogonal: its rows are orthonormal.
  for (int64_t a = 0; a < 4; ++a)
    for (int64_t b = 0; b < 4; ++b) {
      double dot = 0;
      for (int64_t k = 0; k < 16; ++k) dot += double(weights[1][a * 16 + k]) * weights[1][b * 16 + k];
      EXPECT_NEAR(dot, a == b ? 1.0 : 0.0, 1e-5);
    }
  Sequential gru;
  gru.add(GRU(3));
  gru.build(Shape{3, 5});
  EXPECT_EQ(gru.get_weights()[2].shape(), Shape({2, 9}));  // reset_after: input and recurrent biases
}

TEST(Recurrent, RefusesWhatItDoesNotImplementByName) {
  auto message = [](const std::function<void()>& make) {
    try {
      make();
    } catch (const ValueError& error) {
      return std::string(error.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message([] { LSTM(3, {.dropout = 1.0f}); }).find("LSTM: dropout"), std::string::npos);
  EXPECT_NE(message([] { GRU(3, {.recurrent_dropout = -0.1f}); }).find("GRU: recurrent_dropout"), std::string::npos);
  EXPECT_NE(message([] { LSTM(3, {.recurrent_activation = "softmax"}); }).find("LSTM: recurrent_activation"),
            std::string::npos);
  EXPECT_NE(message([] { LSTM(3, {.bias_initializer = "ones"}); }).find("unit_forget_bias"), std::string::npos);
  EXPECT_NE(message([] { LSTM(0); }).find("units"), std::string::npos);
  EXPECT_NE(message([] { GRU(2, {.zero_output_for_mask = true}); }).find("return_sequences"), std::string::npos);
}

}  // namespace recurrent_test
