// Attention's per-(example, head) products and softmax, the pairs split over threads. Each
// pair is computed the same way on whichever thread takes it, so the result does not depend
// on the thread count (its products run single-threaded inside the region: OpenMP does not
// nest, and oneDNN runs one thread inside a parallel region).
#include "citadel/ops/attention.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "citadel/ops/gemm.hpp"
#include "citadel/ops/precision.hpp"
#include "parallel.hpp"
#include "vector_exp.hpp"

namespace citadel::ops {
namespace {

// Multiply-adds per thread below which the pairs stay on the calling thread (whose products
// then use the team): waking a thread costs a few microseconds.
constexpr int64_t kWorkPerThread = 1 << 17;

// Calls body(n, h) for every pair, the pairs split over the team when their work pays for it.
template <class Body>
void for_each_pair(const AttentionShape& s, int64_t work_per_pair, const Body& body) {
  const Precision precision = current_precision();  // thread-local: the team's threads take the caller's
  detail::parallel_for(s.batch * s.heads, std::max<int64_t>(1, kWorkPerThread / std::max<int64_t>(1, work_per_pair)),
                       [&](int64_t begin, int64_t end) {
                         PrecisionScope scope(precision);
                         for (int64_t pair = begin; pair < end; ++pair) body(pair / s.heads, pair % s.heads);
                       });
}

// One row of the masked softmax in place, eight steps at a time (Float8): the maximum and
// the sum run in eight lanes combined in a fixed order (so a row's result does not depend on
// the thread that computes it), and the exponential is computed for every step and then
// masked, without a branch. `ok` holds 1 for an allowed key step, 0 for a masked one.
__attribute__((target_clones("avx512f", "avx2", "default"))) void masked_softmax_row(float* __restrict row,
                                                                                     const float* __restrict ok,
                                                                                     int64_t n) {
  using detail::Float8;
  constexpr int64_t kLanes = 8;
  Float8 tops = Float8{} - INFINITY;
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes) {
    Float8 x, allowed;
    std::memcpy(&x, row + j, sizeof x);
    std::memcpy(&allowed, ok + j, sizeof allowed);
    const Float8 candidate = allowed != 0.0f ? x : Float8{} - INFINITY;
    tops = candidate > tops ? candidate : tops;
  }
  float top = -INFINITY;
  for (int64_t l = 0; l < kLanes; ++l) top = std::max(top, tops[l]);
  for (; j < n; ++j)
    if (ok[j] != 0.0f) top = std::max(top, row[j]);
  if (top == -INFINITY) {  // nothing allowed: Keras's equal -1e9 scores weigh all alike
    std::fill_n(row, n, 1.0f / float(n));
    return;
  }
  Float8 sums{};
  j = 0;
  for (; j + kLanes <= n; j += kLanes) {
    Float8 x, allowed;
    std::memcpy(&x, row + j, sizeof x);
    std::memcpy(&allowed, ok + j, sizeof allowed);
    Float8 e = x - top;
    detail::exponentiate(e);
    const Float8 kept = allowed != 0.0f ? e : Float8{};
    std::memcpy(row + j, &kept, sizeof kept);
    sums += kept;
  }
  float sum = 0.0f;
  for (int64_t l = 0; l < kLanes; ++l) sum += sums[l];
  for (; j < n; ++j) {
    row[j] = ok[j] != 0.0f ? detail::vector_exp(row[j] - top) : 0.0f;
    sum += row[j];
  }
  for (int64_t k = 0; k < n; ++k) row[k] /= sum;
}

// d(scores) of one row from d(weights) and the weights A: A ⊙ (dA − Σ_j dA·A), zero where no
// key step is allowed (the weights are constant there). The sums run in eight lanes, as the
// forward row's do.
__attribute__((target_clones("avx512f", "avx2", "default"))) void softmax_backward_row(float* __restrict row,
                                                                                       const float* __restrict a,
                                                                                       const float* __restrict ok,
                                                                                       int64_t n) {
  using detail::Float8;
  constexpr int64_t kLanes = 8;
  Float8 allowed_lanes{}, dot_lanes{};
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes) {
    Float8 d, weights, allowed;
    std::memcpy(&d, row + j, sizeof d);
    std::memcpy(&weights, a + j, sizeof weights);
    std::memcpy(&allowed, ok + j, sizeof allowed);
    allowed_lanes += allowed;
    dot_lanes += d * weights;
  }
  float allowed_count = 0.0f, dot = 0.0f;
  for (int64_t l = 0; l < kLanes; ++l) {
    allowed_count += allowed_lanes[l];
    dot += dot_lanes[l];
  }
  for (; j < n; ++j) {
    allowed_count += ok[j];
    dot += row[j] * a[j];
  }
  if (allowed_count == 0.0f) {
    std::fill_n(row, n, 0.0f);
    return;
  }
  for (int64_t k = 0; k < n; ++k) row[k] = a[k] * (row[k] - dot);
}

}  // namespace

