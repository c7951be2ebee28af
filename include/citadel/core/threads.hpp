// The one thread-count setting shared by OpenMP loops and the BLAS library.
#pragma once

namespace citadel {

// Threads citadel uses. Defaults to $CITADEL_NUM_THREADS, else the number of cores.
int num_threads();
// Sets the thread count for citadel's loops and its BLAS (n >= 1).
void set_num_threads(int n);

}  // namespace citadel
