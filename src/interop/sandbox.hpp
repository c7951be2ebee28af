// Running a reader of hostile bytes in a child process that can neither hurt its parent nor
// see its memory: a fresh process of the citadel tool (fork, then exec at once), it keeps no
// file descriptor but the pipe it answers on, runs under CPU, memory, file-size and
// descriptor limits and a seccomp-bpf filter that kills it on any system call its work does
// not need (open, socket, execve, ...), and answers with length-prefixed frames that the
// parent reads against a wall-clock deadline, expecting each frame's size, so a crash, a
// hang or a lying child is a refusal, never the parent's end.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace citadel::detail {

struct SandboxLimits {
  double cpu_seconds = 10;   // RLIMIT_CPU (whole seconds, at least 1)
  double wall_seconds = 30;  // the parent's deadline for the whole answer
  // Address space the child may map beyond what it inherits from the parent (RLIMIT_AS;
  // under the sanitizers, whose shadow memory takes terabytes of it, RLIMIT_DATA).
  int64_t memory_bytes = int64_t{512} << 20;
};

// 64-bit little-endian integers, as the sandbox's frames and requests carry their lengths.
void append_u64(std::string& out, uint64_t value);
uint64_t read_u64(const unsigned char* at);

// The child's side: frames written to the parent (a tag byte, a 64-bit little-endian
// length, the payload).
class SandboxWriter {
 public:
  explicit SandboxWriter(int fd) : fd_(fd) {}
  void frame(char tag, std::string_view payload);
  void frame(char tag, std::span<const float> values);

 private:
  void write_all(const void* data, size_t size);
  int fd_;
};

// The parent's side: each frame is checked against what the caller expects before its
// payload is read. An error frame from the child is thrown here as an IoError holding the
// child's message (at most 16 KiB).
class SandboxReader {
 public:
  struct Frame {
    char tag;
    uint64_t length;
  };
  // The next frame, whose length must be at most `max_length`.
  Frame next(uint64_t max_length);
  // The next frame, which must have this tag and exactly this length.
  void expect(char tag, uint64_t length);
  // The payload of the frame just read, in full.
  void payload(void* out, size_t length);
  std::string text(size_t length);
  // Whether the child has closed its end (it has left), with nothing more written.
  bool at_end();

  // (run_sandboxed makes one.) Reads `fd` until the steady-clock time `deadline_ns`.
  SandboxReader(int fd, int64_t deadline_ns) : fd_(fd), deadline_ns_(deadline_ns) {}

 private:
  // Up to `size` bytes; fewer only at the end of the pipe.
  size_t read_some(void* out, size_t size);
  void read_exactly(void* out, size_t size);
  int fd_;
  int64_t deadline_ns_;
};

// Runs `work` in a sandboxed child forked from this process and `read` here on the frames it
// writes, then requires a done frame, the end of the pipe and a clean exit. Whatever goes
// wrong (the child's error, a crash, a forbidden system call, a limit, the deadline, a frame
// the reader did not expect) is an IoError naming `subject` and `reader_name` ("the HDF5
// reader"); the child is killed and reaped before it is thrown. A forked child holds a copy
// of this process's memory: readers of hostile bytes use run_sandboxed_job, which starts a
// fresh process; this form is for the sandbox's own tests and the fuzzer.
void run_sandboxed(const std::string& subject, const char* reader_name, const SandboxLimits& limits,
                   const std::function<void(SandboxWriter&)>& work, const std::function<void(SandboxReader&)>& read);

// A job a fresh child runs by name: it reads its request and writes its frames.
using SandboxJob = void (*)(std::string_view request, SandboxWriter& out);

// Runs `job` on `request` (its parts, one after the other) in a fresh process, confined as
// above: the citadel tool (sandbox_executable()) started as `citadel --sandbox-child
// JOB_NAME`, which finds the job by its name. Nothing of this process's memory reaches the process that parses the bytes —
// a reader led astray by a hostile file can echo only what it was sent. `read` and the
// refusals as run_sandboxed. (Under the fuzzer's hooks, the job runs in a forked child.)
void run_sandboxed_job(const std::string& subject, const char* reader_name, const SandboxLimits& limits,
                       const char* job_name, SandboxJob job, const std::vector<std::string_view>& request,
                       const std::function<void(SandboxReader&)>& read);

// The tool run_sandboxed_job starts: the one set with set_sandbox_executable, else the
// installed tool, else the tool of the build this library was built in, each only where
// is_trusted_tool (sandbox_child.hpp) holds; "" when none does.
std::string sandbox_executable();

// For the fuzzer: a function the child runs just before it leaves (after its work, in the
// sandbox), and one the parent runs after reaping it.
struct SandboxHooks {
  void (*child_leaving)() = nullptr;
  void (*parent_reaped)() = nullptr;
};
void set_sandbox_hooks(const SandboxHooks& hooks);

}  // namespace citadel::detail
