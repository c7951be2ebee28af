// Recurrent layers' math: the input projection of every step as one GEMM, then per step one
// recurrent GEMM and a fused gate kernel; backward through time the same way, with the
// weight gradients as one GEMM each over all steps and (for DP-SGD) per example.
#include "citadel/layers/recurrent.hpp"

#include <algorithm>

#include "citadel/core/error.hpp"
#include "citadel/layers/initializers.hpp"
#include "citadel/ops/gemm.hpp"
#include "citadel/ops/reductions.hpp"

namespace citadel {

using ops::ConstRows;
using ops::Rows;
using ops::Transpose;
using Cell = RecurrentSettings::Cell;

int64_t Recurrent::gates() const {
  switch (settings_.cell) {
    case Cell::kSimpleRNN: return 1;
    case Cell::kLSTM: return 4;
    case Cell::kGRU: return 3;
  }
  return 1;
}

Layer::MaskRule Recurrent::output_mask_rule(std::span<const bool> inputs_masked) const {
  // Keras: the mask goes on with the sequence of outputs, not with the last output.
  const bool masked = !inputs_masked.empty() && inputs_masked[0];
  return masked && settings_.return_sequences ? MaskRule::kSameAsInput : MaskRule::kNone;
}

std::optional<Shape> Recurrent::declared_input_shape() const {
  if (settings_.input_shape.empty()) return std::nullopt;
  return Shape(settings_.input_shape);
}

Shape Recurrent::build(const Shape& input_shape, ParameterStore& params) {
  CITADEL_CHECK(input_shape.rank() == 2 && input_shape.numel() > 0, ShapeError, name_, " (", type(),
                "): expected sequences (steps, features), got ", input_shape.batch_str());
  if (auto declared = declared_input_shape())
    CITADEL_CHECK(*declared == input_shape, ShapeError, name_, " (", type(), "): declared input shape ", *declared,
                  " but the previous layer gives ", input_shape);
  steps_ = input_shape[0];
  features_ = input_shape[1];
  const int64_t GU = gates() * units_;
  kernel_id_ = params.declare(name_ + "/kernel", Shape{features_, GU}, settings_.kernel_initializer,
                              settings_.kernel_regularizer);
  recurrent_id_ = params.declare(name_ + "/recurrent_kernel", Shape{units_, GU}, settings_.recurrent_initializer,
                                 settings_.recurrent_regularizer);
  if (settings_.use_bias) {
    const bool two_biases = settings_.cell == Cell::kGRU && settings_.reset_after;
    const bool forget_ones = settings_.cell == Cell::kLSTM && settings_.unit_forget_bias;
    bias_id_ = params.declare(name_ + "/bias", two_biases ? Shape{2, GU} : Shape{GU},
                              forget_ones ? std::string(kUnitForgetBiasInitializer) : settings_.bias_initializer,
                              settings_.bias_regularizer);
  }
  if (!settings_.return_state) return output_shape();
  int64_t packed = output_shape().numel() + state_count() * units_;
  return Shape{packed};
}

Shape Recurrent::output_shape() const { return settings_.return_sequences ? Shape{steps_, units_} : Shape{units_}; }

std::vector<Shape> Recurrent::output_part_shapes() const {
  std::vector<Shape> parts{output_shape()};
  for (int k = 0; k < state_count(); ++k) parts.push_back(Shape{units_});
  return parts;
}

Shape Recurrent::build_inputs(const std::vector<Shape>& input_shapes, ParameterStore& params) {
  CITADEL_CHECK(accepts_input_count(input_shapes.size()), ValueError, name_, " (", type(),
                "): takes its input and, as initial_state, ", state_count(), " state", state_count() == 1 ? "" : "s",
                "; got ", input_shapes.size(), " tensors");
  for (size_t k = 1; k < input_shapes.size(); ++k)
    CITADEL_CHECK(input_shapes[k] == Shape({units_}), ShapeError, name_, " (", type(), "): initial_state[", k - 1,
                  "] must be (batch, ", units_, "), got ", input_shapes[k].batch_str());
  return build(input_shapes[0], params);
}

void Recurrent::bind(ParameterStore& params) {
  kernel_ = params.value(kernel_id_);
  dkernel_ = params.grad(kernel_id_);
  recurrent_ = params.value(recurrent_id_);
  drecurrent_ = params.grad(recurrent_id_);
  if (bias_id_ >= 0) {
    bias_ = params.value(bias_id_);
    dbias_ = params.grad(bias_id_);
  }
}

int64_t Recurrent::parameter_count() const {
  const int64_t GU = gates() * units_;
  const bool two_biases = settings_.cell == Cell::kGRU && settings_.reset_after;
  return (features_ + units_) * GU + (settings_.use_bias ? (two_biases ? 2 : 1) * GU : 0);
}

namespace {

// Every row of (rows, width) set to `row`.
void fill_rows(float* out, int64_t rows, int64_t width, const float* row) {
  for (int64_t r = 0; r < rows; ++r) std::copy_n(row, width, out + r * width);
}

// out[j] += Σ_r m[r, j] over (rows, width) stored at `stride`.
void add_column_sums(const float* m, int64_t rows, int64_t width, int64_t stride, float* out) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < width; ++j) out[j] += m[r * stride + j];
}

}  // namespace

