// Bidirectional against its two recurrent layers run by hand (a forward layer and a
// go_backwards one, the latter's outputs put back in time order, merged in the test), its
// gradients against finite differences, masks (left and right padding agree; an all-padded
// row gives zeros), 1 and 2 threads alike, Keras's names and config, and the arguments it
// refuses.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"
#include "citadel/core/threads.hpp"
#include "citadel/layers/bidirectional.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/layers/masking.hpp"
#include "citadel/layers/recurrent.hpp"
#include "citadel/model/model_config.hpp"
#include "citadel/model/sequential.hpp"
#include "grad_check.hpp"

namespace bidirectional_test {

using namespace citadel;

namespace {

// Rows 0: every step kept; 1: right-padded; 2: left-padded; 3: holes; 4: every step padded.
Tensor test_mask(int64_t N, int64_t T) {
  Tensor mask(Shape{N, T});
  mask.fill(1.0f);
  for (int64_t t = 0; t < T; ++t) {
    if (t >= T - 2) mask[1 * T + t] = 0;
    if (t < 2) mask[2 * T + t] = 0;
    if (t % 2 == 1) mask[3 * T + t] = 0;
    mask[4 * T + t] = 0;
  }
  return mask;
}

// One direction run alone: a layer of its own with the wrapped layer's settings, `go_backwards`,
// masked steps outputting zeros with return_sequences (as Keras's Bidirectional sets them),
// its weights copied from `from[first...]`.
Tensor run_alone(std::unique_ptr<Layer> layer, const ParameterStore& from, int first, const Tensor& x,
                 const Tensor* mask) {
  auto built = testkit::build_layer(*layer, x.shape(), 9);
  for (size_t p = 0; p < built->params.parameters().size(); ++p) {
    ConstTensorView source = from.value(first + int(p));
    TensorView target = built->params.value(int(p));
    EXPECT_EQ(source.shape(), target.shape());
    std::copy_n(source.data(), source.numel(), target.data());
  }
  built->layer->set_input_mask(mask ? ConstTensorView(*mask) : ConstTensorView());
  Tensor y;
  built->layer->forward(x, y, Mode::kInfer);
  return y;
}

struct Case {
  std::string what;
  std::function<std::unique_ptr<Layer>(bool go_backwards, bool zero_output)> make;
  int parameters;  // each direction's
  bool return_sequences;
};

std::vector<Case> cases() {
  return {
      {"LSTM", [](bool back, bool) { return std::make_unique<LSTM>(3, LSTMOptions{.go_backwards = back}); }, 3, false},
      {"GRU sequences",
       [](bool back, bool zero) {
         return std::make_unique<GRU>(
             2, GRUOptions{.return_sequences = true, .go_backwards = back, .zero_output_for_mask = zero});
       },
       3, true},
      {"SimpleRNN sequences no bias",
       [](bool back, bool zero) {
         return std::make_unique<SimpleRNN>(3, SimpleRNNOptions{.use_bias = false, .return_sequences = true,
                                                                .go_backwards = back, .zero_output_for_mask = zero});
       },
       2, true},
      {"GRU v1",
       [](bool back, bool) { return std::make_unique<GRU>(2, GRUOptions{.go_backwards = back, .reset_after = false}); },
       3, false},
  };
}

void check_merge(const Case& c, const std::string& merge, bool masked) {
  SCOPED_TRACE(c.what + " merge " + merge + (masked ? " masked" : ""));
  const int64_t N = 5, T = 5, D = 3;
  Bidirectional prototype(*c.make(false, false), {.merge_mode = merge});
  auto built = testkit::build_layer(prototype, Shape{N, T, D}, 4);
  ASSERT_EQ(built->params.parameters().size(), size_t(2 * c.parameters));
  const Tensor x = testkit::random_input(Shape{N, T, D}, 5);
  const Tensor mask = test_mask(N, T);
  built->layer->set_input_mask(masked ? ConstTensorView(mask) : ConstTensorView());
  Tensor y;
  built->layer->forward(x, y, Mode::kInfer);

  const Tensor f = run_alone(c.make(false, c.return_sequences), built->params, 0, x, masked ? &mask : nullptr);
  const Tensor b = run_alone(c.make(true, c.return_sequences), built->params, c.parameters, x, masked ? &mask : nullptr);
  const int64_t U = f.shape(f.rank() - 1), steps = c.return_sequences ? T : 1;
  const int64_t width = merge == "concat" ? 2 * U : U;
  ASSERT_EQ(y.shape(), c.return_sequences ? Shape({N, T, width}) : Shape({N, width}));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t t = 0; t < steps; ++t)
      for (int64_t j = 0; j < U; ++j) {
        const float fv = f[(n * steps + t) * U + j], bv = b[(n * steps + (steps - 1 - t)) * U + j];
        const float* out = y.data() + (n * steps + t) * width;
        if (merge == "concat") {
          EXPECT_EQ(out[j], fv);
          EXPECT_EQ(out[U + j], bv);
        } else {
          const float expected = merge == "sum" ? fv + bv : merge == "mul" ? fv * bv : (fv + bv) / 2.0f;
          EXPECT_FLOAT_EQ(out[j], expected) << n << ", " << t << ", " << j;
        }
        if (masked && n == 4) {
          EXPECT_EQ(out[j], 0.0f) << "an all-padded row gives zeros";
        }
      }
  // The two directions differ, so a swapped or unreversed half would show above.
  EXPECT_NE(f[0], b[0]);
}

}  // namespace

