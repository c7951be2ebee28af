// The one thread-count setting shared by OpenMP loops and the BLAS library.
#pragma once

namespace citadel {

// Threads citadel uses. Defaults to $CITADEL_NUM_THREADS, else the number of cores.
int num_threads();
// Sets the thread count for citadel's loops and its BLAS (n >= 1).
void set_num_threads(int n);
// Sets the count for the calling thread only (0: back to the shared setting). For threads
// that are themselves one of many, such as a server's serving threads, where splitting each
// small prediction over every core costs more than it saves.
void set_thread_local_num_threads(int n);

}  // namespace citadel
