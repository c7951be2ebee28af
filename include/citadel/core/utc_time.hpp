// The current time as reports, pages and token files record it.
#pragma once

#include <string>

namespace citadel {

// Now, in UTC, as "2026-12-01T16:01:15Z".
std::string utc_timestamp();

}  // namespace citadel
