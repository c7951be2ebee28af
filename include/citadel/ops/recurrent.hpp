// The element-wise part of one time step of the recurrent cells (SimpleRNN, LSTM, GRU), fused
// per row: the layers do the matrix products (one GEMM for every step's input projection,
// one per step for the recurrent one) and call these between them. Gates are in Keras's
// order: LSTM i, f, c, o; GRU z, r, h.
#pragma once

#include <cstdint>

namespace citadel::ops {

// Activations a cell may use: those whose derivative follows from their output.
enum class CellActivation { kLinear, kTanh, kSigmoid, kRelu };

// Which rows of a batch step: row n is kept when mask is null or mask[n * mask_stride] != 0;
// a masked row keeps its state (and gets zero gate gradients), as Keras does.
struct StepRows {
  int64_t batch = 0, units = 0;
  const float* mask = nullptr;
  int64_t mask_stride = 0;
  bool kept(int64_t n) const { return mask == nullptr || mask[n * mask_stride] != 0.0f; }
};

// A matrix of `batch` rows at `stride` floats apart.
struct Rows {
  float* data = nullptr;
  int64_t stride = 0;
  float* operator[](int64_t n) const { return data + n * stride; }
};
struct ConstRows {
  const float* data = nullptr;
  int64_t stride = 0;
  ConstRows() = default;
  ConstRows(const float* d, int64_t s) : data(d), stride(s) {}
  ConstRows(Rows rows) : data(rows.data), stride(rows.stride) {}  // NOLINT(google-explicit-constructor)
  const float* operator[](int64_t n) const { return data + n * stride; }
};

// --- SimpleRNN: h = act(x_proj + h_proj). x_proj includes the bias; h_proj = h·R.
// out: (U) the new h of kept rows (also written to h, the state, in place).
void simple_rnn_step_forward(const StepRows& rows, CellActivation activation, ConstRows x_proj, ConstRows h_proj,
                             Rows out, float* h);
// dh (in: ∂L/∂h_t) → dz = dh·act'(out) for kept rows, 0 for masked ones.
void simple_rnn_step_backward(const StepRows& rows, CellActivation activation, ConstRows out, const float* dh,
                              Rows dz);

// --- LSTM: z = x_proj + h_proj; i, f, o = rec(z); g = act(z_c); c = f·c + i·g; h = o·act(c).
// gates (4U): i, f, g, o after their activations; act_c (U): act(c_t). h and c (batch, U,
// contiguous) hold the state, updated in place for kept rows.
void lstm_step_forward(const StepRows& rows, CellActivation activation, CellActivation recurrent_activation,
                       ConstRows x_proj, ConstRows h_proj, Rows gates, Rows act_c, float* c, float* h);
// dh (∂L/∂h_t) and dc (∂L/∂c_t, updated in place to ∂L/∂c_{t-1} for kept rows); c_prev: the
// cell state before the step. dz (4U): the gradient of the pre-activations.
void lstm_step_backward(const StepRows& rows, CellActivation activation, CellActivation recurrent_activation,
                        ConstRows gates, ConstRows act_c, ConstRows c_prev, const float* dh, float* dc, Rows dz);

// --- GRU, reset_after = true (Keras 3's default): h_proj = h_prev·R + recurrent bias (3U);
// z, r = rec(x + h_proj); hh = act(x_h + r·h_proj_h); h = z·h_prev + (1 − z)·hh.
// gates (3U): z, r, hh; rec_h (U): h_proj_h, kept for the backward pass. h_prev is the state
// the cell reads (with recurrent dropout, Keras 3's GRU reads the dropped state everywhere);
// h, the carried state, is overwritten for kept rows.
void gru_step_forward(const StepRows& rows, CellActivation activation, CellActivation recurrent_activation,
                      ConstRows x_proj, ConstRows h_proj, ConstRows h_prev, Rows gates, Rows rec_h, float* h);
// dzx (3U): gradient of the input pre-activations; dzh (3U): of h_proj (the candidate's
// part times r); direct (U): ∂L/∂h_{t-1} outside the recurrent product (dh·z).
void gru_step_backward(const StepRows& rows, CellActivation recurrent_activation, CellActivation activation,
                       ConstRows gates, ConstRows rec_h, ConstRows h_prev, const float* dh, Rows dzx, Rows dzh,
                       float* direct);

// --- GRU, reset_after = false: hh = act(x_h + (r·h)·R_h), in two halves around the second
// product. First: z, r from x_proj and h_proj (2U, = h·R[:, :2U]) into gates; rh = r·h.
void gru_v1_step_gates(const StepRows& rows, CellActivation recurrent_activation, ConstRows x_proj,
                       ConstRows h_proj, ConstRows h_prev, Rows gates, Rows rh);
// Second: hh = act(x_h + rh_proj) into gates[2U:], h = z·h_prev + (1 − z)·hh for kept rows.
void gru_v1_step_candidate(const StepRows& rows, CellActivation activation, ConstRows x_proj, ConstRows rh_proj,
                           ConstRows h_prev, Rows gates, float* h);
// Backward, first half: dz[0:U] (z's pre-activation) and dz[2U:3U] (the candidate's).
void gru_v1_step_backward_candidate(const StepRows& rows, CellActivation recurrent_activation,
                                    CellActivation activation, ConstRows gates, ConstRows h_prev, const float* dh,
                                    Rows dz);
// Second half, given drh = ∂L/∂(r·h) = dz_h·R_hᵀ: dz[U:2U] and direct = dh·z + drh·r.
void gru_v1_step_backward_reset(const StepRows& rows, CellActivation recurrent_activation, ConstRows gates,
                                ConstRows h_prev, const float* dh, const float* drh, Rows dz, float* direct);

// dh_prev for each row: kept rows get from_product (+ direct when not null), times scale when
// not null (the recurrent dropout mask), masked rows keep dh (their state was carried
// through the step). All (batch, U) contiguous.
void merge_state_gradient(const StepRows& rows, const float* from_product, const float* direct, const float* scale,
                          float* dh);

}  // namespace citadel::ops
