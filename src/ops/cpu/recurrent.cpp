// The recurrent cells' element-wise step kernels: one pass over each row's gates, rows split
// across threads when a step is large enough to pay for it.
#include "citadel/ops/recurrent.hpp"

#include <algorithm>
#include <cmath>

#include "parallel.hpp"
#include "vector_activations.hpp"

namespace citadel::ops {
namespace {

// Rows per thread below which a step stays on one thread (waking threads costs more).
int64_t min_rows_per_thread(int64_t units) { return std::max<int64_t>(1, 4096 / std::max<int64_t>(1, units)); }

template <class Body>
void for_rows(const StepRows& rows, const Body& body) {
  detail::parallel_for(rows.batch, min_rows_per_thread(rows.units), [&](int64_t begin, int64_t end) {
    for (int64_t n = begin; n < end; ++n) body(n);
  });
}

// f'(z) from y = f(z).
inline float derivative(CellActivation kind, float y) {
  switch (kind) {
    case CellActivation::kTanh: return 1.0f - y * y;
    case CellActivation::kSigmoid: return y * (1.0f - y);
    case CellActivation::kRelu: return y > 0.0f ? 1.0f : 0.0f;
    case CellActivation::kLinear: break;
  }
  return 1.0f;
}

// y[0:n] = f(y[0:n]).
void apply_in_place(CellActivation kind, float* y, int64_t n) {
  switch (kind) {
    case CellActivation::kTanh: return detail::tanh_in_place(y, n);
    case CellActivation::kSigmoid: return detail::sigmoid_in_place(y, n);
    case CellActivation::kRelu:
      for (int64_t j = 0; j < n; ++j) y[j] = std::max(y[j], 0.0f);
      return;
    case CellActivation::kLinear: return;
  }
}

void zero_row(float* row, int64_t n) { std::fill_n(row, n, 0.0f); }

}  // namespace

void simple_rnn_step_forward(const StepRows& rows, CellActivation activation, ConstRows x_proj, ConstRows h_proj,
                             Rows out, float* h) {
  const int64_t U = rows.units;
  for_rows(rows, [&](int64_t n) {
    float* o = out[n];
    if (!rows.kept(n)) {
      std::copy_n(h + n * U, U, o);
      return;
    }
    const float *x = x_proj[n], *r = h_proj[n];
    for (int64_t j = 0; j < U; ++j) o[j] = x[j] + r[j];
    apply_in_place(activation, o, U);
    std::copy_n(o, U, h + n * U);
  });
}

void simple_rnn_step_backward(const StepRows& rows, CellActivation activation, ConstRows out, const float* dh,
                              Rows dz) {
  const int64_t U = rows.units;
  for_rows(rows, [&](int64_t n) {
    float* d = dz[n];
    if (!rows.kept(n)) return zero_row(d, U);
    const float* o = out[n];
    for (int64_t j = 0; j < U; ++j) d[j] = dh[n * U + j] * derivative(activation, o[j]);
  });
}

void lstm_step_forward(const StepRows& rows, CellActivation activation, CellActivation recurrent_activation,
                       ConstRows x_proj, ConstRows h_proj, Rows gates, Rows act_c, float* c, float* h) {
  const int64_t U = rows.units;
  for_rows(rows, [&](int64_t n) {
    float *g = gates[n], *a = act_c[n], *cn = c + n * U, *hn = h + n * U;
    if (!rows.kept(n)) {
      zero_row(g, 4 * U);
      zero_row(a, U);
      return;
    }
    const float *x = x_proj[n], *r = h_proj[n];
    for (int64_t j = 0; j < 4 * U; ++j) g[j] = x[j] + r[j];
    apply_in_place(recurrent_activation, g, 2 * U);      // i, f
    apply_in_place(activation, g + 2 * U, U);            // c candidate
    apply_in_place(recurrent_activation, g + 3 * U, U);  // o
    const float *i = g, *f = g + U, *cand = g + 2 * U, *o = g + 3 * U;
    for (int64_t j = 0; j < U; ++j) a[j] = cn[j] = f[j] * cn[j] + i[j] * cand[j];
    apply_in_place(activation, a, U);
    for (int64_t j = 0; j < U; ++j) hn[j] = o[j] * a[j];
  });
}

void lstm_step_backward(const StepRows& rows, CellActivation activation, CellActivation recurrent_activation,
                        ConstRows gates, ConstRows act_c, ConstRows c_prev, const float* dh, float* dc, Rows dz) {
  const int64_t U = rows.units;
  for_rows(rows, [&](int64_t n) {
    float* d = dz[n];
    if (!rows.kept(n)) return zero_row(d, 4 * U);
    const float *g = gates[n], *a = act_c[n], *cp = c_prev[n];
    const float *i = g, *f = g + U, *cand = g + 2 * U, *o = g + 3 * U;
    const float* dhn = dh + n * U;
    float* dcn = dc + n * U;
    for (int64_t j = 0; j < U; ++j) {
      const float dc_total = dcn[j] + dhn[j] * o[j] * derivative(activation, a[j]);
      d[j] = dc_total * cand[j] * derivative(recurrent_activation, i[j]);
      d[U + j] = dc_total * cp[j] * derivative(recurrent_activation, f[j]);
      d[2 * U + j] = dc_total * i[j] * derivative(activation, cand[j]);
      d[3 * U + j] = dhn[j] * a[j] * derivative(recurrent_activation, o[j]);
      dcn[j] = dc_total * f[j];
    }
  });
}

void gru_step_forward(const StepRows& rows, CellActivation activation, CellActivation recurrent_activation,
                      ConstRows x_proj, ConstRows h_proj, ConstRows h_prev, Rows gates, Rows rec_h, float* h) {
  const int64_t U = rows.units;
  for_rows(rows, [&](int64_t n) {
    float *g = gates[n], *rh = rec_h[n], *hn = h + n * U;
    if (!rows.kept(n)) {
      zero_row(g, 3 * U);
      zero_row(rh, U);
      return;
    }
    const float *x = x_proj[n], *r = h_proj[n];
    for (int64_t j = 0; j < 2 * U; ++j) g[j] = x[j] + r[j];
    apply_in_place(recurrent_activation, g, 2 * U);
    const float *z = g, *reset = g + U;
    float* cand = g + 2 * U;
    for (int64_t j = 0; j < U; ++j) {
      rh[j] = r[2 * U + j];
      cand[j] = x[2 * U + j] + reset[j] * rh[j];
    }
    apply_in_place(activation, cand, U);
    const float* hp = h_prev[n];
    for (int64_t j = 0; j < U; ++j) hn[j] = z[j] * hp[j] + (1.0f - z[j]) * cand[j];
  });
}

void gru_step_backward(const StepRows& rows, CellActivation recurrent_activation, CellActivation activation,
                       ConstRows gates, ConstRows rec_h, ConstRows h_prev, const float* dh, Rows dzx, Rows dzh,
                       float* direct) {
  const int64_t U = rows.units;
  for_rows(rows, [&](int64_t n) {
    float *dx = dzx[n], *dr = dzh[n], *dd = direct + n * U;
    if (!rows.kept(n)) {
      zero_row(dx, 3 * U);
      zero_row(dr, 3 * U);
      zero_row(dd, U);
      return;
    }
    const float *g = gates[n], *rh = rec_h[n], *hp = h_prev[n], *dhn = dh + n * U;
    const float *z = g, *reset = g + U, *cand = g + 2 * U;
    for (int64_t j = 0; j < U; ++j) {
      const float d_cand = dhn[j] * (1.0f - z[j]) * derivative(activation, cand[j]);
      const float d_z = dhn[j] * (hp[j] - cand[j]) * derivative(recurrent_activation, z[j]);
      const float d_r = d_cand * rh[j] * derivative(recurrent_activation, reset[j]);
      dx[j] = dr[j] = d_z;
      dx[U + j] = dr[U + j] = d_r;
      dx[2 * U + j] = d_cand;
      dr[2 * U + j] = d_cand * reset[j];
      dd[j] = dhn[j] * z[j];
    }
  });
}

void gru_v1_step_gates(const StepRows& rows, CellActivation recurrent_activation, ConstRows x_proj,
                       ConstRows h_proj, ConstRows h_prev, Rows gates, Rows rh) {
  const int64_t U = rows.units;
  for_rows(rows, [&](int64_t n) {
    float *g = gates[n], *out = rh[n];
    const float *x = x_proj[n], *r = h_proj[n], *hp = h_prev[n];
    for (int64_t j = 0; j < 2 * U; ++j) g[j] = x[j] + r[j];
    apply_in_place(recurrent_activation, g, 2 * U);
    for (int64_t j = 0; j < U; ++j) out[j] = g[U + j] * hp[j];
  });
}

void gru_v1_step_candidate(const StepRows& rows, CellActivation activation, ConstRows x_proj, ConstRows rh_proj,
                           ConstRows h_prev, Rows gates, float* h) {
  const int64_t U = rows.units;
  for_rows(rows, [&](int64_t n) {
    float* g = gates[n];
    if (!rows.kept(n)) return zero_row(g, 3 * U);
    const float *x = x_proj[n], *r = rh_proj[n];
    float *cand = g + 2 * U, *hn = h + n * U;
    for (int64_t j = 0; j < U; ++j) cand[j] = x[2 * U + j] + r[j];
    apply_in_place(activation, cand, U);
    const float* hp = h_prev[n];
    for (int64_t j = 0; j < U; ++j) hn[j] = g[j] * hp[j] + (1.0f - g[j]) * cand[j];
  });
}

void gru_v1_step_backward_candidate(const StepRows& rows, CellActivation recurrent_activation,
                                    CellActivation activation, ConstRows gates, ConstRows h_prev, const float* dh,
                                    Rows dz) {
  const int64_t U = rows.units;
  for_rows(rows, [&](int64_t n) {
    float* d = dz[n];
    if (!rows.kept(n)) return zero_row(d, 3 * U);
    const float *g = gates[n], *hp = h_prev[n], *dhn = dh + n * U;
    const float *z = g, *cand = g + 2 * U;
    for (int64_t j = 0; j < U; ++j) {
      d[j] = dhn[j] * (hp[j] - cand[j]) * derivative(recurrent_activation, z[j]);
      d[U + j] = 0.0f;
      d[2 * U + j] = dhn[j] * (1.0f - z[j]) * derivative(activation, cand[j]);
    }
  });
}

void gru_v1_step_backward_reset(const StepRows& rows, CellActivation recurrent_activation, ConstRows gates,
                                ConstRows h_prev, const float* dh, const float* drh, Rows dz, float* direct) {
  const int64_t U = rows.units;
  for_rows(rows, [&](int64_t n) {
    float *d = dz[n], *dd = direct + n * U;
    if (!rows.kept(n)) return zero_row(dd, U);
    const float *g = gates[n], *hp = h_prev[n], *dhn = dh + n * U, *drhn = drh + n * U;
    const float *z = g, *reset = g + U;
    for (int64_t j = 0; j < U; ++j) {
      d[U + j] = drhn[j] * hp[j] * derivative(recurrent_activation, reset[j]);
      dd[j] = dhn[j] * z[j] + drhn[j] * reset[j];
    }
  });
}

void merge_state_gradient(const StepRows& rows, const float* from_product, const float* direct, const float* scale,
                          float* dh) {
  const int64_t U = rows.units;
  // A copy and an add per element: cheaper on one thread than waking others.
  for (int64_t n = 0; n < rows.batch; ++n) {
    if (!rows.kept(n)) continue;
    float* d = dh + n * U;
    const float* p = from_product + n * U;
    if (direct == nullptr)
      std::copy_n(p, U, d);
    else
      for (int64_t j = 0; j < U; ++j) d[j] = p[j] + direct[n * U + j];
    if (scale != nullptr)
      for (int64_t j = 0; j < U; ++j) d[j] *= scale[n * U + j];
  }
}

}  // namespace citadel::ops
