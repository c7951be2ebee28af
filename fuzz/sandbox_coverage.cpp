// The coverage relay. Compiled without coverage instrumentation (fuzz/CMakeLists.txt): an
// instrumented file naming the counters' section bounds itself stops libFuzzer from
// registering them.
#include "sandbox_coverage.hpp"

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "../src/interop/sandbox.hpp"

extern "C" {
// The inline 8-bit counters of every instrumented object, as the linker gathers them.
extern uint8_t __start___sancov_cntrs[] __attribute__((weak));
extern uint8_t __stop___sancov_cntrs[] __attribute__((weak));
}

namespace {

uint8_t* child_counters = nullptr;
size_t counter_bytes = 0;

void copy_counters_out() { std::memcpy(child_counters, __start___sancov_cntrs, counter_bytes); }

void merge_counters_in() {
  for (size_t i = 0; i < counter_bytes; ++i)
    if (child_counters[i] > __start___sancov_cntrs[i]) __start___sancov_cntrs[i] = child_counters[i];
  std::memset(child_counters, 0, counter_bytes);
}

}  // namespace

void relay_sandbox_coverage() {
  const uint8_t* start = __start___sancov_cntrs;
  const uint8_t* stop = __stop___sancov_cntrs;
  if (start == nullptr || stop <= start) return;
  counter_bytes = static_cast<size_t>(stop - start);
  void* shared = ::mmap(nullptr, counter_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (shared == MAP_FAILED) return;
  child_counters = static_cast<uint8_t*>(shared);
  citadel::detail::set_sandbox_hooks({copy_counters_out, merge_counters_in});
}
