// MultiHeadAttention over sequences, as keras.layers.MultiHeadAttention (Keras 3) called as
// mha(query, value) or mha(query, value, key): per head, softmax(q·kᵀ/√key_dim) weighs the
// values; weights query/key/value kernels (D, heads, key_dim | value_dim) with biases
// (heads, key_dim | value_dim), the output kernel (heads, value_dim, D_out) and bias (D_out).
#pragma once

#include <array>
#include <string>
#include <vector>

#include "citadel/core/random.hpp"
#include "citadel/layers/layer.hpp"
#include "citadel/layers/regularizers.hpp"

namespace citadel {

struct MultiHeadAttentionOptions {
  int64_t value_dim = 0;     // 0: key_dim
  float dropout = 0.0f;      // on the attention weights, in training
  bool use_bias = true;
  int64_t output_shape = 0;  // 0: the query's features
  std::string kernel_initializer = "glorot_uniform";
  std::string bias_initializer = "zeros";
  Regularizer kernel_regularizer = {}, bias_regularizer = {};
  // Keras's call argument use_causal_mask: query step i attends to key steps j <= i.
  bool use_causal_mask = false;
};

class MultiHeadAttention final : public Layer {
 public:
  MultiHeadAttention(int64_t num_heads, int64_t key_dim, const MultiHeadAttentionOptions& options = {});
  std::unique_ptr<Layer> clone() const override { return std::make_unique<MultiHeadAttention>(*this); }
  std::string type() const override { return "MultiHeadAttention"; }
  static std::unique_ptr<Layer> from_config(const LayerConfigReader& config);
  void get_config(LayerConfigWriter& config) const override;

  // Inputs: query (N, Tq, Dq), value (N, Tv, Dv) and optionally key (N, Tv, Dk), the value
  // when absent. Output (N, Tq, output_shape or Dq).
  int input_count() const override { return kAnyNumber; }
  Shape build_inputs(const std::vector<Shape>& input_shapes, ParameterStore& params) override;
  void bind(ParameterStore& params) override;
  int64_t parameter_count() const override;
  void forward_inputs(std::span<const ConstTensorView> inputs, Tensor& y, Mode mode) override;
  void backward_inputs(ConstTensorView dy, std::span<Tensor* const> dx) override;
  Shape build(const Shape& input_shape, ParameterStore& params) override;
  void forward(ConstTensorView x, Tensor& y, Mode mode) override;
  void backward(ConstTensorView dy, Tensor& dx) override;

  // Masks as Keras computes them: query step i may attend to key step j when the query's
  // mask keeps i, the value's (and key's) keeps j, and (causal) j <= i; a query step that
  // may attend to none weighs every step alike (Keras's -1e9 scores). The output carries the
  // query's mask.
  bool supports_masking() const override { return true; }
  bool uses_mask() const override { return true; }
  void set_input_masks(std::span<const ConstTensorView> masks) override;
  MaskRule output_mask_rule(std::span<const bool> inputs_masked) const override;
  void compute_mask(std::span<const ConstTensorView> inputs, std::span<const ConstTensorView> masks,
                    Tensor& mask) const override;

  void reseed(uint64_t seed) override { rng_ = Rng(seed); }
  std::vector<uint64_t> random_state() const override { return rng_.to_words(); }
  void set_random_state(const std::vector<uint64_t>& words) override { rng_ = Rng::from_words(words); }

  // The attention weights of the last forward (before dropout), (N, heads, Tq, Tv).
  ConstTensorView attention_scores() const { return probs_; }

 private:
  int64_t num_heads_, key_dim_;
  MultiHeadAttentionOptions options_;
  int64_t query_steps_ = 0, value_steps_ = 0, query_features_ = 0, value_features_ = 0, key_features_ = 0;
  int64_t value_dim_ = 0, output_dim_ = 0;
  bool has_key_ = false;
  std::array<int, 8> ids_ = {-1, -1, -1, -1, -1, -1, -1, -1};  // q, q bias, k, k bias, v, v bias, out, out bias
  std::array<TensorView, 8> values_, grads_;
  std::array<ConstTensorView, 3> inputs_, masks_;
  Rng rng_{0};
  bool dropping_ = false;
  // Reused between batches: projections (N·T, heads·dim), weights (N, H, Tq, Tv), context.
  Tensor q_, k_, v_, probs_, dropped_, drop_mask_, context_, allowed_;
  Tensor dcontext_, dq_, dk_, dv_;
};

}  // namespace citadel