namespace {

// (rows, width) of 0 or 1/(1 − rate), as Keras's dropout masks.
void draw_dropout_mask(Tensor& mask, int64_t rows, int64_t width, float rate, Rng& rng) {
  mask.resize(Shape{rows, width});
  const float keep_scale = 1.0f / (1.0f - rate);
  for (int64_t i = 0; i < mask.numel(); ++i) mask[i] = rng.uniform() >= rate ? keep_scale : 0.0f;
}

}  // namespace

void Recurrent::forward(ConstTensorView x, Tensor& y, Mode mode) {
  initial_h_ = ConstTensorView();
  initial_c_ = ConstTensorView();
  run_forward(x, y, mode);
}

void Recurrent::forward_inputs(std::span<const ConstTensorView> inputs, Tensor& y, Mode mode) {
  CITADEL_ASSERT(accepts_input_count(inputs.size()), name_, ": ", inputs.size(), " inputs");
  initial_h_ = inputs.size() > 1 ? inputs[1] : ConstTensorView();
  initial_c_ = inputs.size() > 2 ? inputs[2] : ConstTensorView();
  run_forward(inputs[0], y, mode);
}

void Recurrent::run_forward(ConstTensorView x, Tensor& y, Mode mode) {
  CITADEL_ASSERT(!kernel_.empty(), name_, " used before the model was built");
  const Shape expected{steps_, features_};
  CITADEL_CHECK(x.rank() == 3 && x.shape().without_batch() == expected, ShapeError, name_, " (", type(),
                "): expected input ", expected.batch_str(), ", got ", x.shape());
  const int64_t N = x.shape(0), T = steps_, U = units_, GU = gates() * U;
  CITADEL_CHECK(mask_.empty() || mask_.shape() == Shape({N, T}), ShapeError, name_, " (", type(), "): mask of shape ",
                mask_.shape(), " for input ", x.shape());
  for (const ConstTensorView* state : {&initial_h_, &initial_c_})
    CITADEL_CHECK(state->empty() || state->shape() == Shape({N, U}), ShapeError, name_, " (", type(),
                  "): initial state of shape ", state->shape(), " for a batch of ", N, "; expected (", N, ", ", U, ")");
  input_ = x;
  input_dropping_ = mode == Mode::kTrain && settings_.dropout > 0.0f;
  recurrent_dropping_ = mode == Mode::kTrain && settings_.recurrent_dropout > 0.0f;
  if (input_dropping_) {  // one mask per sequence, every step: x ⊙ mask, then the same GEMM
    draw_dropout_mask(input_mask_, N, features_, settings_.dropout, rng_);
    dropped_input_.resize(x.shape());
    for (int64_t n = 0; n < N; ++n)
      for (int64_t t = 0; t < T; ++t)
        for (int64_t d = 0; d < features_; ++d)
          dropped_input_[(n * T + t) * features_ + d] = x[(n * T + t) * features_ + d] * input_mask_[n * features_ + d];
    input_ = dropped_input_;
  }
  if (recurrent_dropping_) draw_dropout_mask(recurrent_mask_, N, U, settings_.recurrent_dropout, rng_);
  x = input_;
  x_proj_.resize(Shape{N, T, GU});
  if (settings_.use_bias) fill_rows(x_proj_.data(), N * T, GU, bias_.data());
  ops::gemm(Transpose::kNo, Transpose::kNo, N * T, GU, features_, 1.0f, x.data(), features_, kernel_.data(), GU,
            settings_.use_bias ? 1.0f : 0.0f, x_proj_.data(), GU);
  h_prev_.resize(Shape{N, T, U});
  gates_.resize(Shape{N, T, GU});
  if (settings_.cell != Cell::kSimpleRNN) extra_.resize(Shape{N, T, U});
  if (settings_.cell == Cell::kLSTM) {
    c_prev_.resize(Shape{N, T, U});
    c_.resize(Shape{N, U});
    if (initial_c_.empty())
      c_.fill(0.0f);
    else
      std::copy_n(initial_c_.data(), N * U, c_.data());
  }
  h_.resize(Shape{N, U});
  if (initial_h_.empty())
    h_.fill(0.0f);
  else
    std::copy_n(initial_h_.data(), N * U, h_.data());
  h_proj_.resize(Shape{N, GU});
  Tensor& out = settings_.return_state ? unpacked_ : y;
  out.resize(output_shape().with_batch(N));
  forward_steps(N, out);
  if (!settings_.return_sequences) std::copy_n(h_.data(), N * U, out.data());
  if (!settings_.return_state) return;
  // Packed rows: the output, h, then (LSTM) c — the states after the last unmasked step.
  const int64_t width = out.numel() / N, packed = width + state_count() * U;
  y.resize(Shape{N, packed});
  for (int64_t n = 0; n < N; ++n) {
    float* row = y.data() + n * packed;
    std::copy_n(out.data() + n * width, width, row);
    std::copy_n(h_.data() + n * U, U, row + width);
    if (settings_.cell == Cell::kLSTM) std::copy_n(c_.data() + n * U, U, row + width + U);
  }
}

