// The process-wide thread governor: the team's run delays read from /proc once per window
// by whichever caller finds the window over, and fed to ContentionRule.
#include "thread_governor.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>
#include <string>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace citadel::ops::detail {

bool ContentionRule::next(const Reading& reading) {
  if (!has_previous_ || reading.run_delays_ns.size() != previous_.run_delays_ns.size()) {
    previous_ = reading;
    has_previous_ = true;
    return parallel_;
  }
  const int64_t wall = reading.now_ns - previous_.now_ns;
  if (wall < kQuickWindowNs) return parallel_;
  int64_t worst = 0;
  for (size_t i = 0; i < reading.run_delays_ns.size(); ++i)
    worst = std::max(worst, reading.run_delays_ns[i] - previous_.run_delays_ns[i]);
  const double share = static_cast<double>(worst) / static_cast<double>(wall);
  if (wall < kWindowNs && !(parallel_ && share > kPlainlyContendedShare)) return parallel_;
  if (parallel_) {
    if (share > kContendedShare) {
      parallel_ = false;
      serial_until_ns_ = reading.now_ns + backoff_ns_;
      backoff_ns_ = std::min(2 * backoff_ns_, kLongestBackoffNs);
    } else {
      backoff_ns_ = std::max(kFirstBackoffNs, backoff_ns_ / 2);  // a quiet window: the neighbour may be gone
    }
  } else if (reading.now_ns >= serial_until_ns_) {
    parallel_ = true;  // try the full team again; the next window judges it
  }
  previous_ = reading;
  return parallel_;
}

namespace {

int64_t steady_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The second field of a thread's /proc/self/task/<tid>/schedstat: its time runnable but
// waiting for a core, in ns. -1 where the kernel does not keep it.
int64_t run_delay_ns(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char text[96];
  const ssize_t got = ::read(fd, text, sizeof(text) - 1);
  ::close(fd);
  if (got <= 0) return -1;
  text[got] = '\0';
  char* end = nullptr;
  std::strtoull(text, &end, 10);  // time on a core
  if (end == text) return -1;
  const char* delay = end;
  const unsigned long long value = std::strtoull(delay, &end, 10);
  return end == delay ? -1 : static_cast<int64_t>(value);
}

struct Governor {
  std::mutex mutex;
  ContentionRule rule;
  std::vector<std::string> team;  // the schedstat files of the team's threads, the caller's first
  int team_master = 0, team_asked = 0;
  ContentionRule::Reading reading;  // reused: a reading allocates nothing once the team is known
  std::atomic<int64_t> next_reading_ns{0};
  std::atomic<bool> parallel{true};

  // The ids of the threads OpenMP gives the calling thread's team of `wanted`.
  void enlist(int wanted) {
    std::vector<int> ids(static_cast<size_t>(wanted), 0);
#ifdef _OPENMP
#pragma omp parallel num_threads(wanted)
    ids[static_cast<size_t>(omp_get_thread_num())] = static_cast<int>(::gettid());
#endif
    team.clear();
    for (const int id : ids)
      if (id != 0) team.push_back("/proc/self/task/" + std::to_string(id) + "/schedstat");
    team_master = static_cast<int>(::gettid());
    team_asked = wanted;
    rule.restart();
  }

  void read(int wanted, int64_t now) {
    std::unique_lock<std::mutex> lock(mutex, std::try_to_lock);
    if (!lock.owns_lock() || now < next_reading_ns.load(std::memory_order_relaxed)) return;
    next_reading_ns.store(now + ContentionRule::kQuickWindowNs, std::memory_order_relaxed);
    if (team_master != static_cast<int>(::gettid()) || team_asked != wanted) enlist(wanted);
    reading.now_ns = now;
    reading.run_delays_ns.clear();
    for (const std::string& path : team) {
      const int64_t delay = run_delay_ns(path);
      if (delay < 0) {  // no schedstat here (or a forked child): govern nothing
        next_reading_ns.store(std::numeric_limits<int64_t>::max(), std::memory_order_relaxed);
        parallel.store(true, std::memory_order_relaxed);
        return;
      }
      reading.run_delays_ns.push_back(delay);
    }
    parallel.store(rule.next(reading), std::memory_order_relaxed);
  }
};

Governor& governor() {
  static Governor instance;
  return instance;
}

}  // namespace

bool thread_governor_enabled() {
  static const bool enabled = [] {
    const char* text = std::getenv("CITADEL_ADAPTIVE_THREADS");
    return text == nullptr || std::strcmp(text, "0") != 0;
  }();
  return enabled;
}

int governed_threads(int wanted) {
  if (wanted <= 1 || !thread_governor_enabled()) return wanted;
#ifdef _OPENMP
  if (omp_in_parallel()) return wanted;  // a nested region: OpenMP gives it one thread anyway
#endif
  Governor& state = governor();
  const int64_t now = steady_now_ns();
  if (now >= state.next_reading_ns.load(std::memory_order_relaxed)) state.read(wanted, now);
  return state.parallel.load(std::memory_order_relaxed) ? wanted : 1;
}

}  // namespace citadel::ops::detail
