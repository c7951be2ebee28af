// A fresh sandboxed child: the citadel tool started by fork and an immediate exec, so that the
// process parsing hostile bytes holds nothing of its parent's memory (a key, a decrypted
// model, another user's request): a reader led astray by a file, as libhdf5 was by one whose
// out-of-bounds read returned bytes past a heap object, can only echo what it was sent.
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "citadel/core/error.hpp"
#include "citadel/interop/sandbox_executable.hpp"
#include "sandbox_child.hpp"

namespace citadel {

namespace {

std::mutex& executable_mutex() {
  static std::mutex mutex;
  return mutex;
}

std::string& chosen_executable() {
  static std::string path;
  return path;
}

}  // namespace

void set_sandbox_executable(const std::string& path) {
  const std::lock_guard<std::mutex> lock(executable_mutex());
  chosen_executable() = path;
}

namespace detail {

namespace {

constexpr int kRequest = 0;  // the fresh child's stdin: its limits, then the request
constexpr int kAnswers = 3;  // its answer pipe
// Before the request: the memory limit (bytes beyond what the started tool maps) and the CPU
// limit the parent also set, as two little-endian 64-bit integers.
constexpr size_t kRequestHeader = 16;

}  // namespace

int sandbox_request_file(const std::string& who, const SandboxLimits& limits,
                         const std::vector<std::string_view>& request) {
  std::string header;
  append_u64(header, static_cast<uint64_t>(std::max<int64_t>(limits.memory_bytes, 0)));
  append_u64(header, static_cast<uint64_t>(std::max(1.0, std::ceil(limits.cpu_seconds))));
  const int fd = ::memfd_create("citadel-sandbox-request", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  CITADEL_CHECK(fd >= 0, IoError, who, " cannot start: memfd_create: ", std::strerror(errno));
  auto write_all = [&](std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t written = ::write(fd, bytes.data(), bytes.size());
      if (written < 0 && errno == EINTR) continue;
      if (written <= 0) {
        const int error = errno;
        ::close(fd);
        throw IoError(who + " cannot start: writing its request: " + std::strerror(error));
      }
      bytes.remove_prefix(static_cast<size_t>(written));
    }
  };
  write_all(header);
  for (const std::string_view part : request) write_all(part);
  if (::fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0 ||
      ::lseek(fd, 0, SEEK_SET) != 0) {
    const int error = errno;
    ::close(fd);
    throw IoError(who + " cannot start: sealing its request: " + std::strerror(error));
  }
  return fd;
}

namespace {

// `fd`, or a copy of it above the child's descriptors (the original closed); -1 on failure.
int above_answers(int fd) {
  if (fd > kAnswers) return fd;
  const int high = ::fcntl(fd, F_DUPFD_CLOEXEC, kAnswers + 1);
  ::close(fd);
  return high;
}

// `from` as descriptor `to`, kept across exec (dup2 onto itself would keep close-on-exec).
bool move_descriptor(int from, int to) {
  if (from == to) return ::fcntl(to, F_SETFD, 0) == 0;
  return ::dup2(from, to) == to;
}

}  // namespace

std::string sandbox_executable() {
  {
    const std::lock_guard<std::mutex> lock(executable_mutex());
    if (!chosen_executable().empty()) return chosen_executable();
  }
  for (const char* candidate : {CITADEL_INSTALLED_TOOL, CITADEL_BUILD_TREE_TOOL})
    if (is_trusted_tool(candidate)) return candidate;
  return "";
}

bool is_trusted_tool(const std::string& path) {
  if (path.empty() || path.front() != '/' || ::access(path.c_str(), X_OK) != 0) return false;
  // Owned by root or this user, and writable by nobody else.
  auto owned = [](const struct stat& info) {
    return (info.st_uid == 0 || info.st_uid == ::geteuid()) && (info.st_mode & (S_IWGRP | S_IWOTH)) == 0;
  };
  struct stat file {}, folder {};
  const std::string parent = path.substr(0, std::max<size_t>(path.rfind('/'), 1));
  return ::stat(path.c_str(), &file) == 0 && S_ISREG(file.st_mode) && owned(file) &&
         ::stat(parent.c_str(), &folder) == 0 && owned(folder);
}

StartedChild start_fresh_child(const std::string& who, const std::string& program, const char* job,
                               const SandboxLimits& limits, int request_fd) {
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) != 0) {
    const int error = errno;
    ::close(request_fd);
    throw IoError(who + " cannot start: pipe: " + std::strerror(error));
  }
  // Above the child's 0-3, so that moving one into place never closes the other.
  request_fd = above_answers(request_fd);
  ends[1] = above_answers(ends[1]);
  if (request_fd < 0 || ends[1] < 0) {
    for (const int fd : {request_fd, ends[0], ends[1]})
      if (fd >= 0) ::close(fd);
    throw IoError(who + " cannot start: fcntl: " + std::strerror(errno));
  }
  // Everything the child needs is made before fork: between fork and exec it calls only
  // what is async-signal-safe (another thread may hold the allocator's lock at fork).
  std::string job_name(job);
  char* const arguments[] = {const_cast<char*>("citadel"), const_cast<char*>(kSandboxChildFlag), job_name.data(),
                             nullptr};
  char* const environment[] = {nullptr};
  const rlim_t cpu = static_cast<rlim_t>(std::max(1.0, std::ceil(limits.cpu_seconds)));
  const rlimit cpu_limit{cpu, cpu + 1}, no_core{0, 0};
  const pid_t parent = ::getpid();
  const pid_t child = ::fork();
  if (child == 0) {
    reset_signals();
    if (!move_descriptor(request_fd, kRequest) || !move_descriptor(ends[1], kAnswers)) ::_exit(kExitNotStarted);
    // stderr stays (the sanitizers report there; the child closes it in a release build).
    if (::close_range(kAnswers + 1, ~0U, 0) != 0) ::_exit(kExitNotStarted);
    ::close(1);
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != parent) ::_exit(kExitPipeBroken);
    if (::setrlimit(RLIMIT_CPU, &cpu_limit) != 0 || ::setrlimit(RLIMIT_CORE, &no_core) != 0)
      ::_exit(kExitSandboxFailed);
    ::execve(program.c_str(), arguments, environment);
    ::_exit(kExitNotStarted);
  }
  const int fork_error = errno;
  ::close(request_fd);
  ::close(ends[1]);
  if (child < 0) {
    ::close(ends[0]);
    throw IoError(who + " cannot start: fork: " + std::strerror(fork_error));
  }
  return {child, ends[0]};
}

