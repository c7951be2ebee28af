// tanh and the logistic sigmoid for eight floats at once, and for a float by the same
// operations (a lane gives what the scalar gives), built on vector_exp.hpp's exponential:
// the recurrent cells' gates called glibc's tanhf (through expm1f) and expf one value at a
// time, a sixth of an LSTM's training step. tanh: below |x| = 0.625 Cephes's odd polynomial
// x + x³·P(x²) (no cancellation near 0), above it 1 − 2 / (e^{2|x|} + 1) with the sign put
// back, |x| clamped at 9 (tanh(9) rounds to 1); within 4 ulp of tanh. The sigmoid is
// 1 / (1 + e^{−x}), the formula the scalar code used. Private to src/ops/cpu/.
#pragma once

#include <cstdint>

#include "vector_exp.hpp"

namespace citadel::ops::detail {

template <class V>
__attribute__((always_inline)) inline void hyperbolic_tangent(V& x) {
  const V z = x * x;
  V p = V{} - 5.70498872745e-3f;
  p = p * z + 2.06390887954e-2f;
  p = p * z - 5.37397155531e-2f;
  p = p * z + 1.33314422036e-1f;
  p = p * z - 3.33332819422e-1f;
  const V small = x == 0.0f ? x : p * z * x + x;  // ±0 keeps its sign
  const V magnitude = x < 0.0f ? -x : x;
  V e = magnitude > 9.0f ? V{} + 18.0f : magnitude + magnitude;
  exponentiate(e);
  const V large = 1.0f - 2.0f / (e + 1.0f);
  x = magnitude < 0.625f ? small : (x < 0.0f ? -large : large);
}

template <class V>
__attribute__((always_inline)) inline void logistic(V& x) {
  V e = -x;
  exponentiate(e);
  x = 1.0f / (1.0f + e);
}

// y[0:n] = tanh(y[0:n]) or the sigmoid, eight values at a time; the last few through the same
// eight-lane code padded, so a value's result does not depend on where in the row it lies.
// Compiled for AVX-512, x86-64-v3 and the baseline, picked at run time.
void tanh_in_place(float* y, int64_t n);
void sigmoid_in_place(float* y, int64_t n);

inline float vector_tanh(float x) {
  hyperbolic_tangent(x);
  return x;
}

inline float vector_sigmoid(float x) {
  logistic(x);
  return x;
}

}  // namespace citadel::ops::detail
