// The thread governor: its rule on given run-delay readings (contention drops the team to
// one thread, a back-off that doubles while it lasts and shrinks when it is gone), and the
// live governor dropping to one thread while busy processes hold every core.
#include "../../src/ops/cpu/thread_governor.hpp"

#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <vector>

#include "citadel/core/tensor.hpp"
#include "citadel/core/threads.hpp"
#include "citadel/ops/gemm.hpp"

using namespace citadel;
using ops::detail::ContentionRule;

namespace {

constexpr int64_t kMs = 1'000'000;

ContentionRule::Reading at(int64_t ms, std::vector<int64_t> delays_ms) {
  for (auto& delay : delays_ms) delay *= kMs;
  return {ms * kMs, delays_ms};
}

}  // namespace

TEST(ContentionRule, QuietWindowsKeepTheFullTeam) {
  ContentionRule rule;
  EXPECT_TRUE(rule.next(at(0, {0, 0})));
  for (int64_t t = 10; t <= 200; t += 10) EXPECT_TRUE(rule.next(at(t, {0, t / 100})));  // 1 % waiting
}

TEST(ContentionRule, AThreadWaitingForItsCoreDropsTheTeamToOneUntilTheBackoffEnds) {
  static_assert(ContentionRule::kFirstBackoffNs == 100 * kMs && ContentionRule::kWindowNs == 10 * kMs);
  ContentionRule rule;
  rule.next(at(0, {0, 0}));
  // 2 ms of 10 waiting (20 %): contended.
  EXPECT_FALSE(rule.next(at(10, {0, 2})));
  EXPECT_EQ(rule.backoff_ns(), 2 * ContentionRule::kFirstBackoffNs);
  // Readings while on one thread say nothing; the first back-off is 100 ms.
  EXPECT_FALSE(rule.next(at(50, {0, 30})));
  EXPECT_FALSE(rule.next(at(109, {0, 30})));
  EXPECT_TRUE(rule.next(at(120, {0, 30})));  // the back-off is over: try the full team
  // Still contended: back to one thread for twice as long (200 ms).
  EXPECT_FALSE(rule.next(at(130, {5, 30})));
  EXPECT_FALSE(rule.next(at(320, {5, 30})));
  EXPECT_TRUE(rule.next(at(330, {5, 30})));
  // Quiet now: the team stays, and each quiet window halves the back-off.
  EXPECT_EQ(rule.backoff_ns(), 4 * ContentionRule::kFirstBackoffNs);
  EXPECT_TRUE(rule.next(at(340, {5, 30})));
  EXPECT_EQ(rule.backoff_ns(), 2 * ContentionRule::kFirstBackoffNs);
  EXPECT_TRUE(rule.next(at(350, {5, 30})));
  EXPECT_TRUE(rule.next(at(360, {5, 30})));
  EXPECT_EQ(rule.backoff_ns(), ContentionRule::kFirstBackoffNs);
}

TEST(ContentionRule, PlainContentionIsJudgedAfterAQuickWindowMildContentionAfterAWholeOne) {
  ContentionRule rule;
  rule.next(at(0, {0, 0}));
  EXPECT_TRUE(rule.next(at(1, {0, 1})));   // shorter than the quick window: not judged
  EXPECT_TRUE(rule.next(at(2, {0, 0})));   // a quiet quick window: wait for the whole one
  EXPECT_TRUE(rule.next(at(4, {0, 1})));   // 25 % over 4 ms: not plain, and the window is not over
  EXPECT_FALSE(rule.next(at(10, {0, 2})));  // 20 % over the whole window
  ContentionRule plain;
  plain.next(at(0, {0, 0}));
  EXPECT_TRUE(plain.next(at(2, {0, 0})));   // 2 ms, nothing waited
  EXPECT_FALSE(plain.next(at(3, {2, 0})));           // 2 of 3 ms waiting: plain contention
}

TEST(ContentionRule, TheShareIsJudgedPerThreadAndOverTheWholeWall) {
  ContentionRule rule;
  rule.next(at(0, {0, 0, 0}));
  EXPECT_TRUE(rule.next(at(50, {5, 5, 5})));  // 10 % each: not above the share
  ContentionRule other;
  other.next(at(0, {0, 0, 0}));
  EXPECT_FALSE(other.next(at(50, {0, 0, 6})));  // one thread at 12 % is enough
}

TEST(ContentionRule, TheBackoffIsBoundedSoANeighbourThatLeavesIsNoticed) {
  ContentionRule rule;
  int64_t t = 0, delay = 0;
  rule.next(at(t, {0, delay}));
  for (int round = 0; round < 20; ++round) {
    // Contended every time the full team is tried.
    t += 10, delay += 5;
    ASSERT_FALSE(rule.next(at(t, {0, delay})));
    ASSERT_LE(rule.backoff_ns(), ContentionRule::kLongestBackoffNs);
    while (!rule.next(at(t += 10, {0, delay}))) {
    }
  }
  EXPECT_EQ(rule.backoff_ns(), ContentionRule::kLongestBackoffNs);
}

TEST(ContentionRule, ATeamOfOtherThreadsStartsAfresh) {
  ContentionRule rule;
  rule.next(at(0, {0, 0}));
  EXPECT_TRUE(rule.next(at(10, {0, 0, 9})));  // three threads now: a first reading, not compared
  EXPECT_FALSE(rule.next(at(20, {0, 0, 12})));
}

#ifdef _OPENMP
// Busy processes on every core this test may use, so that a team of two waits for cores
// as it would beside a neighbour: the governor must see it and give the team one thread.
TEST(ThreadGovernor, BusyNeighboursOnEveryCoreDropTheTeamToOneThread) {
  if (!ops::detail::thread_governor_enabled()) GTEST_SKIP() << "CITADEL_ADAPTIVE_THREADS=0";
  std::ifstream schedstat("/proc/thread-self/schedstat");
  long long on_core = -1, waiting = -1;
  if (!(schedstat >> on_core >> waiting)) GTEST_SKIP() << "this kernel keeps no run delays (schedstat)";
  cpu_set_t allowed;
  ASSERT_EQ(sched_getaffinity(0, sizeof(allowed), &allowed), 0);
  std::vector<pid_t> neighbours;
  for (int core = 0; core < CPU_SETSIZE; ++core) {
    if (!CPU_ISSET(core, &allowed)) continue;
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      cpu_set_t one;
      CPU_ZERO(&one);
      CPU_SET(core, &one);
      sched_setaffinity(0, sizeof(one), &one);
      alarm(20);  // never outlives a crashed test
      for (unsigned long spin = 0;; ++spin) asm volatile("" : "+r"(spin));  // a loop the compiler keeps
    }
    neighbours.push_back(pid);
  }
  const int shared = num_threads();
  set_num_threads(2);
  const Tensor a(Shape{192, 192}), b(Shape{192, 192});
  Tensor c(Shape{192, 192});
  bool dropped = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!dropped && std::chrono::steady_clock::now() < deadline) {
    ops::gemm(ops::Transpose::kNo, ops::Transpose::kNo, 192, 192, 192, 1.0f, a.data(), 192, b.data(), 192, 0.0f,
              c.data(), 192);
    dropped = ops::detail::governed_threads(2) == 1;
  }
  set_num_threads(shared);
  for (const pid_t pid : neighbours) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
  EXPECT_TRUE(dropped) << "two threads kept their team while every core was busy";
}
#endif