TEST(Bidirectional, EachMergeModeMatchesTheTwoLayersRunByHand) {
  for (const Case& c : cases())
    for (const char* merge : {"concat", "sum", "mul", "ave"}) {
      check_merge(c, merge, false);
      check_merge(c, merge, true);
    }
}

TEST(Bidirectional, InputAndParameterGradientsMatchFiniteDifferences) {
  for (const Case& c : cases())
    for (const char* merge : {"concat", "sum", "mul", "ave"}) {
      Bidirectional layer(*c.make(false, false), {.merge_mode = merge});
      EXPECT_TRUE(testkit::check_input_gradient(layer, Shape{2, 4, 3})) << c.what << " " << merge;
      EXPECT_TRUE(testkit::check_param_gradients(layer, Shape{2, 4, 3})) << c.what << " " << merge;
    }
}

// Masking(0) then Bidirectional: a sequence padded on the right, on the left, or not at all
// (a model of its own length, same weights) gives the same output; all padding gives zeros.
TEST(Bidirectional, LeftAndRightPaddingGiveTheSameResult) {
  const int64_t T = 6, L = 3, D = 2;
  random::set_seed(8);
  const Tensor sequence = random::uniform(Shape{1, L, D}, 0.5f, 1.5f);  // no step of zeros
  Tensor padded(Shape{3, T, D});  // rows: right-padded, left-padded, all padding
  for (int64_t t = 0; t < L; ++t)
    for (int64_t d = 0; d < D; ++d) {
      padded[(0 * T + t) * D + d] = sequence[t * D + d];
      padded[(1 * T + T - L + t) * D + d] = sequence[t * D + d];
    }
  for (const Case& c : cases()) {
    for (const char* merge : {"concat", "mul"}) {
      Sequential padded_model;
      padded_model.add(Masking(0.0f));
      padded_model.add(Bidirectional(*c.make(false, false), {.merge_mode = merge}));
      padded_model.build(Shape{T, D});
      Sequential short_model;
      short_model.add(Bidirectional(*c.make(false, false), {.merge_mode = merge}));
      short_model.build(Shape{L, D});
      short_model.set_weights(padded_model.get_weights());
      const Tensor y = padded_model.predict(padded), alone = short_model.predict(sequence);
      const int64_t W = alone.shape(alone.rank() - 1), steps = c.return_sequences ? L : 1;
      for (int64_t s = 0; s < steps; ++s)
        for (int64_t j = 0; j < W; ++j) {
          // With return_sequences, real step s sits at s (right-padded) or T - L + s (left-padded).
          const int64_t right = c.return_sequences ? (0 * T + s) * W + j : 0 * W + j;
          const int64_t left = c.return_sequences ? (1 * T + T - L + s) * W + j : 1 * W + j;
          EXPECT_NEAR(y[right], alone[s * W + j], 1e-6) << c.what << " right-padded";
          EXPECT_NEAR(y[left], alone[s * W + j], 1e-6) << c.what << " left-padded";
        }
      const int64_t per_row = y.numel() / 3;
      for (int64_t i = 0; i < per_row; ++i) EXPECT_EQ(y[2 * per_row + i], 0.0f) << c.what << " all padding";
      if (c.return_sequences) {  // padded steps output zeros (Keras's zero_output_for_mask)
        for (int64_t t = L; t < T; ++t)
          for (int64_t j = 0; j < W; ++j) EXPECT_EQ(y[(0 * T + t) * W + j], 0.0f) << c.what;
      }
    }
  }
}

// With two threads the directions run at once, each on one thread: the same results as one
// after the other on one thread, forward and backward (large enough products for oneDNN).
TEST(Bidirectional, OneAndTwoThreadsAgree) {
  const int64_t N = 16, T = 12, D = 24;
  const int previous = num_threads();
  auto built = testkit::build_layer(Bidirectional(LSTM(32, {.return_sequences = true})), Shape{N, T, D}, 6);
  const Tensor x = testkit::random_input(Shape{N, T, D}, 31), dy = testkit::random_input(Shape{N, T, 64}, 32);
  std::vector<std::vector<float>> results;
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    built->params.zero_grad();
    Tensor y, dx;
    built->layer->forward(x, y, Mode::kTrain);
    built->layer->backward(dy, dx);
    std::vector<float> all(y.data(), y.data() + y.numel());
    all.insert(all.end(), dx.data(), dx.data() + dx.numel());
    all.insert(all.end(), built->params.grads().begin(), built->params.grads().end());
    results.push_back(all);
  }
  set_num_threads(previous);
  ASSERT_EQ(results[0].size(), results[1].size());
  for (size_t i = 0; i < results[0].size(); ++i) EXPECT_NEAR(results[0][i], results[1][i], 1e-6) << i;
}

