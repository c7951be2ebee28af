// Thread-count setting: read once from CITADEL_NUM_THREADS, changeable through the API.
// ops::gemm applies it to the BLAS library; OpenMP loops read it directly.
#include "citadel/core/threads.hpp"

#include <atomic>
#include <cstdlib>
#include <string>
#include <thread>

#include "citadel/core/error.hpp"

namespace citadel {
namespace {

int initial_thread_count() {
  if (const char* text = std::getenv("CITADEL_NUM_THREADS")) {
    char* end = nullptr;
    const long value = std::strtol(text, &end, 10);
    CITADEL_CHECK(end != text && *end == '\0' && value >= 1 && value <= 4096, ValueError,
                  "CITADEL_NUM_THREADS must be a whole number from 1 to 4096, got '", text, "'");
    return static_cast<int>(value);
  }
  const unsigned cores = std::thread::hardware_concurrency();
  return cores == 0 ? 1 : static_cast<int>(cores);
}

std::atomic<int>& thread_count() {
  static std::atomic<int> count{initial_thread_count()};
  return count;
}

}  // namespace

thread_local int local_thread_count = 0;  // 0: the shared setting

int num_threads() {
  return local_thread_count > 0 ? local_thread_count : thread_count().load(std::memory_order_relaxed);
}

void set_thread_local_num_threads(int n) {
  CITADEL_CHECK(n >= 0, ValueError, "set_thread_local_num_threads needs n >= 0, got ", n);
  local_thread_count = n;
}

void set_num_threads(int n) {
  CITADEL_CHECK(n >= 1, ValueError, "set_num_threads needs n >= 1, got ", n);
  thread_count().store(n, std::memory_order_relaxed);
}

}  // namespace citadel
