// The row forms of vector_activations.hpp's tanh and sigmoid, cloned per instruction set.
#include "vector_activations.hpp"

#include <cstring>

namespace citadel::ops::detail {
namespace {

template <void (*F)(Float8&)>
__attribute__((always_inline)) inline void map_eight_at_a_time(float* y, int64_t n) {
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    Float8 v;
    std::memcpy(&v, y + j, sizeof v);
    F(v);
    std::memcpy(y + j, &v, sizeof v);
  }
  if (j == n) return;
  Float8 v{};
  std::memcpy(&v, y + j, size_t(n - j) * sizeof(float));
  F(v);
  std::memcpy(y + j, &v, size_t(n - j) * sizeof(float));
}

}  // namespace

__attribute__((target_clones("avx512f", "arch=x86-64-v3", "default"))) void tanh_in_place(float* y, int64_t n) {
  map_eight_at_a_time<hyperbolic_tangent<Float8>>(y, n);
}

__attribute__((target_clones("avx512f", "arch=x86-64-v3", "default"))) void sigmoid_in_place(float* y, int64_t n) {
  map_eight_at_a_time<logistic<Float8>>(y, n);
}

}  // namespace citadel::ops::detail
