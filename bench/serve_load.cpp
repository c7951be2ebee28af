// An open-loop HTTP/1.1 load driver for bench/serve: requests are due at a fixed rate, each
// is sent on the first free keep-alive connection (at most --connections open), and its
// latency runs from the time it was due, not from when a connection freed up, so a server
// that falls behind shows it in the tail instead of hiding it (coordinated omission).
//
//   serve_load --port P --target /v2/models/m/infer --body FILE [--token T]
//              [--header "Name: value"]... --rate R --seconds S [--connections C]
// Prints one JSON object: the rate asked and achieved, answers by status, latency
// percentiles in milliseconds.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Connection {
  int fd = -1;
  bool busy = false;
  Clock::time_point due;  // when the request it carries was due
  std::string received;
  size_t sent = 0;
};

int connect_to(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
    ::close(fd);
    return -1;
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ::fcntl(fd, F_SETFL, O_NONBLOCK);
  return fd;
}

// The status of a complete answer in `data`, and its length; 0 while incomplete.
int complete_answer(const std::string& data, size_t& length) {
  const size_t head_end = data.find("\r\n\r\n");
  if (head_end == std::string::npos) return 0;
  size_t content_length = 0;
  std::string head = data.substr(0, head_end);
  std::transform(head.begin(), head.end(), head.begin(), [](unsigned char c) { return std::tolower(c); });
  if (const size_t at = head.find("\r\ncontent-length:"); at != std::string::npos)
    content_length = std::strtoul(head.c_str() + at + 17, nullptr, 10);
  if (data.size() < head_end + 4 + content_length) return 0;
  length = head_end + 4 + content_length;
  return std::atoi(data.c_str() + 9);
}

double percentile(std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  return sorted[std::min(sorted.size() - 1, static_cast<size_t>(p * double(sorted.size())))];
}

}  // namespace

