// Token buckets for rates, counters for budgets; the usage file is {"rows_used": {name: n}}.
#include "citadel/serving/access_control.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "citadel/core/atomic_file.hpp"
#include "citadel/core/error.hpp"

namespace citadel::serving {

AccessControl::AccessControl(std::string usage_path) : usage_path_(std::move(usage_path)) {
  if (usage_path_.empty() || !std::filesystem::exists(usage_path_)) return;
  std::ifstream file(usage_path_, std::ios::binary);
  std::ostringstream text;
  text << file.rdbuf();
  nlohmann::json root;
  try {
    root = nlohmann::json::parse(text.str());
  } catch (const nlohmann::json::exception& e) {
    throw ValueError(usage_path_ + ": not valid JSON: " + e.what());
  }
  CITADEL_CHECK(root.is_object() && root.contains("rows_used") && root["rows_used"].is_object(), ValueError,
                usage_path_, ": expected {\"rows_used\": {...}}");
  for (const auto& [name, rows] : root["rows_used"].items()) {
    CITADEL_CHECK(rows.is_number_integer() && rows.get<int64_t>() >= 0, ValueError, usage_path_, ": rows_used of '",
                  name, "' must be a whole number >= 0");
    rows_used_[name] = rows.get<int64_t>();
  }
}

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
      return {false, "rate", "rate limit of " + std::to_string(rate) + " requests per second exceeded",
              std::max(1, wait)};
    }
    bucket.tokens -= 1.0;
  }
  int64_t& used = rows_used_[token.name];
  if (token.policy.rows_budget && used + rows > *token.policy.rows_budget)
    return {false, "budget",
            "query budget exhausted: " + std::to_string(used) + " of " + std::to_string(*token.policy.rows_budget) +
                " rows answered, this request asks for " + std::to_string(rows),
            0};
  used += rows;
  dirty_ = true;
  return {};
}

int64_t AccessControl::rows_used(const std::string& token_name) const {
  std::lock_guard lock(mutex_);
  const auto found = rows_used_.find(token_name);
  return found == rows_used_.end() ? 0 : found->second;
}

void AccessControl::save_usage() {
  nlohmann::json root;
  {
    std::lock_guard lock(mutex_);
    if (!dirty_ || usage_path_.empty()) return;
    root["rows_used"] = rows_used_;
    dirty_ = false;
  }
  write_file_atomically(usage_path_, root.dump(2) + "\n", 0600);
}

}  // namespace citadel::serving
