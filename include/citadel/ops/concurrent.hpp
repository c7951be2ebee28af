// Two independent pieces of work at once: for layers made of two halves that do not share
// state (Bidirectional's directions), each half of which is a chain of small steps that one
// thread runs about as fast as two.
#pragma once

#include <functional>

namespace citadel::ops {

// Runs first() and second() on two threads of citadel's team when the thread setting (and
// the thread governor) allows two, each then running its own ops on one thread; else one
// after the other. Either's exception is rethrown here (the first's, if both throw).
void run_concurrently(const std::function<void()>& first, const std::function<void()>& second);

}  // namespace citadel::ops