void Recurrent::forward_steps(int64_t N, Tensor& y) {
  const int64_t T = steps_, U = units_, GU = gates() * U;
  const float* R = recurrent_.data();
  for (int64_t s = 0; s < T; ++s) {
    const int64_t t = time_of(s);
    const ops::StepRows rows{N, U, mask_.empty() ? nullptr : mask_.data() + t, T};
    // The state the step reads, kept for the backward pass (recurrent dropout applied).
    for (int64_t n = 0; n < N; ++n) {
      const float* h = h_.data() + n * U;
      float* read = h_prev_.data() + (n * T + t) * U;
      if (recurrent_dropping_)
        for (int64_t j = 0; j < U; ++j) read[j] = h[j] * recurrent_mask_[n * U + j];
      else
        std::copy_n(h, U, read);
    }
    const float* h_read = h_prev_.data() + t * U;  // rows T·U apart
    if (settings_.cell == Cell::kLSTM)
      for (int64_t n = 0; n < N; ++n) std::copy_n(c_.data() + n * U, U, c_prev_.data() + (n * T + t) * U);
    const ConstRows x_proj{x_proj_.data() + t * GU, T * GU};
    const Rows gates{gates_.data() + t * GU, T * GU}, extra{extra_.data() + t * U, T * U};
    switch (settings_.cell) {
      case Cell::kSimpleRNN:
        ops::gemm(Transpose::kNo, Transpose::kNo, N, GU, U, 1.0f, h_read, T * U, R, GU, 0.0f, h_proj_.data(), GU);
        ops::simple_rnn_step_forward(rows, activation_, x_proj, {h_proj_.data(), GU}, gates, h_.data());
        break;
      case Cell::kLSTM:
        ops::gemm(Transpose::kNo, Transpose::kNo, N, GU, U, 1.0f, h_read, T * U, R, GU, 0.0f, h_proj_.data(), GU);
        ops::lstm_step_forward(rows, activation_, recurrent_activation_, x_proj, {h_proj_.data(), GU}, gates, extra,
                               c_.data(), h_.data());
        break;
      case Cell::kGRU:
        if (settings_.reset_after) {
          if (settings_.use_bias) fill_rows(h_proj_.data(), N, GU, bias_.data() + GU);
          ops::gemm(Transpose::kNo, Transpose::kNo, N, GU, U, 1.0f, h_read, T * U, R, GU,
                    settings_.use_bias ? 1.0f : 0.0f, h_proj_.data(), GU);
          ops::gru_step_forward(rows, activation_, recurrent_activation_, x_proj, {h_proj_.data(), GU},
                                {h_read, T * U}, gates, extra, h_.data());
        } else {
          forward_gru_v1_step(rows, t);
        }
        break;
    }
    if (settings_.return_sequences)
      for (int64_t n = 0; n < N; ++n) {
        float* out = y.data() + (n * T + s) * U;
        if (settings_.zero_output_for_mask && !rows.kept(n))
          std::fill_n(out, U, 0.0f);
        else
          std::copy_n(h_.data() + n * U, U, out);
      }
  }
}

