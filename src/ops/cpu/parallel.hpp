// parallel_for: splits a loop over [0, n) into one contiguous chunk per thread with
// OpenMP — the same thread team oneDNN's GEMM uses, so the two never compete for cores.
// Work too small to pay for waking threads stays on the calling thread. Without
// OpenMP (the clang fuzzing build) the loop runs serially. Private to src/ops/cpu/.
#pragma once

#include <algorithm>
#include <cstdint>

#include "citadel/core/threads.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace citadel::ops::detail {

// Calls body(begin, end) on chunks of [0, n), using at most num_threads() threads and at
// least `min_per_thread` items per thread.
template <class Body>
void parallel_for(int64_t n, int64_t min_per_thread, const Body& body) {
  if (n <= 0) return;
  const int64_t by_size = std::max<int64_t>(1, n / std::max<int64_t>(1, min_per_thread));
  const int chunks = static_cast<int>(std::min<int64_t>(num_threads(), by_size));
#ifdef _OPENMP
  if (chunks > 1) {
#pragma omp parallel num_threads(chunks)
    {
      const int64_t team = omp_get_num_threads(), index = omp_get_thread_num();
      body(n * index / team, n * (index + 1) / team);
    }
    return;
  }
#endif
  body(0, n);
}

}  // namespace citadel::ops::detail
