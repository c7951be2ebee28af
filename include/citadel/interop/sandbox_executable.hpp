// Keras's HDF5 files are parsed by libhdf5 in a fresh, sandboxed process of the citadel tool
// (`citadel --sandbox-child JOB`, started by fork and an immediate exec), never in the
// process that asked: nothing of that process's memory can come back in an answer.
#pragma once

#include <string>

namespace citadel {

// The tool's flag that makes it a sandboxed child (the tool's main hands it to
// run_sandbox_child before anything else).
inline constexpr const char* kSandboxChildFlag = "--sandbox-child";

// The citadel tool to start for it. Unset, the installed tool is used, else the tool of the
// build this library comes from; a program that has neither (a copied binary, a package
// shipping its own tool) names one here. The tool itself names /proc/self/exe.
void set_sandbox_executable(const std::string& path);

// The tool's side: runs the job named `job` on the request its parent sent, then exits;
// an unknown job exits at once with a failure.
[[noreturn]] void run_sandbox_child(const std::string& job);

}  // namespace citadel
