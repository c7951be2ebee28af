// The parent's side of the sandbox: the child started (forked, or a fresh process:
// sandbox_exec.cpp), the frames read against the deadline, the child killed and reaped
// whatever happens, and its end told in words.
#include "sandbox.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <string_view>
#include <thread>

#include "citadel/core/error.hpp"
#include "sandbox_child.hpp"

namespace citadel::detail {

namespace {

constexpr size_t kFrameHeader = 9;            // tag + 64-bit length
constexpr uint64_t kMaxErrorBytes = 16 << 10;  // a child's error message

// Thrown inside this file only: turned into an IoError once the child is reaped.
struct ChildEnded {};
struct DeadlinePassed {};

SandboxHooks& hooks() {
  static SandboxHooks installed;
  return installed;
}

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string signal_text(int number) {
  const char* abbreviation = ::sigabbrev_np(number);
  const char* description = ::strsignal(number);
  return "signal " + std::to_string(number) + (abbreviation ? std::string(" (SIG") + abbreviation + ": " : " (") +
         (description ? description : "unknown") + ")";
}

// Waits for the child until the deadline, then kills it. Returns its wait status, or -1
// when it cannot be had (a SIGCHLD set to SIG_IGN reaps children by itself).
int reap(pid_t child, int64_t deadline_ns) {
  int status = 0;
  // The child is leaving when this is called (its pipe is closed or its answer complete):
  // polled from 20 µs up to 1 ms apart, so that a quick exit costs microseconds.
  for (int64_t pause_us = 20;; pause_us = std::min<int64_t>(pause_us * 2, 1000)) {
    const pid_t got = ::waitpid(child, &status, WNOHANG);
    if (got == child) return status;
    if (got < 0 && errno != EINTR) return -1;
    if (now_ns() >= deadline_ns) break;
    std::this_thread::sleep_for(std::chrono::microseconds(pause_us));
  }
  ::kill(child, SIGKILL);
  while (::waitpid(child, &status, 0) < 0)
    if (errno != EINTR) return -1;
  return status;
}

// Kills the child (it may still run) and reaps it.
int kill_and_reap(pid_t child) {
  ::kill(child, SIGKILL);
  int status = 0;
  while (::waitpid(child, &status, 0) < 0)
    if (errno != EINTR) return -1;
  return status;
}

// A child's error message as text safe to print and to hand to Python: a reader that a
// hostile file led astray may send bytes read from anywhere (terminal escapes, invalid
// UTF-8, which Python cannot turn into a message). Valid UTF-8 stays; control bytes and
// bytes of no valid sequence become \xNN.
std::string printable(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  auto escape = [&out](unsigned char byte) {
    static constexpr char kHex[] = "0123456789abcdef";
    out += "\\x";
    out += kHex[byte >> 4];
    out += kHex[byte & 15];
  };
  for (size_t i = 0; i < raw.size();) {
    const auto lead = static_cast<unsigned char>(raw[i]);
    if (lead >= 0x20 && lead < 0x7f) {
      out += raw[i++];
      continue;
    }
    // The length of a well-formed sequence starting here (RFC 3629: no overlongs, no
    // surrogates, nothing past U+10FFFF), 0 if none.
    size_t length = 0;
    if (lead >= 0xc2 && lead <= 0xdf) length = 2;
    else if (lead >= 0xe0 && lead <= 0xef) length = 3;
    else if (lead >= 0xf0 && lead <= 0xf4) length = 4;
    bool valid = length > 0 && i + length <= raw.size();
    for (size_t k = 1; valid && k < length; ++k) {
      const auto next = static_cast<unsigned char>(raw[i + k]);
      unsigned char low = 0x80, high = 0xbf;
      if (k == 1 && lead == 0xe0) low = 0xa0;
      if (k == 1 && lead == 0xed) high = 0x9f;
      if (k == 1 && lead == 0xf0) low = 0x90;
      if (k == 1 && lead == 0xf4) high = 0x8f;
      valid = next >= low && next <= high;
    }
    if (valid) {
      out.append(raw.substr(i, length));
      i += length;
    } else {
      escape(lead);
      ++i;
    }
  }
  return out;
}

std::string describe_end(int status, const SandboxLimits& limits) {
  if (status == -1) return "ended without a complete answer";
  if (WIFEXITED(status)) {
    if (WEXITSTATUS(status) == kExitSandboxFailed) return "could not set up its sandbox";
    if (WEXITSTATUS(status) == kExitNotStarted) return "could not start its program (" + sandbox_executable() + ")";
    return "ended (exit code " + std::to_string(WEXITSTATUS(status)) + ") without a complete answer";
  }
  if (!WIFSIGNALED(status)) return "ended without a complete answer";
  const int number = WTERMSIG(status);
  if (number == SIGXCPU)
    return "used more than " + std::to_string(static_cast<int64_t>(std::ceil(limits.cpu_seconds))) +
           " s of CPU time and was stopped";
  // A reader that a hostile file sends astray may fault or may call what it must not: which
  // one depends on the memory layout, so both read as a crash.
  if (number == SIGSYS)
    return "crashed on this file: killed by its sandbox for a forbidden system call (the file may be an exploit)";
  if (number == SIGKILL) return "was killed (" + signal_text(number) + "; its CPU limit, or the system's memory)";
  return "crashed on this file with " + signal_text(number);
}

}  // namespace

void append_u64(std::string& out, uint64_t value) {
  for (int i = 0; i < 8; ++i) out += static_cast<char>(value >> (8 * i));
}

uint64_t read_u64(const unsigned char* at) {
  uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value |= uint64_t{at[i]} << (8 * i);
  return value;
}

void SandboxWriter::write_all(const void* data, size_t size) {
  const char* at = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t written = ::write(fd_, at, size);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) ::_exit(kExitPipeBroken);  // the parent stopped reading: nobody to answer
    at += written;
    size -= static_cast<size_t>(written);
  }
}

