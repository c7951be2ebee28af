// The sandbox the HDF5 reader runs in (src/interop/sandbox.hpp), tried with work that does
// what an exploited reader would: open files, sockets, programs, spin, sleep, allocate,
// crash, lie about its answer. Each must end as an IoError here while this process lives
// on, and the child must hold nothing but its answer pipe, under its limits and filter.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "../../src/interop/sandbox.hpp"
#include "citadel/core/error.hpp"

namespace citadel::detail {
namespace sandbox_test {
namespace {

namespace fs = std::filesystem;

SandboxLimits quick() {
  SandboxLimits limits;
  limits.cpu_seconds = 1;
  limits.wall_seconds = 10;
  limits.memory_bytes = 256 << 20;
  return limits;
}

// The IoError's message when run_sandboxed refuses, "" when it does not.
std::string refusal(const std::function<void(SandboxWriter&)>& work,
                    const std::function<void(SandboxReader&)>& read = [](SandboxReader&) {},
                    const SandboxLimits& limits = quick()) {
  try {
    run_sandboxed("test.h5", "the test reader", limits, work, read);
  } catch (const IoError& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// One 64-bit value the child sends back.
std::function<void(SandboxReader&)> read_value(int64_t& value) {
  return [&value](SandboxReader& in) {
    in.expect('V', sizeof value);
    in.payload(&value, sizeof value);
  };
}
void send_value(SandboxWriter& out, int64_t value) {
  out.frame('V', std::string_view(reinterpret_cast<const char*>(&value), sizeof value));
}

// Sleeps on a futex nobody wakes: what a child stuck on a lock held at fork() does.
[[noreturn]] void wait_forever() {
  static int never = 0;
  for (;;) ::syscall(SYS_futex, &never, FUTEX_WAIT_PRIVATE, 0, nullptr, nullptr, 0);
}

TEST(Sandbox, WorkAnswersWithTheFramesItsParentExpects) {
  std::vector<float> values(1000);
  const std::string message = refusal(
      [](SandboxWriter& out) {
        std::vector<float> computed(1000);
        for (size_t i = 0; i < computed.size(); ++i) computed[i] = 0.5f * static_cast<float>(i);
        out.frame('T', computed);
      },
      [&](SandboxReader& in) {
        in.expect('T', values.size() * sizeof(float));
        in.payload(values.data(), values.size() * sizeof(float));
      });
  EXPECT_EQ(message, "");
  for (size_t i = 0; i < values.size(); ++i) ASSERT_EQ(values[i], 0.5f * static_cast<float>(i));
}

TEST(Sandbox, TheChildsErrorIsTheParentsIoError) {
  EXPECT_EQ(refusal([](SandboxWriter&) { throw IoError("test.h5: dataset x is damaged"); }),
            "test.h5: the test reader: dataset x is damaged");  // every refusal names the reader
  EXPECT_EQ(refusal([](SandboxWriter&) { throw std::runtime_error("something else"); }),
            "test.h5: the test reader something else");
}

TEST(Sandbox, OpeningAFileToReadFindsNothingAndOpensNothing) {
  ASSERT_TRUE(fs::exists("/etc/passwd"));
  int64_t result = 0;
  EXPECT_EQ(refusal(
                [](SandboxWriter& out) {
                  const int fd = ::open("/etc/passwd", O_RDONLY);
                  send_value(out, fd >= 0 ? 1000 + fd : -errno);
                },
                read_value(result)),
            "");
  EXPECT_EQ(result, -ENOENT);
}

TEST(Sandbox, OpeningAFileToWriteKillsTheChild) {
  const fs::path path = fs::temp_directory_path() / ("citadel_sandbox_" + std::to_string(::getpid()));
  const std::string message =
      refusal([&](SandboxWriter&) { ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644); });
  EXPECT_TRUE(contains(message, "test.h5: the test reader crashed on this file: killed by its sandbox for a forbidden system call"))
      << message;
  EXPECT_FALSE(fs::exists(path));
}

TEST(Sandbox, SocketsProgramsAndProcessesKillTheChild) {
  const std::vector<std::function<void(SandboxWriter&)>> attempts = {
      [](SandboxWriter&) { ::socket(AF_INET, SOCK_STREAM, 0); },
      [](SandboxWriter&) {
        char* arguments[] = {const_cast<char*>("/bin/true"), nullptr};
        ::execve("/bin/true", arguments, nullptr);
      },
      [](SandboxWriter&) { ::syscall(SYS_fork); },
      [](SandboxWriter&) { ::kill(::getppid(), SIGTERM); },
      [](SandboxWriter&) { ::write(7, "x", 1); },  // only the answer pipe is written
  };
  for (size_t i = 0; i < attempts.size(); ++i) {
    const std::string message = refusal(attempts[i]);
    EXPECT_TRUE(contains(message, "killed by its sandbox for a forbidden system call")) << i << ": " << message;
  }
}

// A reader led astray by a hostile file may fail with a message made of whatever memory it
// read: the refusal must still be text a terminal and Python can take (Python turned invalid
// UTF-8 into an empty message, and escape sequences would reach the user's terminal).
TEST(Sandbox, AChildsErrorMessageArrivesAsPrintableText) {
  static const char kSent[] = "bad \xff\xfe name \x1b[2J\x07 and \xc3\xa9t\xc3\xa9 \xe2\x89\xa4 \xed\xa0\x80 \xc0\xaf\x01 end";
  const std::string sent(kSent, sizeof kSent - 1);
  const std::string message = refusal([&](SandboxWriter&) { throw std::runtime_error(sent); });
  EXPECT_TRUE(contains(message, R"(bad \xff\xfe name \x1b[2J\x07 and )")) << message;
  EXPECT_TRUE(contains(message, "\xc3\xa9t\xc3\xa9 \xe2\x89\xa4 "));  // valid UTF-8 kept: été ≤
  EXPECT_TRUE(contains(message, R"(\xed\xa0\x80 \xc0\xaf\x01 end)")) << message;  // a surrogate, an overlong, a control byte
  for (const char c : message) {
    const auto byte = static_cast<unsigned char>(c);
    EXPECT_TRUE(byte >= 0x20 && byte != 0x7f) << "a control byte " << int(byte) << " in: " << message;
  }
}

TEST(Sandbox, ACrashIsARefusalNamingTheSignal) {
  const std::string message = refusal([](SandboxWriter&) { ::raise(SIGSEGV); });
  EXPECT_TRUE(contains(message, "test.h5: the test reader crashed on this file with signal 11 (SIGSEGV")) << message;
  EXPECT_TRUE(contains(refusal([](SandboxWriter&) { std::abort(); }), "signal 6 (SIGABRT"));
}

TEST(Sandbox, ASpinningChildIsStoppedAtItsCpuLimit) {
  const std::string message = refusal([](SandboxWriter&) {
    volatile uint64_t count = 0;
    for (;;) count = count + 1;
  });
  EXPECT_TRUE(contains(message, "test.h5: the test reader used more than 1 s of CPU time and was stopped")) << message;
}

TEST(Sandbox, AStuckChildIsKilledAtTheDeadline) {
  SandboxLimits limits = quick();
  limits.wall_seconds = 1;
  const std::string message = refusal([](SandboxWriter&) { wait_forever(); }, [](SandboxReader&) {}, limits);
  EXPECT_TRUE(contains(message, "test.h5: the test reader took more than 1 s and was stopped")) << message;
}

TEST(Sandbox, AChildPastItsMemoryLimitIsRefused) {
  // 64 MiB allowed; it asks for 1 GiB, touched page by page.
  SandboxLimits limits = quick();
  limits.memory_bytes = 64 << 20;
  const std::string message = refusal(
      [](SandboxWriter&) {
        std::vector<char> big(size_t{1} << 30);
        for (size_t i = 0; i < big.size(); i += 4096) big[i] = 1;
      },
      [](SandboxReader&) {}, limits);
#ifdef CITADEL_SANITIZED_BUILD
  // ASan's allocator dies on the failed mapping instead of throwing bad_alloc.
  EXPECT_FALSE(message.empty());
#else
  EXPECT_TRUE(contains(message, "test.h5: the test reader needed more memory than its limit (64 MiB)")) << message;
#endif
}

TEST(Sandbox, TheParentTakesNoMoreThanItExpects) {
  // A frame longer than expected is refused from its header, before its payload is read.
  std::string message = refusal([](SandboxWriter& out) { out.frame('T', std::string(1 << 20, 'x')); },
                                [](SandboxReader& in) { in.expect('T', 16); });
  EXPECT_TRUE(contains(message, "answers with a frame 'T' of 1048576 bytes where at most 16 were expected")) << message;
  // A frame of another kind, and an answer that goes on after its end.
  message = refusal([](SandboxWriter& out) { out.frame('X', "abcd"); }, [](SandboxReader& in) { in.expect('T', 4); });
  EXPECT_TRUE(contains(message, "where a frame 'T' of 4 was expected")) << message;
  message = refusal([](SandboxWriter& out) { out.frame('D', ""); });
  EXPECT_TRUE(contains(message, "says more than it was asked")) << message;
  // An answer cut short by the child's exit.
  message = refusal([](SandboxWriter& out) {
    out.frame('T', "ab");
    ::_exit(0);
  }, [](SandboxReader& in) {
    in.expect('T', 2);
    in.text(2);
    in.expect('T', 2);
  });
  EXPECT_TRUE(contains(message, "without a complete answer")) << message;
}

// The child's confinement seen from outside, in /proc while it waits: the answer pipe is
// its only descriptor (with stderr under the sanitizers), its limits are set, the filter
// and no-new-privileges are on.
TEST(Sandbox, TheChildHoldsOnlyItsPipeUnderItsLimitsAndFilter) {
  const int kept = ::open("/etc/hostname", O_RDONLY);  // a descriptor the parent holds
  ASSERT_GE(kept, 0);
  std::vector<std::string> descriptors;
  std::string limits_text, status_text;
  SandboxLimits limits = quick();
  limits.wall_seconds = 2;
  const std::string message = refusal(
      [](SandboxWriter& out) {
        send_value(out, ::getpid());
        wait_forever();
      },
      [&](SandboxReader& in) {
        int64_t child = 0;
        read_value(child)(in);
        const fs::path proc = "/proc/" + std::to_string(child);
        for (const auto& entry : fs::directory_iterator(proc / "fd")) descriptors.push_back(entry.path().filename());
        std::ifstream limits_file(proc / "limits"), status_file(proc / "status");
        std::stringstream a, b;
        a << limits_file.rdbuf();
        b << status_file.rdbuf();
        limits_text = a.str();
        status_text = b.str();
      },
      limits);
  ::close(kept);
  EXPECT_TRUE(contains(message, "took more than 2 s")) << message;
  std::sort(descriptors.begin(), descriptors.end());
#ifdef CITADEL_SANITIZED_BUILD
  EXPECT_EQ(descriptors, (std::vector<std::string>{"2", "3"}));
#else
  EXPECT_EQ(descriptors, (std::vector<std::string>{"3"}));
#endif
  EXPECT_TRUE(contains(status_text, "Seccomp:\t2")) << status_text;
  EXPECT_TRUE(contains(status_text, "NoNewPrivs:\t1")) << status_text;
  auto limit_line = [&](const std::string& name) {
    const size_t at = limits_text.find(name);
    return at == std::string::npos ? std::string() : limits_text.substr(at, limits_text.find('\n', at) - at);
  };
  EXPECT_TRUE(contains(limit_line("Max cpu time"), "1                    2")) << limit_line("Max cpu time");
  EXPECT_TRUE(contains(limit_line("Max file size"), "0                    0")) << limit_line("Max file size");
  EXPECT_TRUE(contains(limit_line("Max open files"), "4                    4")) << limit_line("Max open files");
  EXPECT_TRUE(contains(limit_line("Max core file size"), "0                    0"));
#ifndef CITADEL_SANITIZED_BUILD
  EXPECT_FALSE(contains(limit_line("Max address space"), "unlimited")) << limit_line("Max address space");
#else
  EXPECT_FALSE(contains(limit_line("Max data size"), "unlimited")) << limit_line("Max data size");
#endif
}

TEST(Sandbox, ThreadsOfTheParentKeepRunningAndManyChildrenCanRunAtOnce) {
  // Four threads each run sandboxed work while a fifth allocates: every answer arrives.
  std::atomic<bool> stop{false};
  std::thread busy([&] {
    while (!stop) std::vector<int> churn(1000, 1);
  });
  std::vector<std::thread> threads;
  std::atomic<int> answered{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        int64_t value = 0;
        if (refusal([t, i](SandboxWriter& out) { send_value(out, t * 100 + i); }, read_value(value)).empty() &&
            value == t * 100 + i)
          ++answered;
      }
    });
  for (auto& thread : threads) thread.join();
  stop = true;
  busy.join();
  EXPECT_EQ(answered, 20);
}

}  // namespace
}  // namespace sandbox_test
}  // namespace citadel::detail
