// Giving freed memory back to the system after a load. The library does not choose the
// allocator: when the program links mimalloc (the citadel tool does), mi_collect is found
// through a weak reference and used; otherwise glibc's malloc_trim.
#include <malloc.h>

#include "server_internals.hpp"

extern "C" void mi_collect(bool force) __attribute__((weak));

namespace citadel::serving {

void return_free_memory() {
  if (mi_collect != nullptr) mi_collect(true);  // this thread's heap, and the segments freed to it
  else malloc_trim(0);
}

}  // namespace citadel::serving