int main(int argc, char** argv) {
  uint16_t port = 8000;
  std::string target = "/", body_file, token;
  std::vector<std::string> headers;
  double rate = 100, seconds = 5;
  int max_connections = 32;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--port") port = static_cast<uint16_t>(std::atoi(value.c_str()));
    else if (flag == "--target") target = value;
    else if (flag == "--body") body_file = value;
    else if (flag == "--token") token = value;
    else if (flag == "--header") headers.push_back(value);
    else if (flag == "--rate") rate = std::atof(value.c_str());
    else if (flag == "--seconds") seconds = std::atof(value.c_str());
    else if (flag == "--connections") max_connections = std::atoi(value.c_str());
    else return std::fprintf(stderr, "serve_load: unknown option %s\n", flag.c_str()), 2;
  }
  if (!(rate > 0) || !(seconds > 0) || max_connections < 1)
    return std::fprintf(stderr, "serve_load: --rate, --seconds and --connections must be positive\n"), 2;
  std::ifstream in(body_file, std::ios::binary);
  std::stringstream body;
  body << in.rdbuf();
  std::string request = "POST " + target + " HTTP/1.1\r\nHost: localhost\r\n";
  if (!token.empty()) request += "Authorization: Bearer " + token + "\r\n";
  for (const std::string& h : headers) request += h + "\r\n";
  request += "Content-Length: " + std::to_string(body.str().size()) + "\r\n\r\n" + body.str();

  std::vector<Connection> pool;
  std::deque<Clock::time_point> waiting;  // requests due with no free connection yet
  std::vector<double> latencies;
  std::map<int, int64_t> statuses;
  int64_t connect_failures = 0;
  const auto start = Clock::now(), end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  const auto interval = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / rate));
  auto next_due = start;
  int64_t scheduled = 0;
  char buffer[1 << 16];
  while (true) {
    const auto now = Clock::now();
    while (next_due <= now && next_due < end) waiting.push_back(next_due), next_due += interval, ++scheduled;
    // Hand waiting requests to free connections, opening new ones up to the cap.
    while (!waiting.empty()) {
      Connection* free = nullptr;
      for (Connection& c : pool)
        if (!c.busy && c.fd >= 0) free = &c;
      if (free == nullptr && static_cast<int>(pool.size()) < max_connections) {
        Connection fresh;
        fresh.fd = connect_to(port);
        if (fresh.fd < 0) {
          ++connect_failures, waiting.pop_front();
          continue;
        }
        pool.push_back(fresh);
        free = &pool.back();
      }
      if (free == nullptr) break;
      free->busy = true, free->due = waiting.front(), free->sent = 0, free->received.clear();
      waiting.pop_front();
    }
    const bool all_idle = std::none_of(pool.begin(), pool.end(), [](const Connection& c) { return c.busy; });
    if (now >= end && waiting.empty() && all_idle) break;
    if (now >= end + std::chrono::seconds(10)) break;  // answers that never come are errors
    std::vector<pollfd> fds;
    for (Connection& c : pool)
      if (c.busy) fds.push_back({c.fd, short(c.sent < request.size() ? POLLOUT : POLLIN), 0});
    // Sleep until a socket is ready or the next request is due (to the microsecond: a
    // driver that spins would take the cores the server runs on).
    int64_t wait_us = 50'000;
    if (next_due < end)
      wait_us = std::clamp<int64_t>(
          std::chrono::duration_cast<std::chrono::microseconds>(next_due - Clock::now()).count(), 0, 50'000);
    const timespec timeout{0, long(wait_us * 1000)};
    ::ppoll(fds.data(), fds.size(), &timeout, nullptr);
    for (Connection& c : pool) {
      if (!c.busy) continue;
      if (c.sent < request.size()) {
        const ssize_t n = ::send(c.fd, request.data() + c.sent, request.size() - c.sent, MSG_NOSIGNAL);
        if (n > 0) c.sent += size_t(n);
        else if (n < 0 && errno != EAGAIN) goto broken;
        continue;
      }
      {
        const ssize_t n = ::recv(c.fd, buffer, sizeof buffer, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN)) goto broken;
        if (n < 0) continue;
        c.received.append(buffer, size_t(n));
        size_t length = 0;
        if (const int status = complete_answer(c.received, length); status != 0) {
          ++statuses[status];
          latencies.push_back(std::chrono::duration<double, std::milli>(Clock::now() - c.due).count());
          c.busy = false;
          std::string head = c.received.substr(0, length);
          std::transform(head.begin(), head.end(), head.begin(), [](unsigned char ch) { return std::tolower(ch); });
          if (head.find("\r\nconnection: close") != std::string::npos) {  // gunicorn's sync workers
            // Reconnected only when needed: an idle open connection would hold a sync worker.
            ::close(c.fd);
            c.fd = -1;
          }
        }
        continue;
      }
    broken:
      ++statuses[0];
      ::close(c.fd);
      c.fd = -1;
      c.busy = false;
    }
    pool.erase(std::remove_if(pool.begin(), pool.end(), [](const Connection& c) { return c.fd < 0; }), pool.end());
  }
  for (Connection& c : pool)
    if (c.fd >= 0) ::close(c.fd);
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::sort(latencies.begin(), latencies.end());
  int64_t ok = statuses[200], answered = 0;
  for (const auto& [status, count] : statuses) answered += count;
  std::printf("{\"rate\": %.1f, \"scheduled\": %lld, \"ok\": %lld, \"errors\": %lld, \"unanswered\": %lld, "
              "\"achieved\": %.1f, \"p50_ms\": %.3f, \"p90_ms\": %.3f, \"p99_ms\": %.3f, \"p999_ms\": %.3f, "
              "\"max_ms\": %.3f, \"connections\": %zu}\n",
              rate, static_cast<long long>(scheduled), static_cast<long long>(ok),
              static_cast<long long>(answered - ok + connect_failures),
              static_cast<long long>(scheduled - answered - connect_failures), double(ok) / elapsed,
              percentile(latencies, 0.5), percentile(latencies, 0.9), percentile(latencies, 0.99),
              percentile(latencies, 0.999), latencies.empty() ? 0.0 : latencies.back(), pool.size());
}
