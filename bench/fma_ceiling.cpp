// The single-thread FMA ceiling of an AVX2 core: 12 independent chains of 8-wide fused
// multiply-adds (enough to cover the FMA latency on two pipes). Prints GFLOP/s; the LIMIT
// figures and W2's achieved rate are read against it. Needs AVX2 and FMA.
#include <immintrin.h>

#include <chrono>
#include <cstdio>

int main() {
  __m256 chains[12];
  for (auto& chain : chains) chain = _mm256_set1_ps(0.0f);
  const __m256 a = _mm256_set1_ps(1.0000001f), b = _mm256_set1_ps(0.9999999f);
  constexpr long kIterations = 200'000'000;
  const auto start = std::chrono::steady_clock::now();
  for (long n = 0; n < kIterations; ++n)
    for (auto& chain : chains) chain = _mm256_fmadd_ps(chain, a, b);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  float sink = 0;
  for (const auto& chain : chains) sink += _mm256_cvtss_f32(chain);
  std::printf("{\"workload\": \"LIMIT\", \"metric\": \"FMA ceiling (AVX2, 1 thread)\", \"value\": %.1f, "
              "\"unit\": \"GFLOP/s\", \"better\": \"higher\", \"sink\": %g}\n",
              kIterations * 12.0 * 16 / seconds / 1e9, sink);
}
