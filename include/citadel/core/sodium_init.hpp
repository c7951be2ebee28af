// libsodium must be initialised once before any of its functions is called; every user of it
// calls this first (cheap after the first time, and safe from several threads).
#pragma once

namespace citadel {

// Throws SecurityError when libsodium cannot start (no source of randomness).
void ensure_sodium();

}  // namespace citadel
