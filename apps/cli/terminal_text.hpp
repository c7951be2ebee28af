// Text from a file shown on a terminal: control bytes (escape sequences that could move
// the cursor, rewrite lines or set the window title) are shown as \xHH instead.
#pragma once

#include <string>
#include <string_view>

namespace citadel::cli {

// Escapes C0 controls (keeping newline), DEL, and C1 controls in their UTF-8 form
// (U+0080..U+009F, e.g. the one-byte CSI); other UTF-8 text is kept.
std::string terminal_safe(std::string_view text);

}  // namespace citadel::cli
