// exp in plain arithmetic, for a float and for eight floats at once (std::exp is a library
// call per value unless -ffast-math lets glibc's vector variants in, and a loop of the scalar
// form with its selects stays scalar under GCC's default -ftrapping-math). Cody–Waite range reduction to
// r in [-ln2/2, ln2/2], a degree-6 polynomial for e^r (Cephes's expf coefficients), and 2^n
// through the exponent bits: within 2 ulp of std::exp. Arguments below -87 give 0 (e^-87 is
// 1.6e-38, at the edge of normal floats); above 88 the result saturates at e^88. Private to
// src/ops/cpu/.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace citadel::ops::detail {

// Eight floats as one GCC vector: ymm registers where the caller is compiled for AVX2.
using Float8 = float __attribute__((vector_size(32)));
using Int8 = int32_t __attribute__((vector_size(32)));

// x = e^x for a float or for each lane of a Float8, by the same operations in the same order
// (a lane gives what the scalar gives). Selects are written as conditionals, which GCC's
// vector extension computes lane by lane without branches. (In place: a vector passed or
// returned by value changes the ABI where AVX is off, which GCC warns of.)
template <class V>
__attribute__((always_inline)) inline void exponentiate(V& x) {
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kLn2High = 0.693359375f, kLn2Low = -2.12194440e-4f;  // ln 2 = high + low, high exact in 9 bits
  constexpr float kRoundToInteger = 12582912.0f;                       // 1.5·2^23: adding it rounds to an integer
  V clamped = x < -87.0f ? V{} - 87.0f : x;
  clamped = clamped > 88.0f ? V{} + 88.0f : clamped;
  const V n = (clamped * kLog2e + kRoundToInteger) - kRoundToInteger;
  const V r = (clamped - n * kLn2High) - n * kLn2Low;
  V p = V{} + 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  V two_to_n;
  if constexpr (std::is_same_v<V, float>) {
    two_to_n = std::bit_cast<float>((static_cast<int32_t>(n) + 127) << 23);
  } else {
    const Int8 bits = (__builtin_convertvector(n, Int8) + 127) << 23;
    std::memcpy(&two_to_n, &bits, sizeof bits);
  }
  x = x < -87.0f ? V{} : p * two_to_n;
}

inline float vector_exp(float x) {
  exponentiate(x);
  return x;
}

}  // namespace citadel::ops::detail
