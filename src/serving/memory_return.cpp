// Giving freed memory back to the system after a load. The library does not choose the
// allocator: when the program links mimalloc (the citadel tool does), mi_collect is found
// through a weak reference and used; otherwise glibc's malloc_trim. Under AddressSanitizer
// the heap is the sanitizer's, and glibc's arenas were never set up: malloc_trim walks
// them and crashes, so the sanitizer's own purge is used instead.
#include <malloc.h>

#include "server_internals.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define CITADEL_ADDRESS_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CITADEL_ADDRESS_SANITIZER 1
#endif
#endif
extern "C" void mi_collect(bool force) __attribute__((weak));
// The sanitizer runtime's (GCC ships it without the header).
extern "C" void __sanitizer_purge_allocator() __attribute__((weak));

namespace citadel::serving {

void return_free_memory() {
#ifdef CITADEL_ADDRESS_SANITIZER
  if (__sanitizer_purge_allocator != nullptr) __sanitizer_purge_allocator();
#else
  if (mi_collect != nullptr) mi_collect(true);  // this thread's heap, and the segments freed to it
  else malloc_trim(0);
#endif
}

}  // namespace citadel::serving
