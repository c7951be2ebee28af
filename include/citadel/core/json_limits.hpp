// Bounds checked on JSON text before any parser sees it, so that hostile input cannot
// exhaust the parser's stack.
#pragma once

#include <string_view>

namespace citadel {

// The deepest nesting of [ and { outside strings.
int json_nesting_depth(std::string_view text);

}  // namespace citadel
