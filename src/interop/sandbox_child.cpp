// The sandboxed child: confined before it touches the bytes it was forked to read. The
// seccomp filter (libseccomp) allows what reading from memory needs and nothing else.
#include "sandbox_child.hpp"

#include <fcntl.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <new>
#include <string>

namespace citadel::detail {

namespace {

constexpr int kPipe = 3;  // where the answer pipe is moved
constexpr size_t kMaxError = 16 << 10;

#ifdef CITADEL_SANITIZED_BUILD
// ASan and UBSan report on stderr; their reports of the child should be seen.
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

// Pages mapped now (all of them, and the data part RLIMIT_DATA counts): inherited from the
// parent, so the memory limit is set above them. Read before any descriptor is closed.
struct Mapped {
  uint64_t total = 0, data = 0;
};
Mapped mapped_now() {
  Mapped mapped;
  const int fd = ::open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return mapped;
  char text[256] = {};
  const ssize_t got = ::read(fd, text, sizeof text - 1);
  ::close(fd);
  if (got <= 0) return mapped;
  // size resident shared text lib data dirty, in pages.
  uint64_t fields[7] = {};
  const char* at = text;
  for (int i = 0; i < 7 && *at; ++i) {
    while (*at == ' ') ++at;
    while (*at >= '0' && *at <= '9') fields[i] = fields[i] * 10 + static_cast<uint64_t>(*at++ - '0');
  }
  const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  mapped.total = fields[0] * page;
  mapped.data = fields[5] * page;
  return mapped;
}

// The pipe becomes fd 3; every other descriptor (stdin, stdout, the parent's files and
// sockets) is closed, stderr too unless sanitizers report on it.
bool keep_only_pipe(int pipe_fd) {
  if (pipe_fd != kPipe && ::dup2(pipe_fd, kPipe) != kPipe) return false;
  if (::close_range(kPipe + 1, ~0U, 0) != 0) {
    const long most = std::min<long>(::sysconf(_SC_OPEN_MAX), 1 << 20);
    for (int fd = kPipe + 1; fd < most; ++fd) ::close(fd);
  }
  ::close(0);
  ::close(1);
  if (!kSanitized) ::close(2);
  return true;
}

bool set_limit(int resource, uint64_t soft, uint64_t hard) {
  const rlimit limit{static_cast<rlim_t>(soft), static_cast<rlim_t>(hard)};
  return ::setrlimit(resource, &limit) == 0;
}

std::string set_limits(const SandboxLimits& limits, const Mapped& mapped) {
  const uint64_t cpu = static_cast<uint64_t>(std::max(1.0, std::ceil(limits.cpu_seconds)));
  const uint64_t memory = static_cast<uint64_t>(std::max<int64_t>(limits.memory_bytes, 0));
  const bool ok = set_limit(RLIMIT_CORE, 0, 0) && set_limit(RLIMIT_FSIZE, 0, 0) &&
                  set_limit(RLIMIT_NOFILE, kPipe + 1, kPipe + 1) && set_limit(RLIMIT_CPU, cpu, cpu + 1) &&
                  (kSanitized ? set_limit(RLIMIT_DATA, mapped.data + memory, mapped.data + memory)
                              : set_limit(RLIMIT_AS, mapped.total + memory, mapped.total + memory));
  return ok ? "" : std::string("setrlimit: ") + std::strerror(errno);
}

// A condition on a system call's argument (libseccomp's SCMP_A* macros are C compound
// literals). For SCMP_CMP_MASKED_EQ, `a` is the mask and `b` the value.
scmp_arg_cmp argument(unsigned index, scmp_compare op, scmp_datum_t a, scmp_datum_t b = 0) {
  scmp_arg_cmp condition{};
  condition.arg = index;
  condition.op = op;
  condition.datum_a = a;
  condition.datum_b = b;
  return condition;
}

// The system calls reading bytes in memory needs (found with strace on the Keras files'
// work, with and without the sanitizers): memory management without executable pages,
// futexes, writing the answer, leaving, and raising a signal at itself (abort); opening a
// file to read answers "no such file" without opening it. Anything else kills the process.
std::string install_filter() {
  const uint32_t kill = seccomp_api_get() >= 3 ? SCMP_ACT_KILL_PROCESS : SCMP_ACT_KILL;
  scmp_filter_ctx filter = seccomp_init(kill);
  if (filter == nullptr) return "seccomp_init failed";
  const pid_t self = ::getpid();
  int failed = 0;
  auto allow = [&](int call, auto... conditions) {
    // A call this architecture does not have (pipe on arm64) is left out, not a failure.
    if (call < 0) return;
    if (seccomp_rule_add(filter, SCMP_ACT_ALLOW, call, sizeof...(conditions), conditions...) != 0) ++failed;
  };
  allow(SCMP_SYS(write), argument(0, SCMP_CMP_EQ, kPipe));
  if (kSanitized) {
    // The sanitizers' own needs, in their builds only (tests and fuzzing; a release build's
    // filter is the strict one): their reports on stderr (asking whether it is a terminal),
    // ASan's _exit taking down the thread's signal stack, and UBSan's vptr check, which
    // tests whether a vtable is readable by writing it into a pipe of its own (the only
    // descriptors it can get are 0 and 1, under RLIMIT_NOFILE).
    allow(SCMP_SYS(write), argument(0, SCMP_CMP_LE, kPipe));
    for (const int call : {SCMP_SYS(sigaltstack), SCMP_SYS(pipe2), SCMP_SYS(pipe), SCMP_SYS(close)}) allow(call);
    allow(SCMP_SYS(ioctl), argument(0, SCMP_CMP_EQ, 2));
  }
  allow(SCMP_SYS(mmap), argument(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
  allow(SCMP_SYS(mprotect), argument(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
  for (const int call : {SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(brk), SCMP_SYS(madvise), SCMP_SYS(futex),
                         SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask),
                         SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(sched_yield), SCMP_SYS(clock_gettime),
                         SCMP_SYS(gettimeofday)})
    allow(call);
  allow(SCMP_SYS(tgkill), argument(0, SCMP_CMP_EQ, static_cast<scmp_datum_t>(self)));
  // libhdf5's in-memory driver makes sure no file of the image's name exists by opening it
  // for reading: such an open fails with ENOENT without being made (nothing is opened, and
  // every path looks absent); an open to write or create kills, like everything else.
  const scmp_datum_t writing = O_ACCMODE | O_CREAT | O_TRUNC | O_APPEND | __O_TMPFILE;
  if (seccomp_rule_add(filter, SCMP_ACT_ERRNO(ENOENT), SCMP_SYS(openat), 1,
                       argument(2, SCMP_CMP_MASKED_EQ, writing, 0)) != 0)
    ++failed;
  // open(2) itself, where the architecture has it (the sanitizers' runtime calls it).
  if (SCMP_SYS(open) >= 0 && seccomp_rule_add(filter, SCMP_ACT_ERRNO(ENOENT), SCMP_SYS(open), 1,
                                              argument(1, SCMP_CMP_MASKED_EQ, writing, 0)) != 0)
    ++failed;
  std::string failure;
  if (failed > 0) failure = "seccomp_rule_add failed";
  if (failure.empty()) {
    const int loaded = seccomp_load(filter);
    if (loaded != 0) failure = std::string("seccomp_load: ") + std::strerror(-loaded);
  }
  seccomp_release(filter);
  return failure;
}

}  // namespace

void reset_signals() {
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  for (int number = 1; number < NSIG; ++number)
    if (number != SIGKILL && number != SIGSTOP) ::sigaction(number, &default_action, nullptr);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

[[noreturn]] void run_child(int pipe_fd, pid_t parent, const SandboxLimits& limits,
                            const std::function<void(SandboxWriter&)>& work, void (*leaving)()) {
  reset_signals();
  const Mapped mapped = mapped_now();
  if (!keep_only_pipe(pipe_fd)) ::_exit(kExitSandboxFailed);
  SandboxWriter writer(kPipe);
  // Dies with the thread that forked it; a parent already gone leaves nobody to answer.
  std::string failure;
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != parent) ::_exit(kExitPipeBroken);
  failure = set_limits(limits, mapped);
  if (failure.empty() && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    failure = std::string("PR_SET_NO_NEW_PRIVS: ") + std::strerror(errno);
  if (failure.empty()) failure = install_filter();
  if (!failure.empty()) {
    writer.frame('E', "could not set up its sandbox (" + failure + ")");
    ::_exit(kExitSandboxFailed);
  }
  // Sandboxed from here on.
  std::string error;
  try {
    work(writer);
  } catch (const std::bad_alloc&) {
    error = "needed more memory than its limit (" + std::to_string(limits.memory_bytes >> 20) + " MiB)";
  } catch (const std::exception& e) {
    error = e.what();
  } catch (...) {
    error = "failed";
  }
  if (leaving != nullptr) leaving();
  if (error.empty()) {
    writer.frame('D', "");
  } else {
    writer.frame('E', error.substr(0, kMaxError));
  }
  ::_exit(0);
}

}  // namespace citadel::detail
