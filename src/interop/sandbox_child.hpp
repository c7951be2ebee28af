// The child's side of the sandbox (sandbox.hpp): what it does between fork() and _exit.
#pragma once

#include <sys/types.h>

#include <functional>

#include "sandbox.hpp"

namespace citadel::detail {

// Exit codes the parent tells apart from a clean one.
constexpr int kExitSandboxFailed = 121;  // the limits or the filter could not be set
constexpr int kExitPipeBroken = 122;     // the parent stopped reading

// Confines the child (signals to their defaults, every descriptor closed but the pipe,
// which becomes fd 3, resource limits, no new privileges, the seccomp filter), runs `work`,
// then `leaving`, writes the done frame or an error frame with what the work threw, and
// leaves with _exit: no atexit handler, no destructor of the parent's objects runs.
[[noreturn]] void run_child(int pipe_fd, pid_t parent, const SandboxLimits& limits,
                            const std::function<void(SandboxWriter&)>& work, void (*leaving)());

}  // namespace citadel::detail
