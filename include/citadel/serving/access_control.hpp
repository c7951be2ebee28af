// Per-token rate limits and query budgets, checked before any computation. Budgets count
// rows answered over a token's life and are kept in a usage file the server rewrites
// (atomically, 0600), so a restart does not reset them.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "citadel/serving/token_store.hpp"

namespace citadel::serving {

struct Admission {
  bool allowed = true;
  std::string reason;         // "rate" or "budget" when refused
  std::string message;        // for the client
  int retry_after_seconds = 0;  // for "rate"
};

class AccessControl {
 public:
  // `usage_path` empty: budgets are kept in memory only.
  explicit AccessControl(std::string usage_path);

  // Admits `rows` rows for the token now, or says why not; admitted rows count against the
  // budget at once (a request that then fails still spent its queries).
  Admission admit(const TokenRecord& token, int64_t rows);
  int64_t rows_used(const std::string& token_name) const;
  // Writes the usage file if it changed since the last save.
  void save_usage();

 private:
  struct Bucket {
    double tokens = 0;
    std::chrono::steady_clock::time_point refilled;
    bool started = false;
  };
  std::string usage_path_;
  mutable std::mutex mutex_;
  std::map<std::string, int64_t> rows_used_;
  std::map<std::string, Bucket> buckets_;
  bool dirty_ = false;
};

}  // namespace citadel::serving
