// Per-token rate limits and query budgets, checked before any computation. Budgets count
// rows answered over a token's life; a reservation against a budget is written ahead to a
// journal (one fsync per batch of reservations) and its answer waits until it is on disk, so
// that no crash lets a token be answered past its budget. The usage is recovered on start
// from the snapshot and the journal, and the journal is folded into the snapshot each second.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "citadel/serving/token_store.hpp"

namespace citadel::serving {

class UsageJournalFile;

struct Admission {
  bool allowed = true;
  std::string reason;         // "rate" or "budget" when refused
  std::string message;        // for the client
  int retry_after_seconds = 0;  // for "rate"
  // Nonzero: the reservation is being written to the journal; answer only once
  // AccessControl::when_durable(durable_ticket) says it is on disk.
  uint64_t durable_ticket = 0;
};

class AccessControl {
 public:
  // `usage_path` empty: budgets are kept in memory only. Otherwise the usage is recovered
  // from `usage_path` (the snapshot) and `usage_path + ".log"` (the journal), written back as
  // one snapshot, and the journal opened (locked: one server per usage file).
  explicit AccessControl(std::string usage_path);
  ~AccessControl();
  AccessControl(const AccessControl&) = delete;
  AccessControl& operator=(const AccessControl&) = delete;

  // Admits `rows` rows for the token now, or says why not; admitted rows count against the
  // budget at once (a request that then fails still spent its queries).
  Admission admit(const TokenRecord& token, int64_t rows);
  int64_t rows_used(const std::string& token_name) const;
  // Calls `done(true)` once the reservation `ticket` is on disk, `done(false)` if it could not
  // be written; at once (on this thread) if that is known already, else on the journal's thread.
  void when_durable(uint64_t ticket, std::function<void(bool)> done);
  // Reservations written to the journal, and the writes (each one fdatasync) that carried
  // them: with group commit, far fewer writes than reservations under concurrent load.
  struct JournalCounts {
    int64_t reservations = 0, writes = 0;
  };
  JournalCounts journal_counts() const;
  // The journal's thread: group commits as reservations come, the snapshot each second.
  void start();
  // Writes what is pending, folds the journal into the snapshot, joins the thread.
  void stop();

 private:
  struct Bucket {
    double tokens = 0;
    std::chrono::steady_clock::time_point refilled;
    bool started = false;
  };
  void journal_loop();
  void write_pending(std::unique_lock<std::mutex>& lock);
  void compact(std::unique_lock<std::mutex>& lock);
  void settle(uint64_t up_to, bool ok, std::unique_lock<std::mutex>& lock);

  std::string usage_path_;
  mutable std::mutex mutex_;
  std::map<std::string, int64_t> rows_used_;
  std::map<std::string, Bucket> buckets_;
  bool dirty_ = false;  // usage changed since the last snapshot
  // The journal (null in memory only): reservations waiting to be written, in ticket order.
  std::unique_ptr<UsageJournalFile> journal_;
  uint64_t generation_ = 0;
  std::string pending_;  // their lines
  uint64_t last_ticket_ = 0, settled_ = 0;  // tickets issued; settled (on disk, or failed) up to
  JournalCounts counts_;
  std::vector<std::pair<uint64_t, uint64_t>> failed_;  // ranges of tickets that could not be written
  std::multimap<uint64_t, std::function<void(bool)>> waiting_;
  std::condition_variable wake_;
  bool running_ = false, stopping_ = false;
  std::thread thread_;
};

}  // namespace citadel::serving
