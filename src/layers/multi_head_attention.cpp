// MultiHeadAttention: the three projections and the output projection as one GEMM each over
// all N·T rows, then per example and head two GEMMs (scores q·kᵀ, context weights·v) with the
// masked softmax between them in place (ops/attention, the pairs split over threads).
// Backward mirrors it with the softmax's Jacobian dS = A ⊙ (dA − Σ_j dA·A) (Vaswani et al.
// 2017, "Attention is all you need", eq. 1).
#include "citadel/layers/multi_head_attention.hpp"

#include <algorithm>
#include <cmath>

#include "citadel/core/error.hpp"
#include "citadel/layers/initializers.hpp"
#include "citadel/layers/layer_config.hpp"
#include "citadel/ops/attention.hpp"
#include "citadel/ops/gemm.hpp"

namespace citadel {

using ops::Transpose;

namespace {

enum Weight { kQuery, kQueryBias, kKey, kKeyBias, kValue, kValueBias, kOutput, kOutputBias };

// y (rows, U) = x (rows, D)·W (D, U) + b.
void project(const float* x, int64_t rows, int64_t D, const float* W, const float* b, int64_t U, float* y) {
  if (b)
    for (int64_t r = 0; r < rows; ++r) std::copy_n(b, U, y + r * U);
  ops::gemm(Transpose::kNo, Transpose::kNo, rows, U, D, 1.0f, x, D, W, U, b ? 1.0f : 0.0f, y, U);
}

// dW += xᵀ·dy, db += Σ_r dy, dx = dy·Wᵀ (added when `add`, else overwritten).
void project_backward(const float* x, int64_t rows, int64_t D, const float* W, const float* dy, int64_t U, float* dW,
                      float* db, float* dx, bool add, bool parameters) {
  if (parameters) {
    ops::gemm(Transpose::kYes, Transpose::kNo, D, U, rows, 1.0f, x, D, dy, U, 1.0f, dW, U);
    if (db)
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t u = 0; u < U; ++u) db[u] += dy[r * U + u];
  }
  if (dx) ops::gemm(Transpose::kNo, Transpose::kYes, rows, D, U, 1.0f, dy, U, W, U, add ? 1.0f : 0.0f, dx, D);
}

}  // namespace

MultiHeadAttention::MultiHeadAttention(int64_t num_heads, int64_t key_dim, const MultiHeadAttentionOptions& options)
    : num_heads_(num_heads), key_dim_(key_dim), options_(options) {
  CITADEL_CHECK(num_heads > 0 && key_dim > 0, ValueError, "MultiHeadAttention: num_heads and key_dim must be positive, got ",
                num_heads, " and ", key_dim);
  CITADEL_CHECK(options.value_dim >= 0 && options.output_shape >= 0, ValueError,
                "MultiHeadAttention: value_dim and output_shape must be positive (or 0 for the default)");
  CITADEL_CHECK(options.dropout >= 0.0f && options.dropout < 1.0f, ValueError,
                "MultiHeadAttention: dropout must be in [0, 1), got ", options.dropout);
  check_initializer_name(options.kernel_initializer);
  check_initializer_name(options.bias_initializer);
}

Shape MultiHeadAttention::build(const Shape&, ParameterStore&) {
  throw ValueError(name_ + " (MultiHeadAttention): call it on a query and a value (and a key): mha([query, value])");
}
void MultiHeadAttention::forward(ConstTensorView, Tensor&, Mode) {
  CITADEL_ASSERT(false, name_, ": MultiHeadAttention takes several inputs");
}
void MultiHeadAttention::backward(ConstTensorView, Tensor&) {
  CITADEL_ASSERT(false, name_, ": MultiHeadAttention takes several inputs");
}

