#include "citadel/ops/reductions.hpp"

#include <cstddef>

namespace citadel::ops {

__attribute__((target_clones("avx512f", "avx2", "default"))) double squared_norm(std::span<const float> values) {
  constexpr size_t kLanes = 8;
  double partial[kLanes] = {};
  const float* v = values.data();
  const size_t n = values.size(), whole = n - n % kLanes;
  for (size_t i = 0; i < whole; i += kLanes)
    for (size_t lane = 0; lane < kLanes; ++lane) partial[lane] += double(v[i + lane]) * v[i + lane];
  for (size_t i = whole; i < n; ++i) partial[i - whole] += double(v[i]) * v[i];
  double sum = 0;
  for (double p : partial) sum += p;
  return sum;
}

}  // namespace citadel::ops
