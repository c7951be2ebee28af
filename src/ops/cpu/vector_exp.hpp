// exp in plain arithmetic that compilers vectorize (std::exp is a library call per value
// unless -ffast-math lets glibc's vector variants in). Cody–Waite range reduction to
// r in [-ln2/2, ln2/2], a degree-6 polynomial for e^r (Cephes's expf coefficients), and 2^n
// through the exponent bits: within 2 ulp of std::exp. Arguments below -87 give 0 (e^-87 is
// 1.6e-38, at the edge of normal floats); above 88 the result saturates at e^88. Private to
// src/ops/cpu/.
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>

namespace citadel::ops::detail {

inline float vector_exp(float x) {
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kLn2High = 0.693359375f, kLn2Low = -2.12194440e-4f;  // ln 2 = high + low, high exact in 9 bits
  constexpr float kRoundToInteger = 12582912.0f;                       // 1.5·2^23: adding it rounds to an integer
  const float clamped = std::min(std::max(x, -87.0f), 88.0f);
  const float n = (clamped * kLog2e + kRoundToInteger) - kRoundToInteger;
  const float r = (clamped - n * kLn2High) - n * kLn2Low;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const float two_to_n = std::bit_cast<float>((static_cast<int32_t>(n) + 127) << 23);
  return x < -87.0f ? 0.0f : p * two_to_n;
}

}  // namespace citadel::ops::detail