Shape MultiHeadAttention::build_inputs(const std::vector<Shape>& shapes, ParameterStore& params) {
  CITADEL_CHECK(shapes.size() == 2 || shapes.size() == 3, ValueError, name_,
                " (MultiHeadAttention): expected a query and a value (and a key), got ", shapes.size(), " inputs");
  for (size_t i = 0; i < shapes.size(); ++i)
    CITADEL_CHECK(shapes[i].rank() == 2 && shapes[i].numel() > 0, ShapeError, name_, " (MultiHeadAttention): ",
                  i == 0 ? "query" : i == 1 ? "value" : "key", " must be sequences (steps, features), got ",
                  shapes[i].batch_str(), " (attention over other axes is not supported)");
  has_key_ = shapes.size() == 3;
  query_steps_ = shapes[0][0];
  query_features_ = shapes[0][1];
  value_steps_ = shapes[1][0];
  value_features_ = shapes[1][1];
  key_features_ = has_key_ ? shapes[2][1] : value_features_;
  if (has_key_)
    CITADEL_CHECK(shapes[2][0] == value_steps_, ShapeError, name_, " (MultiHeadAttention): key has ", shapes[2][0],
                  " steps but value has ", value_steps_);
  value_dim_ = options_.value_dim > 0 ? options_.value_dim : key_dim_;
  output_dim_ = options_.output_shape > 0 ? options_.output_shape : query_features_;
  const int64_t H = num_heads_, K = key_dim_, V = value_dim_;
  const std::string& kernel = options_.kernel_initializer;
  const std::string& bias = options_.bias_initializer;
  const Regularizer &kr = options_.kernel_regularizer, &br = options_.bias_regularizer;
  ids_.fill(-1);
  ids_[kQuery] = params.declare(name_ + "/query/kernel", Shape{query_features_, H, K}, kernel, kr);
  if (options_.use_bias) ids_[kQueryBias] = params.declare(name_ + "/query/bias", Shape{H, K}, bias, br);
  ids_[kKey] = params.declare(name_ + "/key/kernel", Shape{key_features_, H, K}, kernel, kr);
  if (options_.use_bias) ids_[kKeyBias] = params.declare(name_ + "/key/bias", Shape{H, K}, bias, br);
  ids_[kValue] = params.declare(name_ + "/value/kernel", Shape{value_features_, H, V}, kernel, kr);
  if (options_.use_bias) ids_[kValueBias] = params.declare(name_ + "/value/bias", Shape{H, V}, bias, br);
  ids_[kOutput] = params.declare(name_ + "/attention_output/kernel", Shape{H, V, output_dim_}, kernel, kr);
  if (options_.use_bias) ids_[kOutputBias] = params.declare(name_ + "/attention_output/bias", Shape{output_dim_}, bias, br);
  return Shape{query_steps_, output_dim_};
}

void MultiHeadAttention::bind(ParameterStore& params) {
  for (size_t i = 0; i < ids_.size(); ++i) {
    values_[i] = ids_[i] >= 0 ? params.value(ids_[i]) : TensorView();
    grads_[i] = ids_[i] >= 0 ? params.grad(ids_[i]) : TensorView();
  }
}

int64_t MultiHeadAttention::parameter_count() const {
  const int64_t H = num_heads_, K = key_dim_, V = value_dim_;
  int64_t count = (query_features_ + key_features_) * H * K + value_features_ * H * V + H * V * output_dim_;
  if (options_.use_bias) count += 2 * H * K + H * V + output_dim_;
  return count;
}

void MultiHeadAttention::set_input_masks(std::span<const ConstTensorView> masks) {
  masks_.fill(ConstTensorView());
  for (size_t i = 0; i < masks.size() && i < masks_.size(); ++i) masks_[i] = masks[i];
}

Layer::MaskRule MultiHeadAttention::output_mask_rule(std::span<const bool> inputs_masked) const {
  return !inputs_masked.empty() && inputs_masked[0] ? MaskRule::kComputed : MaskRule::kNone;
}

void MultiHeadAttention::compute_mask(std::span<const ConstTensorView>, std::span<const ConstTensorView> masks,
                                      Tensor& mask) const {
  mask.resize(masks[0].shape());
  std::copy_n(masks[0].data(), masks[0].numel(), mask.data());
}