void attention_probabilities(const AttentionShape& s, const float* q, const float* k, const float* allowed,
                             float* probs) {
  const int64_t H = s.heads, Tq = s.query_steps, Tv = s.value_steps, K = s.key_dim;
  for_each_pair(s, Tq * Tv * (K + 8), [&](int64_t n, int64_t h) {
    float* P = probs + (n * H + h) * Tq * Tv;
    gemm(Transpose::kNo, Transpose::kYes, Tq, Tv, K, s.scale, q + n * Tq * H * K + h * K, H * K,
         k + n * Tv * H * K + h * K, H * K, 0.0f, P, Tv);
    for (int64_t i = 0; i < Tq; ++i) masked_softmax_row(P + i * Tv, allowed + (n * Tq + i) * Tv, Tv);
  });
}

void attention_context(const AttentionShape& s, const float* weights, const float* v, float* context) {
  const int64_t H = s.heads, Tq = s.query_steps, Tv = s.value_steps, V = s.value_dim;
  for_each_pair(s, Tq * Tv * V, [&](int64_t n, int64_t h) {
    gemm(Transpose::kNo, Transpose::kNo, Tq, V, Tv, 1.0f, weights + (n * H + h) * Tq * Tv, Tv,
         v + n * Tv * H * V + h * V, H * V, 0.0f, context + n * Tq * H * V + h * V, H * V);
  });
}

void attention_backward(const AttentionShape& s, const float* q, const float* k, const float* v, const float* probs,
                        const float* weights, const float* drop_mask, const float* allowed, const float* dcontext,
                        float* dq, float* dk, float* dv) {
  const int64_t H = s.heads, Tq = s.query_steps, Tv = s.value_steps, K = s.key_dim, V = s.value_dim;
  for_each_pair(s, Tq * Tv * (2 * K + 2 * V), [&](int64_t n, int64_t h) {
    thread_local std::vector<float> scratch;  // d(weights), then d(scores), of this pair
    scratch.resize(static_cast<size_t>(Tq * Tv));
    float* dA = scratch.data();
    const int64_t pair = (n * H + h) * Tq * Tv;
    const float* dc = dcontext + n * Tq * H * V + h * V;
    const float* vh = v + n * Tv * H * V + h * V;
    // dv = weightsᵀ·dcontext; d(weights) = dcontext·vᵀ.
    gemm(Transpose::kYes, Transpose::kNo, Tv, V, Tq, 1.0f, weights + pair, Tv, dc, H * V, 0.0f,
         dv + n * Tv * H * V + h * V, H * V);
    gemm(Transpose::kNo, Transpose::kYes, Tq, Tv, V, 1.0f, dc, H * V, vh, H * V, 0.0f, dA, Tv);
    if (drop_mask)
      for (int64_t i = 0; i < Tq * Tv; ++i) dA[i] *= drop_mask[pair + i];
    for (int64_t i = 0; i < Tq; ++i)
      softmax_backward_row(dA + i * Tv, probs + pair + i * Tv, allowed + (n * Tq + i) * Tv, Tv);
    // scores = scale·q·kᵀ: dq = scale·dS·k, dk = scale·dSᵀ·q.
    gemm(Transpose::kNo, Transpose::kNo, Tq, K, Tv, s.scale, dA, Tv, k + n * Tv * H * K + h * K, H * K, 0.0f,
         dq + n * Tq * H * K + h * K, H * K);
    gemm(Transpose::kYes, Transpose::kNo, Tv, K, Tq, s.scale, dA, Tv, q + n * Tq * H * K + h * K, H * K, 0.0f,
         dk + n * Tv * H * K + h * K, H * K);
  });
}

}  // namespace citadel::ops
