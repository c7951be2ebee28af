// The per-(example, head) part of multi-head attention: scores, the masked softmax, the
// context, and their gradients. The pairs are independent, so they are split over threads
// (each pair's products then run on one thread); small problems stay on the calling thread
// with the products threaded as usual. Layouts are MultiHeadAttention's: q (N·Tq, H·K),
// k (N·Tv, H·K), v (N·Tv, H·V), context (N·Tq, H·V), weights (N, H, Tq, Tv), allowed
// (N, Tq, Tv) of 0/1.
#pragma once

#include <cstdint>

namespace citadel::ops {

struct AttentionShape {
  int64_t batch = 0, heads = 0, query_steps = 0, value_steps = 0, key_dim = 0, value_dim = 0;
  float scale = 1.0f;  // of the scores q·kᵀ
};

// probs = the softmax over the allowed key steps of scale·q·kᵀ, per example and head; a
// query step allowed no key step weighs all alike (as Keras's -1e9 scores do).
void attention_probabilities(const AttentionShape& s, const float* q, const float* k, const float* allowed,
                             float* probs);

// context = weights·v per example and head.
void attention_context(const AttentionShape& s, const float* weights, const float* v, float* context);

// From dcontext: dv = weightsᵀ·dcontext, then through the softmax (probs, the weights
// before dropout; drop_mask, the dropout's per-weight factors, or null) to dq and dk.
void attention_backward(const AttentionShape& s, const float* q, const float* k, const float* v, const float* probs,
                        const float* weights, const float* drop_mask, const float* allowed, const float* dcontext,
                        float* dq, float* dk, float* dv);

}  // namespace citadel::ops