[[noreturn]] void run_fresh_child(SandboxJob job) {
  const pid_t parent = ::getppid();
  // The request is copied in, to its end, before the limits are set, which are then set above it.
  std::string bytes;
  for (;;) {
    const size_t at = bytes.size();
    bytes.resize(at + (64 << 10));
    const ssize_t got = ::read(kRequest, bytes.data() + at, bytes.size() - at);
    if (got < 0 && errno == EINTR) {
      bytes.resize(at);
      continue;
    }
    if (got < 0) ::_exit(kExitSandboxFailed);
    bytes.resize(at + static_cast<size_t>(got));
    if (got == 0) break;
  }
  if (bytes.size() < kRequestHeader) ::_exit(kExitSandboxFailed);
  const auto* header = reinterpret_cast<const unsigned char*>(bytes.data());
  SandboxLimits limits;
  limits.memory_bytes = static_cast<int64_t>(std::min<uint64_t>(read_u64(header), uint64_t{1} << 62));
  limits.cpu_seconds = static_cast<double>(read_u64(header + 8));
  const std::string_view request = std::string_view(bytes).substr(kRequestHeader);
  run_child(kAnswers, parent, limits, [&](SandboxWriter& out) { job(request, out); }, nullptr);
}

}  // namespace detail

}  // namespace citadel
