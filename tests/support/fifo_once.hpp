// A named pipe that hands a file's bytes to its first reader only: a loader that opened the
// file twice (once to verify, once to parse) would see nothing the second time.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

namespace testkit {

// Writes `bytes` to the FIFO at `pipe` once a reader has opened it (waiting up to 20 s);
// join the thread after the reader is done.
inline std::thread serve_bytes_once(std::string pipe, std::string bytes) {
  return std::thread([pipe = std::move(pipe), bytes = std::move(bytes)] {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    int fd = -1;
    while (fd < 0 && std::chrono::steady_clock::now() < deadline) {
      fd = ::open(pipe.c_str(), O_WRONLY | O_NONBLOCK);
      if (fd < 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (fd < 0) return;
    ::fcntl(fd, F_SETFL, 0);
    for (size_t done = 0; done < bytes.size();) {
      const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
      if (n <= 0) break;
      done += size_t(n);
    }
    ::close(fd);
  });
}

}  // namespace testkit
