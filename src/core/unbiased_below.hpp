// Uniform integers in [0, bound) from a source of 64-bit words, without modulo bias: both
// random streams (Rng, SecureRng) draw their bounded integers this way.
#pragma once

#include <cstdint>

#include "citadel/core/error.hpp"

namespace citadel::detail {

template <typename NextWord>
uint64_t unbiased_below(uint64_t bound, NextWord&& next_word) {
  CITADEL_CHECK(bound > 0, ValueError, "a random integer below 0 was asked for; the bound must be positive");
  // Rejection sampling: discard the top partial block so every value is equally likely.
  const uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
  uint64_t value;
  do value = next_word();
  while (value >= limit);
  return value % bound;
}

}  // namespace citadel::detail
