// Admission and shedding under one lock; the choice of whom to shed is a scan of the open
// connections, made only when the server is full.
#include "connection_table.hpp"

namespace citadel::serving {

int64_t steady_nanoseconds() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::shared_ptr<ConnectionState> ConnectionTable::admit(const std::string& address, int64_t& shed_count) {
  std::lock_guard lock(mutex_);
  const auto from = per_address_.find(address);
  if (from != per_address_.end() && from->second >= limits_.max_per_address) return nullptr;
  const int total = static_cast<int>(connections_.size());
  const int unauthenticated_places = std::max(1, limits_.max_total - limits_.reserved_for_authenticated);
  if (total >= limits_.max_total || unauthenticated_ >= unauthenticated_places) {
    ConnectionState* victim = stalest_unauthenticated(steady_nanoseconds());
    if (victim == nullptr) return nullptr;
    // It stops counting now; its session closes it on its own thread.
    connections_[victim->slot] = connections_.back();
    connections_[victim->slot]->slot = victim->slot;
    connections_.pop_back();
    victim->counted = false;
    --unauthenticated_;
    if (--per_address_[victim->address] == 0) per_address_.erase(victim->address);
    victim->shed();
    ++shed_count;
  }
  auto connection = std::make_shared<ConnectionState>(address);
  connection->waiting_since = steady_nanoseconds();
  connection->slot = connections_.size();
  connections_.push_back(connection.get());
  ++unauthenticated_;
  ++per_address_[address];
  return connection;
}

void ConnectionTable::release(ConnectionState& connection) {
  std::lock_guard lock(mutex_);
  if (!connection.counted) return;
  connection.counted = false;
  connections_[connection.slot] = connections_.back();
  connections_[connection.slot]->slot = connection.slot;
  connections_.pop_back();
  if (!connection.authenticated) --unauthenticated_;
  if (--per_address_[connection.address] == 0) per_address_.erase(connection.address);
}

void ConnectionTable::authenticated(ConnectionState& connection) {
  std::lock_guard lock(mutex_);
  if (connection.authenticated || !connection.counted) return;
  connection.authenticated = true;
  --unauthenticated_;
}

int ConnectionTable::open() const {
  std::lock_guard lock(mutex_);
  return static_cast<int>(connections_.size());
}

// The waiting connection that has sent the least of a request for the longest: the most
// waiting time, less a credit per header byte received (a client that has sent most of a
// header recently is further from being a slowloris than one that has sent nothing).
ConnectionState* ConnectionTable::stalest_unauthenticated(int64_t now) const {
  ConnectionState* stalest = nullptr;
  int64_t most = INT64_MIN;
  const int64_t credit = limits_.credit_per_header_byte.count();
  for (ConnectionState* c : connections_) {
    if (c->authenticated || !c->can_be_shed.load(std::memory_order_acquire)) continue;
    const int64_t since = c->waiting_since.load(std::memory_order_relaxed);
    if (since == ConnectionState::kBusy) continue;
    const int64_t stale = (now - since) - c->header_bytes.load(std::memory_order_relaxed) * credit;
    if (stale > most) most = stale, stalest = c;
  }
  return stalest;
}

}  // namespace citadel::serving
