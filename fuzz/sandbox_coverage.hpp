// Coverage of the sandboxed child for a libFuzzer target: the child's 8-bit counters are
// copied into a shared mapping just before it leaves, and merged (the larger count wins)
// into this process's counters once it is reaped, within the same run.
#pragma once

// Installs the sandbox's hooks; call once, from LLVMFuzzerInitialize. Does nothing where
// the counters cannot be found.
void relay_sandbox_coverage();
