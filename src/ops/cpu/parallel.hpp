// parallel_for: splits a loop over [0, n) into one contiguous chunk per thread with
// OpenMP — the same thread team oneDNN's GEMM uses, so the two never compete for cores.
// Work too small to pay for waking threads stays on the calling thread, and so does all
// work while the thread governor sees another process holding the team's cores. Without
// OpenMP (the clang fuzzing build) the loop runs serially. Private to src/ops/cpu/.
#pragma once

#include <algorithm>
#include <cstdint>

#include "citadel/core/threads.hpp"
#include "thread_governor.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace citadel::ops::detail {

// Sizes OpenMP's team (and so oneDNN's) from citadel's thread setting before a oneDNN call.
// OpenMP's thread count is per calling thread: each thread applies its own.
inline void apply_thread_count(int wanted) {
#ifdef _OPENMP
  thread_local int applied = 0;
  if (applied != wanted) {
    omp_set_num_threads(wanted);
    applied = wanted;
  }
#else
  (void)wanted;
#endif
}

// The threads a region gets now: the setting, or one while the governor says so, and one
// inside a parallel region (whose threads each run their share's nested work alone).
inline int team_threads() {
#ifdef _OPENMP
  if (omp_in_parallel()) return 1;
#endif
  return governed_threads(num_threads());
}

// Calls body(begin, end) on chunks of [0, n), using at most team_threads() threads and at
// least `min_per_thread` items per thread.
template <class Body>
void parallel_for(int64_t n, int64_t min_per_thread, const Body& body) {
  if (n <= 0) return;
  const int64_t by_size = std::max<int64_t>(1, n / std::max<int64_t>(1, min_per_thread));
  const int chunks = by_size > 1 ? static_cast<int>(std::min<int64_t>(team_threads(), by_size)) : 1;
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