void MultiHeadAttention::forward_inputs(std::span<const ConstTensorView> inputs, Tensor& y, Mode mode) {
  CITADEL_ASSERT(!values_[kQuery].empty(), name_, " used before the model was built");
  CITADEL_CHECK(inputs.size() == (has_key_ ? 3u : 2u), ValueError, name_, " (MultiHeadAttention): built for ",
                has_key_ ? 3 : 2, " inputs, given ", inputs.size());
  const int64_t N = inputs[0].shape(0), Tq = query_steps_, Tv = value_steps_, H = num_heads_, K = key_dim_,
                V = value_dim_;
  const int64_t features[3] = {query_features_, value_features_, key_features_};
  const int64_t steps[3] = {Tq, Tv, Tv};
  const char* names[3] = {"query", "value", "key"};
  for (size_t i = 0; i < inputs.size(); ++i) {
    CITADEL_CHECK(inputs[i].shape() == Shape({N, steps[i], features[i]}), ShapeError, name_, " (MultiHeadAttention): ",
                  names[i], " of shape ", inputs[i].shape(), ", expected (", N, ", ", steps[i], ", ", features[i], ")");
    CITADEL_CHECK(masks_[i].empty() || masks_[i].shape() == Shape({N, steps[i]}), ShapeError, name_,
                  " (MultiHeadAttention): the ", names[i], "'s mask is shaped ", masks_[i].shape(), ", expected (", N,
                  ", ", steps[i], ")");
    inputs_[i] = inputs[i];
  }
  const ConstTensorView key = has_key_ ? inputs[2] : inputs[1];
  auto bias = [&](int id) { return values_[id].empty() ? nullptr : values_[id].data(); };
  q_.resize(Shape{N * Tq, H * K});
  k_.resize(Shape{N * Tv, H * K});
  v_.resize(Shape{N * Tv, H * V});
  project(inputs[0].data(), N * Tq, query_features_, values_[kQuery].data(), bias(kQueryBias), H * K, q_.data());
  project(key.data(), N * Tv, key_features_, values_[kKey].data(), bias(kKeyBias), H * K, k_.data());
  project(inputs[1].data(), N * Tv, value_features_, values_[kValue].data(), bias(kValueBias), H * V, v_.data());

  // Which (query step, key step) pairs may attend, per example: (N, Tq, Tv) of 0/1.
  allowed_.resize(Shape{N, Tq, Tv});
  const ConstTensorView key_mask = has_key_ ? masks_[2] : ConstTensorView();
  for (int64_t n = 0; n < N; ++n)
    for (int64_t i = 0; i < Tq; ++i)
      for (int64_t j = 0; j < Tv; ++j) {
        bool ok = masks_[0].empty() || masks_[0][n * Tq + i] != 0.0f;
        ok = ok && (masks_[1].empty() || masks_[1][n * Tv + j] != 0.0f);
        ok = ok && (key_mask.empty() || key_mask[n * Tv + j] != 0.0f);
        ok = ok && (!options_.use_causal_mask || j <= i);
        allowed_[(n * Tq + i) * Tv + j] = ok ? 1.0f : 0.0f;
      }

  const ops::AttentionShape shape{N, H, Tq, Tv, K, V, 1.0f / std::sqrt(float(K))};
  probs_.resize(Shape{N, H, Tq, Tv});
  ops::attention_probabilities(shape, q_.data(), k_.data(), allowed_.data(), probs_.data());
  dropping_ = mode == Mode::kTrain && options_.dropout > 0.0f;
  const float* weights = probs_.data();
  if (dropping_) {
    drop_mask_.resize(probs_.shape());
    dropped_.resize(probs_.shape());
    const float keep_scale = 1.0f / (1.0f - options_.dropout);
    for (int64_t i = 0; i < probs_.numel(); ++i) {
      drop_mask_[i] = rng_.uniform() >= options_.dropout ? keep_scale : 0.0f;
      dropped_[i] = probs_[i] * drop_mask_[i];
    }
    weights = dropped_.data();
  }
  context_.resize(Shape{N * Tq, H * V});
  ops::attention_context(shape, weights, v_.data(), context_.data());
  y.resize(Shape{N, Tq, output_dim_});
  project(context_.data(), N * Tq, H * V, values_[kOutput].data(), bias(kOutputBias), output_dim_, y.data());
}

void MultiHeadAttention::backward_inputs(ConstTensorView dy, std::span<Tensor* const> dx) {
  CITADEL_ASSERT(q_.numel() > 0, name_, ": backward() called before forward()");
  const int64_t N = inputs_[0].shape(0), Tq = query_steps_, Tv = value_steps_, H = num_heads_, K = key_dim_,
                V = value_dim_;
  CITADEL_CHECK(dy.shape() == Shape({N, Tq, output_dim_}), ShapeError, name_, " (MultiHeadAttention): gradient shape ",
                dy.shape(), " does not match output shape (", N, ", ", Tq, ", ", output_dim_, ")");
  const bool parameters = parameter_gradients_needed_;
  auto grad = [&](int id) { return grads_[id].empty() ? nullptr : grads_[id].data(); };
  dcontext_.resize(Shape{N * Tq, H * V});
  project_backward(context_.data(), N * Tq, H * V, values_[kOutput].data(), dy.data(), output_dim_, grad(kOutput),
                   grad(kOutputBias), dcontext_.data(), false, parameters);
  const float* weights = dropping_ ? dropped_.data() : probs_.data();
  dq_.resize(Shape{N * Tq, H * K});
  dk_.resize(Shape{N * Tv, H * K});
  dv_.resize(Shape{N * Tv, H * V});
  const ops::AttentionShape shape{N, H, Tq, Tv, K, V, 1.0f / std::sqrt(float(K))};
  ops::attention_backward(shape, q_.data(), k_.data(), v_.data(), probs_.data(), weights,
                          dropping_ ? drop_mask_.data() : nullptr, allowed_.data(), dcontext_.data(), dq_.data(),
                          dk_.data(), dv_.data());
  const bool inputs_wanted = input_gradient_needed_;
  auto input_grad = [&](size_t i, const Shape& input_shape) -> float* {
    if (!inputs_wanted || i >= dx.size() || dx[i] == nullptr) return nullptr;
    dx[i]->resize(input_shape);
    return dx[i]->data();
  };
  const ConstTensorView key = has_key_ ? inputs_[2] : inputs_[1];
  float* dquery = input_grad(0, inputs_[0].shape());
  float* dvalue = input_grad(1, inputs_[1].shape());
  float* dkey = has_key_ ? input_grad(2, inputs_[2].shape()) : dvalue;
  project_backward(inputs_[0].data(), N * Tq, query_features_, values_[kQuery].data(), dq_.data(), H * K, grad(kQuery),
                   grad(kQueryBias), dquery, false, parameters);
  project_backward(inputs_[1].data(), N * Tv, value_features_, values_[kValue].data(), dv_.data(), H * V, grad(kValue),
                   grad(kValueBias), dvalue, false, parameters);
  // Without a key input the key is the value: its gradient adds to the value's.
  project_backward(key.data(), N * Tv, key_features_, values_[kKey].data(), dk_.data(), H * K, grad(kKey),
                   grad(kKeyBias), dkey, !has_key_, parameters);
}

