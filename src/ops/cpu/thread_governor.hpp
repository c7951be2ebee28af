// The thread governor: how many threads a parallel region gets now — the thread setting,
// or one while another process is taking cores from citadel's team.
//
// Why: OpenMP splits a region statically and waits at its end for every thread. When a
// neighbour holds a core, the team thread on it runs in the neighbour's gaps, and every
// region (hundreds per training step) waits for it: two threads became 1/12 of one
// thread's speed. The signal is the kernel's own account of it: each team thread's time
// spent runnable but not running (run_delay, /proc/thread-self/schedstat). While that
// exceeds a share of the wall time the team drops to one thread; it tries its full size
// again after a back-off that doubles while the contention lasts (at most a few seconds,
// so a neighbour that leaves is noticed). Private to src/ops/cpu/.
#pragma once

#include <cstdint>
#include <vector>

namespace citadel::ops::detail {

// The decision rule, apart from the clock and /proc, so that it can be tested on given
// readings. Not thread-safe: the process-wide governor serializes its calls.
class ContentionRule {
 public:
  static constexpr int64_t kWindowNs = 10'000'000;         // a decision per 10 ms of wall time
  static constexpr double kContendedShare = 0.10;          // runnable-but-waiting time per wall time
  // Plain contention is judged sooner: each window spent on a contended team costs what it
  // would have taken a team's thread to get its core back (several ms per region).
  static constexpr int64_t kQuickWindowNs = 2'000'000;
  static constexpr double kPlainlyContendedShare = 0.5;
  static constexpr int64_t kFirstBackoffNs = 100'000'000;  // the first stay on one thread
  static constexpr int64_t kLongestBackoffNs = 2'000'000'000;

  // One reading: the wall clock, and the team threads' accumulated run delays (ns) in a
  // fixed order (the same threads as the previous reading, else restart()).
  struct Reading {
    int64_t now_ns = 0;
    std::vector<int64_t> run_delays_ns;
  };

  // Feeds a reading and returns whether the team may use its full size until the next
  // one. Readings closer than a window to the previous one change nothing unless a quick
  // window already shows plain contention; while the team
  // runs on one thread its run delays say nothing (its other threads sleep), so only the
  // back-off's end ends that.
  bool next(const Reading& reading);
  // Forgets the previous reading (the team's threads changed); the decision stays.
  void restart() { has_previous_ = false; }
  bool parallel() const { return parallel_; }
  int64_t backoff_ns() const { return backoff_ns_; }

 private:
  bool parallel_ = true, has_previous_ = false;
  Reading previous_;
  int64_t serial_until_ns_ = 0, backoff_ns_ = kFirstBackoffNs;
};

// Threads for a region now, at most `wanted` (the thread setting). Cheap: a clock read,
// and /proc read at most once per window by one caller.
int governed_threads(int wanted);

// Whether the governor runs (CITADEL_ADAPTIVE_THREADS=0 turns it off, for measurements
// that want the fixed setting). Read once.
bool thread_governor_enabled();

}  // namespace citadel::ops::detail
