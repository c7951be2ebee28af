// The FMA ceiling of this processor: independent chains of fused multiply-adds (enough to
// cover the FMA latency on two pipes) in the widest vectors it has — AVX-512 where present,
// else AVX2 — chosen at run time, on 1 thread and on each thread count asked for. Prints one
// JSON line per figure (bench/compare reads them); the LIMIT figures and W2's achieved rate
// are read against it.
//
//   fma_ceiling [--threads 1,2] [--isa avx2|avx512]
#include <immintrin.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr long kIterations = 100'000'000;
constexpr int kChains = 12;

// Each returns the lanes' sum so that the loop is not optimized away.
__attribute__((target("avx2,fma"))) float avx2_chains() {
  __m256 chains[kChains];
  for (auto& chain : chains) chain = _mm256_set1_ps(0.0f);
  const __m256 a = _mm256_set1_ps(1.0000001f), b = _mm256_set1_ps(0.9999999f);
  for (long n = 0; n < kIterations; ++n)
    for (auto& chain : chains) chain = _mm256_fmadd_ps(chain, a, b);
  float sink = 0;
  for (const auto& chain : chains) sink += _mm256_cvtss_f32(chain);
  return sink;
}

__attribute__((target("avx512f"))) float avx512_chains() {
  __m512 chains[kChains];
  for (auto& chain : chains) chain = _mm512_set1_ps(0.0f);
  const __m512 a = _mm512_set1_ps(1.0000001f), b = _mm512_set1_ps(0.9999999f);
  for (long n = 0; n < kIterations; ++n)
    for (auto& chain : chains) chain = _mm512_fmadd_ps(chain, a, b);
  alignas(64) float lanes[16];
  float sink = 0;
  for (const auto& chain : chains) {
    _mm512_store_ps(lanes, chain);
    sink += lanes[0];
  }
  return sink;
}

// GFLOP/s of `threads` threads each running the chains at once.
double measure(bool avx512, int threads, float& sink) {
  const int lanes = avx512 ? 16 : 8;
  std::vector<float> sinks(static_cast<size_t>(threads));
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t)
    workers.emplace_back([&, t] { sinks[size_t(t)] = avx512 ? avx512_chains() : avx2_chains(); });
  for (auto& worker : workers) worker.join();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (float s : sinks) sink += s;
  return double(threads) * kIterations * kChains * lanes * 2 / seconds / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> thread_counts{1};
  bool avx512 = __builtin_cpu_supports("avx512f");
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
      thread_counts.clear();
      for (const char* p = argv[++i]; *p;) {
        char* end = nullptr;
        const long n = std::strtol(p, &end, 10);
        if (end == p || n < 1 || n > 1024) {
          std::fprintf(stderr, "fma_ceiling: --threads: expected counts like 1,2, got '%s'\n", argv[i]);
          return 2;
        }
        thread_counts.push_back(int(n));
        p = *end == ',' ? end + 1 : end;
      }
    } else if (std::strcmp(argv[i], "--isa") == 0 && i + 1 < argc) {
      const std::string isa = argv[++i];
      if (isa == "avx512" && !__builtin_cpu_supports("avx512f")) {
        std::fprintf(stderr, "fma_ceiling: this processor has no AVX-512\n");
        return 2;
      }
      if (isa != "avx512" && isa != "avx2") {
        std::fprintf(stderr, "fma_ceiling: --isa: expected avx2 or avx512, got '%s'\n", isa.c_str());
        return 2;
      }
      avx512 = isa == "avx512";
    } else {
      std::fprintf(stderr, "usage: fma_ceiling [--threads 1,2] [--isa avx2|avx512]\n");
      return 2;
    }
  }
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
    std::fprintf(stderr, "fma_ceiling: this processor has neither AVX-512 nor AVX2 with FMA\n");
    return 2;
  }
  float sink = 0;
  for (const int threads : thread_counts) {
    const double rate = measure(avx512, threads, sink);
    std::printf("{\"workload\": \"LIMIT\", \"metric\": \"FMA ceiling (%s, %d thread%s)\", \"value\": %.1f, "
                "\"unit\": \"GFLOP/s\", \"better\": \"higher\", \"isa\": \"%s\", \"threads\": %d, \"sink\": %g}\n",
                avx512 ? "AVX-512" : "AVX2", threads, threads == 1 ? "" : "s", rate, avx512 ? "avx512" : "avx2",
                threads, sink);
  }
}