std::unique_ptr<Layer> MultiHeadAttention::from_config(const LayerConfigReader& config) {
  config.check_keys({"num_heads", "key_dim", "value_dim", "dropout", "use_bias", "output_shape", "attention_axes",
                     "kernel_initializer", "bias_initializer", "kernel_regularizer", "bias_regularizer", "seed",
                     "flash_attention", "query_shape", "key_shape", "value_shape", "use_causal_mask", "use_gate",
                     "sliding_window", "activity_regularizer", "kernel_constraint", "bias_constraint"});
  // Keras 3 writes attention_axes [1] for sequences (batch, steps, features): the steps, the
  // only axis citadel attends over.
  const int64_t axis = config.axis("attention_axes", 1);
  CITADEL_CHECK(axis == 1 || axis == -2, NotImplementedError, config.where(),
                ": 'attention_axes' other than the steps ([1]) is not supported, got ", axis);
  config.require("flash_attention", false);
  config.require("use_gate", false);
  config.require_null("sliding_window");
  config.require_null("activity_regularizer");
  config.require_null("kernel_constraint");
  config.require_null("bias_constraint");
  MultiHeadAttentionOptions options;
  const int64_t heads = config.integer("num_heads", 1, config.limits().max_units);
  const int64_t key_dim = config.integer("key_dim", 1, config.limits().max_units);
  if (config.has("value_dim")) options.value_dim = config.integer("value_dim", 1, config.limits().max_units);
  options.dropout = static_cast<float>(config.number("dropout", 0.0));
  options.use_bias = config.boolean("use_bias", true);
  if (config.has("output_shape")) options.output_shape = config.single("output_shape", 0);
  options.kernel_initializer = config.initializer("kernel_initializer", "glorot_uniform");
  options.bias_initializer = config.initializer("bias_initializer", "zeros");
  options.kernel_regularizer = config.regularizer("kernel_regularizer");
  options.bias_regularizer = config.regularizer("bias_regularizer");
  options.use_causal_mask = config.boolean("use_causal_mask", false);
  try {
    return std::make_unique<MultiHeadAttention>(heads, key_dim, options);
  } catch (const ValueError& error) {
    throw ValueError(config.where() + ": " + error.what());
  }
}

void MultiHeadAttention::get_config(LayerConfigWriter& config) const {
  config.set_integer("num_heads", num_heads_);
  config.set_integer("key_dim", key_dim_);
  if (options_.value_dim > 0) config.set_integer("value_dim", options_.value_dim);
  config.set_number("dropout", options_.dropout);
  config.set_boolean("use_bias", options_.use_bias);
  if (options_.output_shape > 0) config.set_integer("output_shape", options_.output_shape);
  config.set_string("kernel_initializer", options_.kernel_initializer);
  config.set_string("bias_initializer", options_.bias_initializer);
  config.set_regularizer("kernel_regularizer", options_.kernel_regularizer);
  config.set_regularizer("bias_regularizer", options_.bias_regularizer);
  // Keras passes it at call time; citadel keeps it with the layer (one value for every call).
  if (options_.use_causal_mask) config.set_boolean("use_causal_mask", true);
}

}  // namespace citadel