void Recurrent::forward_gru_v1_step(const ops::StepRows& rows, int64_t t) {
  const int64_t N = rows.batch, T = steps_, U = units_, GU = 3 * U;
  const float* R = recurrent_.data();
  const ConstRows x_proj{x_proj_.data() + t * GU, T * GU}, h_prev{h_prev_.data() + t * U, T * U};
  const Rows gates{gates_.data() + t * GU, T * GU}, rh{extra_.data() + t * U, T * U};
  // z and r from h·R[:, :2U]; the candidate from (r·h)·R[:, 2U:].
  ops::gemm(Transpose::kNo, Transpose::kNo, N, 2 * U, U, 1.0f, h_prev.data, h_prev.stride, R, GU, 0.0f,
            h_proj_.data(), GU);
  ops::gru_v1_step_gates(rows, recurrent_activation_, x_proj, {h_proj_.data(), GU}, h_prev, gates, rh);
  ops::gemm(Transpose::kNo, Transpose::kNo, N, U, U, 1.0f, rh.data, T * U, R + 2 * U, GU, 0.0f,
            h_proj_.data() + 2 * U, GU);
  ops::gru_v1_step_candidate(rows, activation_, x_proj, {h_proj_.data() + 2 * U, GU}, h_prev, gates, h_.data());
}

void Recurrent::backward(ConstTensorView dy, Tensor& dx) {
  const int64_t N = input_.empty() ? 0 : input_.shape(0), T = steps_, U = units_, GU = gates() * U;
  CITADEL_ASSERT(N > 0, name_, ": backward() called before forward()");
  const Shape out = output_shape().with_batch(N);
  const int64_t width = out.numel() / N, packed = width + state_count() * U;
  const Shape given = settings_.return_state ? Shape{N, packed} : out;
  CITADEL_CHECK(dy.shape() == given, ShapeError, name_, " (", type(), "): gradient shape ", dy.shape(),
                " does not match output shape ", given);
  const bool two_biases = settings_.cell == Cell::kGRU && settings_.reset_after;
  dz_x_.resize(Shape{N, T, GU});
  if (two_biases) dz_h_.resize(Shape{N, T, GU});
  for (Tensor* state : {&dh_, &dc_, &dh_product_, &direct_}) state->resize(Shape{N, U});
  dh_.fill(0.0f);
  dc_.fill(0.0f);
  ConstTensorView dy_output = dy;
  if (settings_.return_state) {  // the final states' gradients start the walk back
    dy_output_.resize(out);
    for (int64_t n = 0; n < N; ++n) {
      const float* row = dy.data() + n * packed;
      std::copy_n(row, width, dy_output_.data() + n * width);
      std::copy_n(row + width, U, dh_.data() + n * U);
      if (settings_.cell == Cell::kLSTM) std::copy_n(row + width + U, U, dc_.data() + n * U);
    }
    dy_output = dy_output_;
  }
  if (!settings_.return_sequences)
    for (int64_t i = 0; i < N * U; ++i) dh_[i] += dy_output.data()[i];
  backward_steps(dy_output, N);

  if (per_example_norms_needed_) record_per_example_gradients(N);
  const float* dz_h = two_biases ? dz_h_.data() : dz_x_.data();
  if (parameter_gradients_needed_) {
    ops::gemm(Transpose::kYes, Transpose::kNo, features_, GU, N * T, 1.0f, input_.data(), features_, dz_x_.data(), GU,
              1.0f, dkernel_.data(), GU);
    if (settings_.cell == Cell::kGRU && !settings_.reset_after) {
      ops::gemm(Transpose::kYes, Transpose::kNo, U, 2 * U, N * T, 1.0f, h_prev_.data(), U, dz_x_.data(), GU, 1.0f,
                drecurrent_.data(), GU);
      ops::gemm(Transpose::kYes, Transpose::kNo, U, U, N * T, 1.0f, extra_.data(), U, dz_x_.data() + 2 * U, GU, 1.0f,
                drecurrent_.data() + 2 * U, GU);
    } else {
      ops::gemm(Transpose::kYes, Transpose::kNo, U, GU, N * T, 1.0f, h_prev_.data(), U, dz_h, GU, 1.0f,
                drecurrent_.data(), GU);
    }
    if (settings_.use_bias) {
      add_column_sums(dz_x_.data(), N * T, GU, GU, dbias_.data());
      if (two_biases) add_column_sums(dz_h, N * T, GU, GU, dbias_.data() + GU);
    }
  }
  if (!input_gradient_needed_) return;
  dx.resize(Shape{N, T, features_});
  ops::gemm(Transpose::kNo, Transpose::kYes, N * T, features_, GU, 1.0f, dz_x_.data(), GU, kernel_.data(), GU, 0.0f,
            dx.data(), features_);
  if (input_dropping_)
    for (int64_t n = 0; n < N; ++n)
      for (int64_t t = 0; t < T; ++t)
        for (int64_t d = 0; d < features_; ++d) dx[(n * T + t) * features_ + d] *= input_mask_[n * features_ + d];
}

