#include "citadel/ops/reductions.hpp"

#include <cstddef>

namespace citadel::ops {

namespace {

// Σ term(v[i]) in kLanes interleaved double partial sums, added in a fixed order.
template <class Term>
__attribute__((always_inline)) inline double lane_sum(std::span<const float> values, const Term& term) {
  constexpr size_t kLanes = 8;
  double partial[kLanes] = {};
  const float* v = values.data();
  const size_t n = values.size(), whole = n - n % kLanes;
  for (size_t i = 0; i < whole; i += kLanes)
    for (size_t lane = 0; lane < kLanes; ++lane) partial[lane] += term(double(v[i + lane]));
  for (size_t i = whole; i < n; ++i) partial[i - whole] += term(double(v[i]));
  double sum = 0;
  for (double p : partial) sum += p;
  return sum;
}

}  // namespace

__attribute__((target_clones("avx512f", "avx2", "default"))) double squared_norm(std::span<const float> values) {
  return lane_sum(values, [](double x) { return x * x; });
}

__attribute__((target_clones("avx512f", "avx2", "default"))) double sum(std::span<const float> values) {
  return lane_sum(values, [](double x) { return x; });
}

__attribute__((target_clones("avx512f", "avx2", "default"))) double squared_deviation(std::span<const float> values,
                                                                                      double center) {
  return lane_sum(values, [center](double x) { return (x - center) * (x - center); });
}

}  // namespace citadel::ops
