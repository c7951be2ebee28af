// The child's side of the sandbox (sandbox.hpp): what it does between fork() and _exit, and
// how a fresh child is started and starts.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "sandbox.hpp"

namespace citadel::detail {

// Exit codes the parent tells apart from a clean one.
constexpr int kExitSandboxFailed = 121;  // the limits or the filter could not be set
constexpr int kExitPipeBroken = 122;     // the parent stopped reading
constexpr int kExitNotStarted = 123;     // a fresh child's program could not be executed

// A child's start: its pid and the pipe's end to read its frames from.
struct StartedChild {
  pid_t pid;
  int answers;
};

// Whether the tool at `path` (absolute) may be started without being named: a regular
// executable file that only root or this user could have put there — it and its folder owned
// by one of them and writable by nobody else — so that a build folder deleted since (one in
// /tmp, say) cannot be refilled with another user's program.
bool is_trusted_tool(const std::string& path);

// A fresh child's stdin: the limits, then the request's parts, in a sealed memfd (the child
// reads it at its own pace, and nobody, the child included, can change it once it is there).
int sandbox_request_file(const std::string& who, const SandboxLimits& limits,
                         const std::vector<std::string_view>& request);

// Starts `program` as `citadel --sandbox-child JOB` in a fresh process (fork, then exec at
// once: nothing of this process's memory reaches it), reading its stdin from `request_fd`
// (which this closes), its answer pipe as fd 3, only stderr besides, no environment, the CPU
// limit set and killed when this thread ends. IoError naming `who` when it cannot.
StartedChild start_fresh_child(const std::string& who, const std::string& program, const char* job,
                               const SandboxLimits& limits, int request_fd);

// The fresh child's side (run from the tool's main): reads its request and limits from
// stdin, then confines itself as run_child does and runs `job` on the request.
[[noreturn]] void run_fresh_child(SandboxJob job);

// Every signal to its default action, none blocked (async-signal-safe: also run between fork
// and exec).
void reset_signals();

// Confines the child (signals to their defaults, every descriptor closed but the pipe,
// which becomes fd 3, resource limits, no new privileges, the seccomp filter), runs `work`,
// then `leaving`, writes the done frame or an error frame with what the work threw, and
// leaves with _exit: no atexit handler, no destructor of the parent's objects runs.
[[noreturn]] void run_child(int pipe_fd, pid_t parent, const SandboxLimits& limits,
                            const std::function<void(SandboxWriter&)>& work, void (*leaving)());

}  // namespace citadel::detail
