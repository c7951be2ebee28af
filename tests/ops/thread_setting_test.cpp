// The thread-count setting: shared by default, and per thread where a thread asks, so a
// server's compute threads can predict on one core each while the rest keep theirs; the
// OpenMP team a loop gets follows the calling thread's setting.
#include "citadel/core/threads.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "citadel/core/error.hpp"
#include "citadel/core/tensor.hpp"
#include "citadel/ops/gemm.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

using namespace citadel;

TEST(Threads, ALocalSettingIsTheCallingThreadsAlone) {
  const int shared = num_threads();
  set_num_threads(3);
  int seen_in_other = 0, seen_in_limited = 0;
  std::thread limited([&] {
    set_thread_local_num_threads(1);
    seen_in_limited = num_threads();
    std::thread([&] { seen_in_other = num_threads(); }).join();
    set_thread_local_num_threads(0);
    EXPECT_EQ(num_threads(), 3);  // back to the shared setting
  });
  limited.join();
  EXPECT_EQ(seen_in_limited, 1);
  EXPECT_EQ(seen_in_other, 3);
  EXPECT_EQ(num_threads(), 3);
  EXPECT_THROW(set_thread_local_num_threads(-1), ValueError);
  set_num_threads(shared);
}

#ifdef _OPENMP
// The defect this replaced: the BLAS thread count was applied once per process, so only
// the first thread to multiply got it; any other thread ran on every core, whatever the
// setting said.
TEST(Threads, EachThreadsGemmUsesItsOwnSetting) {
  const int shared = num_threads();
  const Tensor a(Shape{256, 256}), b(Shape{256, 256});
  auto multiply = [&] {
    Tensor c(Shape{256, 256});
    ops::gemm(ops::Transpose::kNo, ops::Transpose::kNo, 256, 256, 256, 1.0f, a.data(), 256, b.data(), 256, 0.0f,
              c.data(), 256);
    return omp_get_max_threads();
  };
  set_num_threads(1);
  EXPECT_EQ(multiply(), 1);
  int other = 0, limited = 0;
  std::thread([&] { other = multiply(); }).join();
  EXPECT_EQ(other, 1) << "a second thread ignored the shared setting";
  set_num_threads(2);
  std::thread([&] {
    set_thread_local_num_threads(1);
    limited = multiply();
  }).join();
  EXPECT_EQ(limited, 1);
  EXPECT_EQ(multiply(), 2);
  set_num_threads(shared);
}
#endif
