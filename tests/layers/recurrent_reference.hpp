// A direct loop in double written from Keras's equations for SimpleRNN, LSTM and GRU (both
// reset_after forms), with Keras's masking, dropout masks, initial states and final states:
// the reference the recurrent layers' tests compare against.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace citadel::testkit {

struct Reference {
  std::string cell;  // "rnn", "lstm", "gru", "gru_v1"
  int64_t units = 0, features = 0, steps = 0;
  std::string activation = "tanh", recurrent_activation = "sigmoid";
  bool use_bias = true, return_sequences = false, go_backwards = false;
  bool return_state = false;  // each row: the output, then h (and for "lstm" c) after the last kept step

  int64_t gates() const { return cell == "rnn" ? 1 : cell == "lstm" ? 4 : 3; }
};

inline double act(const std::string& name, double z) {
  if (name == "tanh") return std::tanh(z);
  if (name == "sigmoid") return 1.0 / (1.0 + std::exp(-z));
  if (name == "relu") return z > 0 ? z : 0;
  return z;
}

// y for every example: Keras's cell equations one element at a time. W (D, G·U), R (U, G·U),
// b (G·U) or, for "gru", (2, G·U); mask (N, T) or empty; h0, c0 (N, U) initial states or empty (zeros).
inline std::vector<double> reference_forward(const Reference& ref, const std::vector<double>& W,
                                             const std::vector<double>& R, const std::vector<double>& b,
                                             const std::vector<double>& x, const std::vector<float>& mask, int64_t N,
                                             const std::vector<float>& input_drop = {},
                                             const std::vector<float>& state_drop = {},
                                             const std::vector<double>& h0 = {}, const std::vector<double>& c0 = {}) {
  const int64_t U = ref.units, D = ref.features, T = ref.steps, GU = ref.gates() * U;
  std::vector<double> y;
  for (int64_t n = 0; n < N; ++n) {
    std::vector<double> h(U, 0.0), c(U, 0.0), previous_output(U, 0.0);
    if (!h0.empty()) h.assign(h0.begin() + n * U, h0.begin() + (n + 1) * U);
    if (!c0.empty()) c.assign(c0.begin() + n * U, c0.begin() + (n + 1) * U);
    // A masked step before the first kept one outputs the initial state, as Keras's JAX
    // backend does (its "previous output" is the state); TensorFlow's outputs zeros there.
    previous_output = h;
    std::vector<std::vector<double>> outputs;
    for (int64_t s = 0; s < T; ++s) {
      const int64_t t = ref.go_backwards ? T - 1 - s : s;
      // in[g·U + j] = Σ_d x·W (+ input bias); rec[g·U + j] = Σ_k h·R (+ recurrent bias for gru)
      // Dropout (Keras 3): the same masks at every step, on the input and on the state the
      // cell reads (GRU reads the dropped state in its blend too).
      std::vector<double> xin(D), hin(h);
      for (int64_t d = 0; d < D; ++d)
        xin[d] = x[(n * T + t) * D + d] * (input_drop.empty() ? 1.0 : input_drop[size_t(n * D + d)]);
      if (!state_drop.empty())
        for (int64_t u = 0; u < U; ++u) hin[u] *= state_drop[size_t(n * U + u)];
      std::vector<double> in(GU, 0.0), rec(GU, 0.0);
      for (int64_t k = 0; k < GU; ++k) {
        for (int64_t d = 0; d < D; ++d) in[k] += xin[d] * W[d * GU + k];
        for (int64_t u = 0; u < U; ++u) rec[k] += hin[u] * R[u * GU + k];
        if (ref.use_bias) {
          in[k] += b[k];
          if (ref.cell == "gru") rec[k] += b[GU + k];
        }
      }
      std::vector<double> h_new(U), c_new(U);
      if (ref.cell == "rnn") {
        for (int64_t j = 0; j < U; ++j) h_new[j] = act(ref.activation, in[j] + rec[j]);
      } else if (ref.cell == "lstm") {
        for (int64_t j = 0; j < U; ++j) {
          const double i = act(ref.recurrent_activation, in[j] + rec[j]);
          const double f = act(ref.recurrent_activation, in[U + j] + rec[U + j]);
          const double g = act(ref.activation, in[2 * U + j] + rec[2 * U + j]);
          const double o = act(ref.recurrent_activation, in[3 * U + j] + rec[3 * U + j]);
          c_new[j] = f * c[j] + i * g;
          h_new[j] = o * act(ref.activation, c_new[j]);
        }
      } else if (ref.cell == "gru") {  // reset_after: r multiplies h·R_h + its bias
        for (int64_t j = 0; j < U; ++j) {
          const double z = act(ref.recurrent_activation, in[j] + rec[j]);
          const double r = act(ref.recurrent_activation, in[U + j] + rec[U + j]);
          const double hh = act(ref.activation, in[2 * U + j] + r * rec[2 * U + j]);
          h_new[j] = z * hin[j] + (1 - z) * hh;
        }
      } else {  // gru_v1: r multiplies h before R_h
        std::vector<double> z(U), r(U);
        for (int64_t j = 0; j < U; ++j) {
          z[j] = act(ref.recurrent_activation, in[j] + rec[j]);
          r[j] = act(ref.recurrent_activation, in[U + j] + rec[U + j]);
        }
        for (int64_t j = 0; j < U; ++j) {
          double reset_product = 0;
          for (int64_t u = 0; u < U; ++u) reset_product += r[u] * hin[u] * R[u * GU + 2 * U + j];
          const double hh = act(ref.activation, in[2 * U + j] + reset_product);
          h_new[j] = z[j] * hin[j] + (1 - z[j]) * hh;
        }
      }
      const bool kept = mask.empty() || mask[size_t(n * T + t)] != 0.0f;
      if (kept) {
        h = h_new;
        if (ref.cell == "lstm") c = c_new;
        previous_output = h_new;
      }
      outputs.push_back(previous_output);  // Keras 3: a masked step repeats the last output
    }
    if (ref.return_sequences)
      for (const auto& o : outputs) y.insert(y.end(), o.begin(), o.end());
    else
      y.insert(y.end(), outputs.back().begin(), outputs.back().end());
    if (ref.return_state) {
      y.insert(y.end(), h.begin(), h.end());
      if (ref.cell == "lstm") y.insert(y.end(), c.begin(), c.end());
    }
  }
  return y;
}

}  // namespace citadel::testkit