void Recurrent::backward_inputs(ConstTensorView dy, std::span<Tensor* const> dx) {
  // After the walk back, dh_ and dc_ hold the gradients of the states before the first step.
  backward_sequence_and_states(dy, dx, [this](int k) { return initial_state_gradient(k); });
}

void Recurrent::backward_steps(ConstTensorView dy, int64_t N) {
  const int64_t T = steps_, U = units_, GU = gates() * U;
  const float* R = recurrent_.data();
  for (int64_t s = T - 1; s >= 0; --s) {
    const int64_t t = time_of(s);
    const ops::StepRows rows{N, U, mask_.empty() ? nullptr : mask_.data() + t, T};
    if (settings_.return_sequences)
      for (int64_t n = 0; n < N; ++n) {
        if (settings_.zero_output_for_mask && !rows.kept(n)) continue;
        const float* g = dy.data() + (n * T + s) * U;
        float* d = dh_.data() + n * U;
        for (int64_t j = 0; j < U; ++j) d[j] += g[j];
      }
    const ConstRows gates{gates_.data() + t * GU, T * GU}, extra{extra_.data() + t * U, T * U};
    const ConstRows h_prev{h_prev_.data() + t * U, T * U};
    const Rows dz{dz_x_.data() + t * GU, T * GU};
    const float* direct = nullptr;
    const float* dz_product = dz.data;
    switch (settings_.cell) {
      case Cell::kSimpleRNN:
        ops::simple_rnn_step_backward(rows, activation_, gates, dh_.data(), dz);
        break;
      case Cell::kLSTM:
        ops::lstm_step_backward(rows, activation_, recurrent_activation_, gates, extra,
                                {c_prev_.data() + t * U, T * U}, dh_.data(), dc_.data(), dz);
        break;
      case Cell::kGRU:
        if (!settings_.reset_after) {
          backward_gru_v1_step(rows, t);
          continue;
        }
        ops::gru_step_backward(rows, recurrent_activation_, activation_, gates, extra, h_prev, dh_.data(), dz,
                               {dz_h_.data() + t * GU, T * GU}, direct_.data());
        direct = direct_.data();
        dz_product = dz_h_.data() + t * GU;
        break;
    }
    ops::gemm(Transpose::kNo, Transpose::kYes, N, U, GU, 1.0f, dz_product, T * GU, R, GU, 0.0f, dh_product_.data(), U);
    ops::merge_state_gradient(rows, dh_product_.data(), direct, recurrent_dropping_ ? recurrent_mask_.data() : nullptr,
                              dh_.data());
  }
}

