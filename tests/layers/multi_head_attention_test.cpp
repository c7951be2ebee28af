// MultiHeadAttention against a direct loop in double written from Keras's equations (per
// head softmax(q·kᵀ/√key_dim)·v, projections in and out), with padding masks on the query and
// value (a query step with nothing to attend to weighs every step alike, as Keras's -1e9
// scores do), a causal mask, a separate key; gradients against finite differences; 1 and 2
// threads alike; refusals.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "citadel/core/error.hpp"
#include "citadel/core/threads.hpp"
#include "citadel/layers/multi_head_attention.hpp"
#include "grad_check.hpp"

namespace multi_head_attention_test {

using namespace citadel;

namespace {

std::vector<double> as_double(ConstTensorView t) { return std::vector<double>(t.data(), t.data() + t.numel()); }

// y (N, Tq, Do) from the weights in Keras's order, inputs and masks (empty: none).
std::vector<double> reference(const ParameterStore& p, bool bias, int64_t H, int64_t K, int64_t V,
                              const std::vector<Tensor>& x, const std::vector<Tensor>& masks, bool causal) {
  const int64_t N = x[0].shape(0), Tq = x[0].shape(1), Tv = x[1].shape(1);
  const Tensor& key = x.size() == 3 ? x[2] : x[1];
  int id = 0;
  auto next = [&](bool present) { return present ? as_double(p.value(id++)) : std::vector<double>(); };
  const auto Wq = next(true), bq = next(bias), Wk = next(true), bk = next(bias), Wv = next(true), bv = next(bias),
             Wo = next(true), bo = next(bias);
  const int64_t Dq = x[0].shape(2), Dv = x[1].shape(2), Dk = key.shape(2), Do = int64_t(Wo.size()) / (H * V);
  auto proj = [&](const Tensor& in, int64_t D, const std::vector<double>& W, const std::vector<double>& b, int64_t n,
                  int64_t t, int64_t h, int64_t c, int64_t width) {
    double s = b.empty() ? 0.0 : b[h * width + c];
    for (int64_t d = 0; d < D; ++d) s += double(in[(n * in.shape(1) + t) * D + d]) * W[(d * H + h) * width + c];
    return s;
  };
  std::vector<double> y(size_t(N * Tq * Do), 0.0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t i = 0; i < Tq; ++i) {
      std::vector<double> context(size_t(H * V), 0.0);
      for (int64_t h = 0; h < H; ++h) {
        std::vector<double> score(static_cast<size_t>(Tv));
        std::vector<bool> ok(static_cast<size_t>(Tv));
        bool any = false;
        for (int64_t j = 0; j < Tv; ++j) {
          double s = 0;
          for (int64_t c = 0; c < K; ++c) s += proj(x[0], Dq, Wq, bq, n, i, h, c, K) * proj(key, Dk, Wk, bk, n, j, h, c, K);
          score[size_t(j)] = s / std::sqrt(double(K));
          ok[size_t(j)] = (masks[0].numel() == 0 || masks[0][n * Tq + i] != 0) &&
                          (masks[1].numel() == 0 || masks[1][n * Tv + j] != 0) && (!causal || j <= i);
          any = any || ok[size_t(j)];
        }
        double top = -1e300, sum = 0;
        for (int64_t j = 0; j < Tv; ++j)
          if (!any || ok[size_t(j)]) top = std::max(top, score[size_t(j)]);
        std::vector<double> weight(static_cast<size_t>(Tv));
        for (int64_t j = 0; j < Tv; ++j) sum += weight[size_t(j)] = !any ? 1.0 : ok[size_t(j)] ? std::exp(score[size_t(j)] - top) : 0.0;
        for (int64_t j = 0; j < Tv; ++j)
          for (int64_t c = 0; c < V; ++c)
            context[size_t(h * V + c)] += weight[size_t(j)] / sum * proj(x[1], Dv, Wv, bv, n, j, h, c, V);
      }
      for (int64_t o = 0; o < Do; ++o) {
        double s = bo.empty() ? 0.0 : bo[size_t(o)];
        for (int64_t hc = 0; hc < H * V; ++hc) s += context[size_t(hc)] * Wo[size_t(hc * Do + o)];
        y[size_t((n * Tq + i) * Do + o)] = s;
      }
    }
  return y;
}

struct Case {
  std::string what;
  int64_t heads, key_dim, value_dim;
  MultiHeadAttentionOptions options;
  std::vector<Shape> shapes;
  bool query_mask, value_mask;
};

}  // namespace

TEST(MultiHeadAttention, ForwardMatchesADirectLoopInDoubleWithPaddingAndCausalMasks) {
  const std::vector<Case> cases{
      {"cross", 2, 3, 3, {}, {Shape{3, 4, 5}, Shape{3, 3, 4}}, false, false},
      {"cross masked, key", 2, 2, 3, {.value_dim = 3, .output_shape = 2}, {Shape{3, 4, 3}, Shape{3, 5, 2}, Shape{3, 5, 4}}, true, true},
      {"self causal masked", 3, 2, 2, {.use_causal_mask = true}, {Shape{3, 5, 4}, Shape{3, 5, 4}}, true, true},
      {"no bias, value masked", 1, 4, 4, {.use_bias = false}, {Shape{3, 3, 2}, Shape{3, 4, 2}}, false, true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    MultiHeadAttention prototype(c.heads, c.key_dim, c.options);
    auto built = testkit::build_layer(prototype, c.shapes, 3);
    std::vector<Tensor> x;
    for (size_t i = 0; i < c.shapes.size(); ++i) x.push_back(testkit::random_input(c.shapes[i], 10 + i));
    if (c.options.use_causal_mask) x[1] = x[0];
    const int64_t N = c.shapes[0][0], Tq = c.shapes[0][1], Tv = c.shapes[1][1];
    std::vector<Tensor> masks{Tensor(Shape{0}), Tensor(Shape{0})};
    // Row 0 unpadded, row 1 right-padded, row 2 all padding (the query's) / left-padded (the value's).
    if (c.query_mask) {
      masks[0] = Tensor(Shape{N, Tq});
      masks[0].fill(1.0f);
      for (int64_t t = 0; t < Tq; ++t) masks[0][2 * Tq + t] = 0.0f;
      masks[0][1 * Tq + Tq - 1] = 0.0f;
    }
    if (c.value_mask) {
      masks[1] = Tensor(Shape{N, Tv});
      masks[1].fill(1.0f);
      masks[1][1 * Tv + Tv - 1] = masks[1][1 * Tv + Tv - 2] = 0.0f;
      masks[1][2 * Tv + 0] = 0.0f;
    }
    std::vector<ConstTensorView> views(x.begin(), x.end()), mask_views;
    for (size_t i = 0; i < x.size(); ++i)
      mask_views.push_back(i < 2 && masks[i].numel() > 0 ? ConstTensorView(masks[i]) : ConstTensorView());
    built->layer->set_input_masks(mask_views);
    Tensor y;
    built->layer->forward_inputs(views, y, Mode::kInfer);
    const std::vector<double> expected = reference(built->params, c.options.use_bias, c.heads, c.key_dim, c.value_dim,
                                                   x, masks, c.options.use_causal_mask);
    ASSERT_EQ(size_t(y.numel()), expected.size());
    double worst = 0, largest = 0;
    for (size_t i = 0; i < expected.size(); ++i) {
      worst = std::max(worst, std::abs(double(y[int64_t(i)]) - expected[i]));
      largest = std::max(largest, std::abs(expected[i]));
    }
    EXPECT_LT(worst, 1e-5 * std::max(1.0, largest));
    EXPECT_GT(largest, 1e-2);
    // The attention weights: each row sums to 1; masked pairs weigh 0.
    const auto& layer = dynamic_cast<const MultiHeadAttention&>(*built->layer);
    const ConstTensorView A = layer.attention_scores();
    ASSERT_EQ(A.shape(), Shape({N, c.heads, Tq, Tv}));
    for (int64_t r = 0; r < N * c.heads * Tq; ++r) {
      double sum = 0;
      for (int64_t j = 0; j < Tv; ++j) sum += A[r * Tv + j];
      EXPECT_NEAR(sum, 1.0, 1e-5);
    }
    if (c.options.use_causal_mask) {
      EXPECT_EQ(A[0 * Tv + 1], 0.0f) << "step 0 attends to step 1";
    }
  }
}

TEST(MultiHeadAttention, GradientsMatchFiniteDifferences) {
  EXPECT_TRUE(testkit::check_input_gradient(MultiHeadAttention(2, 3), {Shape{2, 3, 4}, Shape{2, 4, 3}}));
  EXPECT_TRUE(testkit::check_param_gradients(MultiHeadAttention(2, 3), {Shape{2, 3, 4}, Shape{2, 4, 3}}));
  const MultiHeadAttention causal(2, 2, {.value_dim = 3, .output_shape = 2, .use_causal_mask = true});
  EXPECT_TRUE(testkit::check_input_gradient(causal, {Shape{2, 4, 3}, Shape{2, 4, 3}, Shape{2, 4, 2}}));
  EXPECT_TRUE(testkit::check_param_gradients(causal, {Shape{2, 4, 3}, Shape{2, 4, 3}, Shape{2, 4, 2}}));
}

// The (example, head) pairs are split over threads when the work pays for it: large enough
// here (8 pairs of 48 × 48 steps) to split on 2 threads. Each pair is computed the same way
// on any thread, so 1 and 2 threads agree, forward and backward, with padding and causal masks.
TEST(MultiHeadAttention, OneAndTwoThreadsAgreeWithPaddingAndCausalMasks) {
  const int64_t N = 4, T = 48, D = 16;
  const int previous = num_threads();
  MultiHeadAttention prototype(2, 16, {.use_causal_mask = true});
  auto built = testkit::build_layer(prototype, {Shape{N, T, D}, Shape{N, T, D}}, 5);
  const Tensor x = testkit::random_input(Shape{N, T, D}, 21), dy = testkit::random_input(Shape{N, T, D}, 22);
  Tensor mask(Shape{N, T});
  mask.fill(1.0f);
  for (int64_t t = T - 7; t < T; ++t) mask[1 * T + t] = 0.0f;  // right padding
  for (int64_t t = 0; t < T; ++t) mask[3 * T + t] = 0.0f;      // all padding
  const ConstTensorView masks[2] = {mask, mask};
  const ConstTensorView inputs[2] = {x, x};
  std::vector<std::vector<float>> outputs, gradients;
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    built->layer->set_input_masks(masks);
    built->params.zero_grad();
    Tensor y, dquery, dvalue;
    built->layer->forward_inputs(inputs, y, Mode::kTrain);
    Tensor* dx[2] = {&dquery, &dvalue};
    built->layer->backward_inputs(dy, dx);
    outputs.emplace_back(y.data(), y.data() + y.numel());
    std::vector<float> all(dquery.data(), dquery.data() + dquery.numel());
    all.insert(all.end(), dvalue.data(), dvalue.data() + dvalue.numel());
    all.insert(all.end(), built->params.grads().begin(), built->params.grads().end());
    gradients.push_back(all);
  }
  set_num_threads(previous);
  ASSERT_EQ(outputs[0].size(), outputs[1].size());
  ASSERT_EQ(gradients[0].size(), gradients[1].size());
  double largest = 0;
  for (size_t i = 0; i < outputs[0].size(); ++i) EXPECT_NEAR(outputs[0][i], outputs[1][i], 1e-6) << "y " << i;
  for (size_t i = 0; i < gradients[0].size(); ++i) {
    EXPECT_NEAR(gradients[0][i], gradients[1][i], 1e-6) << "gradient " << i;
    largest = std::max(largest, double(std::abs(gradients[0][i])));
  }
  EXPECT_GT(largest, 1e-3);  // the gradients are not all zero
}

TEST(MultiHeadAttention, RefusesWhatItDoesNotTake) {
  EXPECT_THROW(MultiHeadAttention(0, 3), ValueError);
  EXPECT_THROW(MultiHeadAttention(2, 3, {.dropout = 1.0f}), ValueError);
  ParameterStore params;
  MultiHeadAttention layer(2, 3);
  layer.set_name("attn");
  EXPECT_THROW(layer.build_inputs({Shape{4, 5}}, params), ValueError);
  EXPECT_THROW(layer.build_inputs({Shape{4, 5, 2}, Shape{4, 5}}, params), ShapeError);
  EXPECT_THROW(layer.build_inputs({Shape{4, 5}, Shape{3, 5}, Shape{2, 5}}, params), ShapeError);
  auto built = testkit::build_layer(MultiHeadAttention(2, 3), {Shape{2, 4, 5}, Shape{2, 3, 5}});
  built->layer->set_name("attn");
  const Tensor q = testkit::random_input(Shape{2, 4, 5}, 1), v = testkit::random_input(Shape{2, 3, 5}, 2);
  Tensor bad_mask(Shape{2, 4});  // the value has 3 steps
  bad_mask.fill(1.0f);
  const ConstTensorView masks[2] = {ConstTensorView(), bad_mask};
  built->layer->set_input_masks(masks);
  const ConstTensorView inputs[2] = {q, v};
  Tensor y;
  try {
    built->layer->forward_inputs(inputs, y, Mode::kInfer);
    ADD_FAILURE() << "accepted";
  } catch (const ShapeError& error) {
    EXPECT_NE(std::string(error.what()).find("attn (MultiHeadAttention): the value's mask"), std::string::npos)
        << error.what();
  }
}

}  // namespace multi_head_attention_test