void SandboxWriter::frame(char tag, std::string_view payload) {
  std::string header(1, tag);
  append_u64(header, payload.size());
  write_all(header.data(), header.size());
  write_all(payload.data(), payload.size());
}

void SandboxWriter::frame(char tag, std::span<const float> values) {
  frame(tag, std::string_view(reinterpret_cast<const char*>(values.data()), values.size_bytes()));
}

size_t SandboxReader::read_some(void* out, size_t size) {
  for (;;) {
    const int64_t left_ms = (deadline_ns_ - now_ns()) / 1'000'000;
    if (left_ms <= 0) throw DeadlinePassed{};
    pollfd wait{fd_, POLLIN, 0};
    const int ready = ::poll(&wait, 1, static_cast<int>(std::min<int64_t>(left_ms, 1'000'000)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) continue;  // the loop's start sees the deadline
    const ssize_t got = ::read(fd_, out, size);
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (got < 0) throw ChildEnded{};
    return static_cast<size_t>(got);
  }
}

void SandboxReader::read_exactly(void* out, size_t size) {
  char* at = static_cast<char*>(out);
  while (size > 0) {
    const size_t got = read_some(at, size);
    if (got == 0) throw ChildEnded{};
    at += got;
    size -= got;
  }
}

SandboxReader::Frame SandboxReader::next(uint64_t max_length) {
  unsigned char header[kFrameHeader];
  read_exactly(header, sizeof header);
  const Frame frame{static_cast<char>(header[0]), read_u64(header + 1)};
  if (frame.tag == 'E') {
    CITADEL_CHECK(frame.length <= kMaxErrorBytes, IoError, "sends an error message of ", frame.length,
                  " bytes; refused");
    throw IoError(printable(text(static_cast<size_t>(frame.length))));
  }
  CITADEL_CHECK(frame.length <= max_length, IoError, "answers with a frame '", frame.tag, "' of ", frame.length,
                " bytes where at most ", max_length, " were expected; refused");
  return frame;
}

void SandboxReader::expect(char tag, uint64_t length) {
  const Frame frame = next(length);
  CITADEL_CHECK(frame.tag == tag && frame.length == length, IoError, "answers with a frame '", frame.tag, "' of ",
                frame.length, " bytes where a frame '", tag, "' of ", length, " was expected; refused");
}

void SandboxReader::payload(void* out, size_t length) { read_exactly(out, length); }

std::string SandboxReader::text(size_t length) {
  std::string value(length, '\0');
  read_exactly(value.data(), length);
  return value;
}

bool SandboxReader::at_end() {
  char extra;
  return read_some(&extra, 1) == 0;
}

void set_sandbox_hooks(const SandboxHooks& installed) { hooks() = installed; }

namespace {

// Reads the child's frames with `read`, then requires a done frame, the end of the pipe and a
// clean exit; refusals as run_sandboxed says.
void supervise(StartedChild started, const std::string& subject, const std::string& who, const SandboxLimits& limits,
               int64_t deadline, const std::function<void(SandboxReader&)>& read) {
  pid_t child = started.pid;
  // Closes the pipe and reaps the child on every way out.
  struct Cleanup {
    int fd;
    ~Cleanup() { ::close(fd); }
  } cleanup{started.answers};
  SandboxReader reader(started.answers, deadline);
  std::exception_ptr refusal;
  try {
    read(reader);
    reader.expect('D', 0);
    CITADEL_CHECK(reader.at_end(), IoError, "says more than it was asked; refused");
  } catch (const ChildEnded&) {
    const int status = reap(child, deadline);
    refusal = std::make_exception_ptr(IoError(who + " " + describe_end(status, limits) + "; refused"));
    child = 0;
  } catch (const DeadlinePassed&) {
    kill_and_reap(child);
    refusal = std::make_exception_ptr(
        IoError(who + " took more than " + std::to_string(static_cast<int64_t>(std::ceil(limits.wall_seconds))) +
                " s and was stopped; refused"));
    child = 0;
  } catch (const IoError& e) {
    kill_and_reap(child);
    const std::string message = e.what();
    // Every refusal names the file and the reader; the child's own errors name the file already.
    refusal = std::make_exception_ptr(IoError(message.rfind(subject, 0) == 0 ? who + message.substr(subject.size())
                                                                              : who + " " + message));
    child = 0;
  } catch (...) {
    kill_and_reap(child);
    refusal = std::current_exception();
    child = 0;
  }
  if (child != 0) {
    const int status = reap(child, deadline);
    // A clean exit, or one this process cannot see (children reaped by a SIGCHLD of SIG_IGN):
    // the answer was complete and is checked by the caller either way.
    if (status != -1 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
      refusal = std::make_exception_ptr(IoError(who + " " + describe_end(status, limits) + "; refused"));
  }
  if (hooks().parent_reaped != nullptr) hooks().parent_reaped();
  if (refusal) std::rethrow_exception(refusal);
}


}  // namespace

void run_sandboxed(const std::string& subject, const char* reader_name, const SandboxLimits& limits,
                   const std::function<void(SandboxWriter&)>& work, const std::function<void(SandboxReader&)>& read) {
  const std::string who = subject + ": " + reader_name;
  int ends[2];
  // Close-on-exec: a program another thread starts never holds the pipe open.
  CITADEL_CHECK(::pipe2(ends, O_CLOEXEC) == 0, IoError, who, " cannot start: pipe: ", std::strerror(errno));
  const pid_t parent = ::getpid();
  const int64_t deadline = now_ns() + static_cast<int64_t>(limits.wall_seconds * 1e9);
  const pid_t child = ::fork();
  if (child == 0) {
    ::close(ends[0]);
    run_child(ends[1], parent, limits, work, hooks().child_leaving);
  }
  ::close(ends[1]);
  if (child < 0) {
    const int error = errno;
    ::close(ends[0]);
    throw IoError(who + " cannot start: fork: " + std::strerror(error));
  }
  supervise({child, ends[0]}, subject, who, limits, deadline, read);
}

void run_sandboxed_job(const std::string& subject, const char* reader_name, const SandboxLimits& limits,
                       const char* job_name, SandboxJob job, const std::vector<std::string_view>& request,
                       const std::function<void(SandboxReader&)>& read) {
  if (hooks().child_leaving != nullptr || hooks().parent_reaped != nullptr) {
    // Fuzzing: the job in a forked child, whose coverage the hooks carry back.
    std::string copy;
    for (const std::string_view part : request) copy += part;
    run_sandboxed(subject, reader_name, limits, [&](SandboxWriter& out) { job(copy, out); }, read);
    return;
  }
  const std::string who = subject + ": " + reader_name;
  const std::string program = sandbox_executable();
  CITADEL_CHECK(!program.empty(), IoError, who,
                " cannot start: it runs in a fresh process of the citadel tool, and none was found (install the tool, "
                "or name it with citadel::set_sandbox_executable)");
  const int64_t deadline = now_ns() + static_cast<int64_t>(limits.wall_seconds * 1e9);
  const StartedChild started =
      start_fresh_child(who, program, job_name, limits, sandbox_request_file(who, limits, request));
  supervise(started, subject, who, limits, deadline, read);
}

}  // namespace citadel::detail
