// run_concurrently: an OpenMP region of two threads, one task each. Inside it every nested
// region (parallel_for, oneDNN's GEMM) runs on its own thread, so the two tasks never wait
// on each other's team. Citadel's thread-local precision is passed to the second thread.
#include "citadel/ops/concurrent.hpp"

#include <exception>

#include "citadel/ops/precision.hpp"
#include "parallel.hpp"

namespace citadel::ops {

void run_concurrently(TaskRef first, TaskRef second) {
#ifdef _OPENMP
  if (detail::team_threads() >= 2 && !omp_in_parallel()) {
    const Precision precision = current_precision();
    std::exception_ptr errors[2];
#pragma omp parallel num_threads(2)
    {
      const int index = omp_get_thread_num(), team = omp_get_num_threads();
      PrecisionScope scope(precision);
      for (int task = index; task < 2; task += team) {  // a team of one (OMP_THREAD_LIMIT) runs both
        try {
          (task == 0 ? first : second)();
        } catch (...) {
          errors[task] = std::current_exception();
        }
      }
    }
    for (const std::exception_ptr& error : errors)
      if (error) std::rethrow_exception(error);
    return;
  }
#endif
  first();
  second();
}

}  // namespace citadel::ops