TEST(Bidirectional, NamesItsCopiesAndWritesTheirConfigsAsKeras) {
  Sequential model;
  model.add(Bidirectional(LSTM(3, {.return_sequences = true}), {.merge_mode = "sum", .input_shape = {4, 2}}));
  model.add(Bidirectional(GRU(2).named("encoder")));
  model.build(Shape{4, 2});
  const auto& parameters = model.parameters().parameters();
  ASSERT_EQ(parameters.size(), 12u);
  EXPECT_EQ(parameters[0].name, "bidirectional/forward_lstm/kernel");
  EXPECT_EQ(parameters[3].name, "bidirectional/backward_lstm/kernel");
  EXPECT_EQ(parameters[11].name, "bidirectional_1/backward_encoder/bias");
  const auto& first = dynamic_cast<const Bidirectional&>(model.layer(0));
  EXPECT_FALSE(first.forward_layer().settings().go_backwards);
  EXPECT_TRUE(first.backward_layer().settings().go_backwards);
  EXPECT_TRUE(first.forward_layer().settings().zero_output_for_mask);  // Keras forces it with return_sequences
  const std::string config = model_to_config(model);
  for (const char* expected : {"\"merge_mode\":\"sum\"", "\"name\":\"forward_lstm\"", "\"name\":\"backward_lstm\"",
                               "\"go_backwards\":true", "\"name\":\"forward_encoder\""})
    EXPECT_NE(config.find(expected), std::string::npos) << expected << " in " << config;
  Model back = model_from_config(config, "bidirectional config");
  back.build(Shape{4, 2});
  EXPECT_EQ(model_to_config(back), config);
}

TEST(Bidirectional, RefusesWhatItCannotWrapOrMerge) {
  auto message_of = [](const std::function<void()>& make) -> std::string {
    try {
      make();
    } catch (const Error& error) {
      return error.what();
    }
    return "";
  };
  EXPECT_THROW(Bidirectional(Dense(3)), ValueError);
  EXPECT_NE(message_of([] { Bidirectional(Dense(3).named("head")); }).find("Dense 'head'"), std::string::npos);
  EXPECT_THROW(Bidirectional(LSTM(3), {.merge_mode = "max"}), ValueError);
  EXPECT_THROW(Bidirectional(LSTM(3), {.merge_mode = "none"}), NotImplementedError);
  EXPECT_THROW(Bidirectional(LSTM(3), LSTM(3)), ValueError);  // both forwards
  EXPECT_THROW(Bidirectional(LSTM(3), LSTM(3, {.return_sequences = true, .go_backwards = true})), ValueError);
  EXPECT_THROW(Bidirectional(LSTM(3), LSTM(2, {.go_backwards = true}), {.merge_mode = "sum"}), ValueError);
  EXPECT_NO_THROW(Bidirectional(LSTM(3), LSTM(2, {.go_backwards = true})));  // concat takes both widths
  // A mask of the wrong shape names the layer.
  auto built = testkit::build_layer(Bidirectional(LSTM(2)), Shape{2, 4, 3});
  built->layer->set_name("bi");
  const Tensor x = testkit::random_input(Shape{2, 4, 3}, 1);
  Tensor mask(Shape{2, 3});
  mask.fill(1.0f);
  built->layer->set_input_mask(mask);
  Tensor y;
  const std::string message = message_of([&] { built->layer->forward(x, y, Mode::kInfer); });
  EXPECT_NE(message.find("bi (Bidirectional): mask"), std::string::npos) << message;
  EXPECT_THROW(built->layer->forward(x, y, Mode::kInfer), ShapeError);
  // A config without merge_mode (Keras's None) is refused by name.
  const std::string config =
      R"({"class_name": "Sequential", "config": {"layers": [{"class_name": "Bidirectional", "config": {"name": "b",)"
      R"( "merge_mode": null, "batch_input_shape": [null, 4, 3], "layer": {"class_name": "LSTM", "config": {"units": 2}}}}]}})";
  EXPECT_NE(message_of([&] { model_from_config(config, "c"); }).find("merge_mode=None"), std::string::npos);
  const std::string dense_inside =
      R"({"class_name": "Sequential", "config": {"layers": [{"class_name": "Bidirectional", "config": {"name": "b",)"
      R"( "merge_mode": "sum", "batch_input_shape": [null, 4, 3], "layer": {"class_name": "Dense", "config": {"units": 2}}}}]}})";
  EXPECT_NE(message_of([&] { model_from_config(dense_inside, "c"); }).find("got Dense"), std::string::npos);
}

}  // namespace bidirectional_test