void Recurrent::backward_gru_v1_step(const ops::StepRows& rows, int64_t t) {
  const int64_t N = rows.batch, T = steps_, U = units_, GU = 3 * U;
  const float* R = recurrent_.data();
  const ConstRows gates{gates_.data() + t * GU, T * GU}, h_prev{h_prev_.data() + t * U, T * U};
  const Rows dz{dz_x_.data() + t * GU, T * GU};
  ops::gru_v1_step_backward_candidate(rows, recurrent_activation_, activation_, gates, h_prev, dh_.data(), dz);
  // ∂L/∂(r·h) = dz_h·R_hᵀ, into dc_ (GRU has no cell state).
  ops::gemm(Transpose::kNo, Transpose::kYes, N, U, U, 1.0f, dz.data + 2 * U, T * GU, R + 2 * U, GU, 0.0f, dc_.data(),
            U);
  ops::gru_v1_step_backward_reset(rows, recurrent_activation_, gates, h_prev, dh_.data(), dc_.data(), dz,
                                  direct_.data());
  ops::gemm(Transpose::kNo, Transpose::kYes, N, U, 2 * U, 1.0f, dz.data, T * GU, R, GU, 0.0f, dh_product_.data(), U);
  ops::merge_state_gradient(rows, dh_product_.data(), direct_.data(),
                            recurrent_dropping_ ? recurrent_mask_.data() : nullptr, dh_.data());
}

// Example n's gradient: kernel X_nᵀ·dZx_n, recurrent H_nᵀ·dZh_n (GRU v1: [H_nᵀ·dZ_n[:, :2U],
// RH_nᵀ·dZ_n[:, 2U:]]), bias the column sums; flattened in declaration order.
void Recurrent::record_per_example_gradients(int64_t N) {
  const int64_t T = steps_, U = units_, GU = gates() * U, D = features_;
  const bool two_biases = settings_.cell == Cell::kGRU && settings_.reset_after;
  const bool gru_v1 = settings_.cell == Cell::kGRU && !settings_.reset_after;
  const float* dz_h = two_biases ? dz_h_.data() : dz_x_.data();
  example_block_.resize(Shape{parameter_count()});
  example_squared_norms_.assign(size_t(N), 0.0);
  for (int64_t n = 0; n < N; ++n) {
    float* block = example_block_.data();
    const float* dzx_n = dz_x_.data() + n * T * GU;
    const float* dzh_n = dz_h + n * T * GU;
    ops::gemm(Transpose::kYes, Transpose::kNo, D, GU, T, 1.0f, input_.data() + n * T * D, D, dzx_n, GU, 0.0f, block,
              GU);
    float* rec = block + D * GU;
    const float* h_n = h_prev_.data() + n * T * U;
    if (gru_v1) {
      ops::gemm(Transpose::kYes, Transpose::kNo, U, 2 * U, T, 1.0f, h_n, U, dzx_n, GU, 0.0f, rec, GU);
      ops::gemm(Transpose::kYes, Transpose::kNo, U, U, T, 1.0f, extra_.data() + n * T * U, U, dzx_n + 2 * U, GU, 0.0f,
                rec + 2 * U, GU);
    } else {
      ops::gemm(Transpose::kYes, Transpose::kNo, U, GU, T, 1.0f, h_n, U, dzh_n, GU, 0.0f, rec, GU);
    }
    if (settings_.use_bias) {
      float* bias = rec + U * GU;
      std::fill_n(bias, (two_biases ? 2 : 1) * GU, 0.0f);
      add_column_sums(dzx_n, T, GU, GU, bias);
      if (two_biases) add_column_sums(dzh_n, T, GU, GU, bias + GU);
    }
    const int64_t count = parameter_count();
    if (!gradient_sink_.empty()) {
      float* row = gradient_sink_.data() + n * count;
      for (int64_t i = 0; i < count; ++i) row[i] += block[i];
    } else {
      example_squared_norms_[size_t(n)] = ops::squared_norm({block, size_t(count)});
    }
  }
}

}  // namespace citadel
