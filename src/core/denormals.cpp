// Flush-to-zero (FTZ) and denormals-are-zero (DAZ) around citadel's computations: the caller's
// FTZ and DAZ bits saved and restored, the OpenMP team's threads set once per thread count.
#include "citadel/core/denormals.hpp"

#include <cstdlib>
#include <cstring>

#include "citadel/core/threads.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CITADEL_HAS_MXCSR 1
#endif
#ifdef _OPENMP
#include <omp.h>
#endif

namespace citadel {
namespace {

#ifdef CITADEL_HAS_MXCSR
constexpr unsigned kFlushBits = 0x8040;  // FTZ (bit 15) and DAZ (bit 6)

// Each OpenMP thread of the caller's team (the one oneDNN's products and citadel's loops run
// on) keeps the bits: set once for each team size the caller has used.
void flush_in_team() {
#ifdef _OPENMP
  thread_local int flushed_for = 1;
  const int threads = num_threads();
  if (threads <= flushed_for || omp_in_parallel()) return;
#pragma omp parallel num_threads(threads)
  _mm_setcsr(_mm_getcsr() | kFlushBits);
  flushed_for = threads;
#endif
}
#endif

}  // namespace

bool flush_denormals_enabled() {
#ifdef CITADEL_HAS_MXCSR
  static const bool enabled = [] {
    const char* text = std::getenv("CITADEL_FLUSH_DENORMALS");
    return text == nullptr || std::strcmp(text, "0") != 0;
  }();
  return enabled;
#else
  return false;
#endif
}

ScopedFlushDenormals::ScopedFlushDenormals() {
#ifdef CITADEL_HAS_MXCSR
  if (!flush_denormals_enabled()) return;
  saved_ = _mm_getcsr();
  if ((saved_ & kFlushBits) != kFlushBits) {
    _mm_setcsr(saved_ | kFlushBits);
    changed_ = true;
  }
  flush_in_team();
#endif
}

ScopedFlushDenormals::~ScopedFlushDenormals() {
#ifdef CITADEL_HAS_MXCSR
  // Only the two bits go back: the exception flags the computation raised stay raised, as
  // they would have without the scope, and so does anything else the callee set.
  if (changed_) _mm_setcsr((_mm_getcsr() & ~kFlushBits) | (saved_ & kFlushBits));
#endif
}

}  // namespace citadel
