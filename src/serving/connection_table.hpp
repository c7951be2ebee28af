// The open connections, for the connection caps: who may come in, and, when the server is
// full, which waiting connection is shed to make room (the one that has sent the least of a
// request for the longest), with a share of the cap kept for clients that authenticated.
#pragma once

#include <algorithm>
#include <atomic>
#include <climits>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace citadel::serving {

// One connection as the table sees it. Its session updates the atomics on its own thread;
// the table reads them when it must choose whom to shed.
struct ConnectionState {
  explicit ConnectionState(std::string from) : address(std::move(from)) {}
  static constexpr int64_t kBusy = INT64_MAX;
  const std::string address;
  // Steady-clock nanoseconds since the connection began waiting for its current request
  // (accepted, or its last answer written); kBusy while a request is read, computed or answered.
  std::atomic<int64_t> waiting_since{kBusy};
  std::atomic<int64_t> header_bytes{0};  // of the current request received so far
  // Asks the session to close, from any thread; set once by the session when it starts
  // (until then the connection cannot be shed: it is the newest).
  std::function<void()> shed;
  std::atomic<bool> can_be_shed{false};
  // Under the table's lock:
  bool authenticated = false;  // a request on it presented a valid token (or no tokens are needed)
  bool counted = true;         // false once shed: it no longer takes a place
  size_t slot = 0;             // its index in the table while counted
};

struct ConnectionLimits {
  int max_total = 4096;
  int max_per_address = 64;
  // Places of max_total that connections which have not authenticated may not take.
  int reserved_for_authenticated = 1024;
  // A header byte received counts as this much waiting time less, when choosing whom to shed.
  std::chrono::nanoseconds credit_per_header_byte{std::chrono::milliseconds(10'000) / (16 << 10)};
};

class ConnectionTable {
 public:
  explicit ConnectionTable(ConnectionLimits limits) : limits_(limits) {}

  // A new connection from `address`, or nullptr when it must be refused (503): its address
  // is at its cap, or the server is full and no waiting connection can be shed. Full means
  // max_total connections, or max_total − reserved_for_authenticated that have not
  // authenticated; the one shed then is the waiting, unauthenticated connection with the
  // most waiting time less the credit of its header bytes. `shed_count` is incremented per
  // connection shed.
  std::shared_ptr<ConnectionState> admit(const std::string& address, int64_t& shed_count);
  // The connection closed (after being shed or not).
  void release(ConnectionState& connection);
  // A request on the connection presented a valid token: it leaves the unauthenticated share.
  void authenticated(ConnectionState& connection);
  int open() const;

 private:
  ConnectionState* stalest_unauthenticated(int64_t now) const;

  ConnectionLimits limits_;
  mutable std::mutex mutex_;
  std::vector<ConnectionState*> connections_;  // counted ones, in no order
  std::map<std::string, int> per_address_;
  int unauthenticated_ = 0;
};

int64_t steady_nanoseconds();

}  // namespace citadel::serving
