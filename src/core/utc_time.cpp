// UTC timestamps (ISO 8601, seconds).
#include "citadel/core/utc_time.hpp"

#include <chrono>
#include <ctime>

namespace citadel {

std::string utc_timestamp() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

}  // namespace citadel
