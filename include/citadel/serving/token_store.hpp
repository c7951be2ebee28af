// API tokens for `citadel serve`: 256-bit random tokens shown once, stored only as their
// BLAKE2b hashes with each token's policy (query budget, rate), in a file written
// atomically with mode 0600. Presented tokens are hashed and compared in constant time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace citadel::serving {

struct TokenPolicy {
  std::optional<int64_t> rows_budget = std::nullopt;  // rows answered over the token's life
  std::optional<double> rate = std::nullopt;          // requests per second (bursts up to max(1, rate))
};

// A rate as a person writes it: "20/s", "2.5/s", "0.1/s" (the shortest decimal that reads back).
std::string rate_text(double requests_per_second);

struct TokenRecord {
  std::string name;
  std::string hash;  // hex BLAKE2b-256 of the token
  TokenPolicy policy;
  bool revoked = false;
  std::string created;  // UTC
};

class TokenStore {
 public:
  // An empty store when `path` does not exist and `must_exist` is false.
  static TokenStore load(const std::string& path, bool must_exist = true);

  // A new token for `name` (letters, digits, '-', '_', '.'; unique); returns the token,
  // which is stored nowhere. save() writes the store.
  std::string add(const std::string& name, const TokenPolicy& policy);
  void revoke(const std::string& name);
  void save(const std::string& path) const;

  const std::vector<TokenRecord>& records() const { return records_; }
  // The live record this token belongs to, or nullptr (unknown or revoked).
  const TokenRecord* authenticate(std::string_view token) const;

 private:
  std::vector<TokenRecord> records_;
};

}  // namespace citadel::serving
