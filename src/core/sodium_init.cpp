#include "citadel/core/sodium_init.hpp"

#include <sodium.h>

#include "citadel/core/error.hpp"

namespace citadel {

void ensure_sodium() { CITADEL_CHECK(sodium_init() >= 0, SecurityError, "libsodium could not be initialised"); }

}  // namespace citadel
