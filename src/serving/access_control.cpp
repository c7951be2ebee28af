// Token buckets for rates, counters for budgets, and the journal's thread: reservations are
// batched into one write and one fdatasync, and each answer waits for its batch.
#include "citadel/serving/access_control.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "citadel/core/error.hpp"
#include "usage_journal.hpp"

namespace citadel::serving {

AccessControl::AccessControl(std::string usage_path) : usage_path_(std::move(usage_path)) {
  if (usage_path_.empty()) return;
  const std::string journal_path = usage_path_ + ".log";
  RecoveredUsage recovered = recover_usage(usage_path_, journal_path);
  journal_ = std::make_unique<UsageJournalFile>(journal_path);  // locked before anything is written
  rows_used_ = std::move(recovered.rows_used);
  // One snapshot of everything recovered, and an empty journal: a line torn by the crash is
  // never followed by new ones, and the journal restarts at a generation of its own.
  generation_ = recovered.generation + 1;
  write_usage_snapshot(usage_path_, rows_used_, generation_);
  std::string error;
  CITADEL_CHECK(journal_->truncate(error), IoError, error);
}

AccessControl::~AccessControl() { stop(); }

Admission AccessControl::admit(const TokenRecord& token, int64_t rows) {
  std::lock_guard lock(mutex_);
  const auto now = std::chrono::steady_clock::now();
  if (token.policy.rate) {
    const double rate = *token.policy.rate, burst = std::max(1.0, rate);
    Bucket& bucket = buckets_[token.name];
    if (!bucket.started) bucket = {burst, now, true};
    bucket.tokens = std::min(burst, bucket.tokens + rate * std::chrono::duration<double>(now - bucket.refilled).count());
    bucket.refilled = now;
    if (bucket.tokens < 1.0) {
      const int wait = static_cast<int>(std::ceil((1.0 - bucket.tokens) / rate));
      return {false, "rate", "rate limit of " + rate_text(rate) + " exceeded", std::max(1, wait), 0};
    }
    bucket.tokens -= 1.0;
  }
  int64_t& used = rows_used_[token.name];
  if (token.policy.rows_budget && used + rows > *token.policy.rows_budget)
    return {false, "budget",
            "query budget exhausted: " + std::to_string(used) + " of " + std::to_string(*token.policy.rows_budget) +
                " rows answered, this request asks for " + std::to_string(rows),
            0, 0};
  used += rows;
  dirty_ = true;
  Admission admitted;
  if (journal_ && token.policy.rows_budget && rows > 0) {  // a budget must survive a crash: written ahead
    pending_ += encode_usage_record({generation_, token.name, rows});
    admitted.durable_ticket = ++last_ticket_;
    ++counts_.reservations;
    wake_.notify_one();
  }
  return admitted;
}

int64_t AccessControl::rows_used(const std::string& token_name) const {
  std::lock_guard lock(mutex_);
  const auto found = rows_used_.find(token_name);
  return found == rows_used_.end() ? 0 : found->second;
}

AccessControl::JournalCounts AccessControl::journal_counts() const {
  std::lock_guard lock(mutex_);
  return counts_;
}

void AccessControl::when_durable(uint64_t ticket, std::function<void(bool)> done) {
  std::unique_lock lock(mutex_);
  if (ticket == 0 || ticket <= settled_) {
    const bool ok = std::none_of(failed_.begin(), failed_.end(),
                                 [ticket](const auto& range) { return ticket >= range.first && ticket <= range.second; });
    lock.unlock();
    return done(ok);
  }
  waiting_.emplace(ticket, std::move(done));
}

void AccessControl::start() {
  std::lock_guard lock(mutex_);
  if (!journal_ || running_) return;
  running_ = true;
  stopping_ = false;
  thread_ = std::thread([this] { journal_loop(); });
}

void AccessControl::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::unique_lock lock(mutex_);
  running_ = false;
  if (journal_ && (dirty_ || !pending_.empty() || !journal_->empty())) compact(lock);
}

// Group commit: whatever reservations arrived while the last batch was being synced form
// the next batch. Once a second, when the usage changed, the journal is folded into the snapshot.
void AccessControl::journal_loop() {
  std::unique_lock lock(mutex_);
  auto next_snapshot = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (true) {
    wake_.wait_until(lock, next_snapshot, [this] { return stopping_ || !pending_.empty(); });
    if (!pending_.empty()) write_pending(lock);
    if (stopping_ && pending_.empty()) return;  // stop() makes the last snapshot
    if (std::chrono::steady_clock::now() >= next_snapshot) {
      if (dirty_ || !journal_->empty()) compact(lock);
      next_snapshot = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    }
  }
}

void AccessControl::write_pending(std::unique_lock<std::mutex>& lock) {
  const std::string batch = std::move(pending_);
  pending_.clear();
  const uint64_t up_to = last_ticket_;
  lock.unlock();
  std::string error;
  const bool ok = journal_->append(batch, error);
  if (!ok) std::fprintf(stderr, "serve: the usage journal could not be written: %s\n", error.c_str());
  lock.lock();
  ++counts_.writes;
  settle(up_to, ok, lock);
}

// The snapshot takes in every reservation made so far, written to the journal or still
// pending; the journal then starts empty at the next generation. A crash between the two
// leaves journal lines of the older generation, which recovery skips: nothing counts twice.
void AccessControl::compact(std::unique_lock<std::mutex>& lock) {
  const std::map<std::string, int64_t> rows = rows_used_;
  const uint64_t generation = ++generation_, up_to = last_ticket_;
  pending_.clear();  // in the snapshot
  dirty_ = false;
  lock.unlock();
  bool ok = true;
  std::string error;
  try {
    write_usage_snapshot(usage_path_, rows, generation);
    ok = journal_->truncate(error);
  } catch (const std::exception& e) {
    ok = false, error = e.what();
  }
  if (!ok) std::fprintf(stderr, "serve: could not save the usage: %s\n", error.c_str());
  lock.lock();
  if (!ok) dirty_ = true;  // tried again at the next snapshot
  settle(up_to, ok, lock);
}

// Tickets up to `up_to` are on disk (or failed): their answers may go. Callbacks run
// without the lock (they post to the serving threads).
void AccessControl::settle(uint64_t up_to, bool ok, std::unique_lock<std::mutex>& lock) {
  if (up_to <= settled_) return;
  if (!ok) {
    failed_.emplace_back(settled_ + 1, up_to);
    if (failed_.size() > 1024) failed_.erase(failed_.begin());  // bounded; old tickets are long answered
  }
  settled_ = up_to;
  std::vector<std::function<void(bool)>> ready;
  while (!waiting_.empty() && waiting_.begin()->first <= up_to) {
    ready.push_back(std::move(waiting_.begin()->second));
    waiting_.erase(waiting_.begin());
  }
  lock.unlock();
  for (auto& done : ready) done(ok);
  lock.lock();
}

}  // namespace citadel::serving
