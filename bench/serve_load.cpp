// An open-loop HTTP/1.1 load driver for bench/serve: requests are due at a fixed rate, each
// is sent on the first free keep-alive connection (at most --connections open), and its
// latency runs from the time it was due, not from when a connection freed up, so a server
// that falls behind shows it in the tail instead of hiding it (coordinated omission).
// It shares the machine with the server it drives, so it costs as little as it can: epoll
// (only sockets that are ready are touched), a stack of free connections, one send per
// request where the socket takes it whole.
//
//   serve_load --port P --target /v2/models/m/infer --body FILE [--token T]
//              [--header "Name: value"]... --rate R --seconds S [--connections C]
// Prints one JSON object: the rate asked and achieved, answers by status, latency
// percentiles in milliseconds.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <strings.h>
#include <sys/epoll.h>
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

// The value of header `name` (lower case, with its colon) in `head`, or npos.
size_t header_value(std::string_view head, std::string_view name) {
  for (size_t line = head.find("\r\n"); line != std::string_view::npos; line = head.find("\r\n", line + 2))
    if (head.size() - line - 2 >= name.size() && ::strncasecmp(head.data() + line + 2, name.data(), name.size()) == 0)
      return line + 2 + name.size();
  return std::string_view::npos;
}

// The status of a complete answer in `data`, its length and whether the server closes the
// connection after it; status 0 while incomplete.
int complete_answer(const std::string& data, size_t& length, bool& closes) {
  const size_t head_end = data.find("\r\n\r\n");
  if (head_end == std::string::npos) return 0;
  const std::string_view head(data.data(), head_end);
  size_t content_length = 0;
  if (const size_t at = header_value(head, "content-length:"); at != std::string_view::npos)
    content_length = std::strtoul(data.c_str() + at, nullptr, 10);
  if (data.size() < head_end + 4 + content_length) return 0;
  length = head_end + 4 + content_length;
  const size_t connection = header_value(head, "connection:");
  closes = connection != std::string_view::npos && head.substr(connection).find_first_not_of(' ') != std::string_view::npos &&
           ::strncasecmp(head.data() + head.find_first_not_of(' ', connection), "close", 5) == 0;
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

  const int poller = ::epoll_create1(0);
  std::vector<Connection> slots(static_cast<size_t>(max_connections));  // epoll's data is the slot's index
  std::vector<int> idle, unused;  // open connections with nothing to carry; slots without a connection
  for (int i = max_connections - 1; i >= 0; --i) unused.push_back(i);
  int busy = 0;
  std::deque<Clock::time_point> waiting;  // requests due with no free connection yet
  std::vector<double> latencies;
  latencies.reserve(static_cast<size_t>(rate * seconds) + 16);
  std::map<int, int64_t> statuses;
  int64_t connect_failures = 0;
  const auto start = Clock::now(), end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  const auto interval = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / rate));
  auto next_due = start;
  int64_t scheduled = 0;
  char buffer[1 << 16];
  auto drop = [&](int slot) {
    Connection& c = slots[size_t(slot)];
    ::epoll_ctl(poller, EPOLL_CTL_DEL, c.fd, nullptr);
    ::close(c.fd);
    if (c.busy) --busy;
    c = Connection{};
    unused.push_back(slot);
  };
  // Sends what the socket takes now; the rest goes when epoll says it is writable.
  auto push = [&](int slot) {
    Connection& c = slots[size_t(slot)];
    while (c.sent < request.size()) {
      const ssize_t n = ::send(c.fd, request.data() + c.sent, request.size() - c.sent, MSG_NOSIGNAL);
      if (n > 0) c.sent += size_t(n);
      else if (n < 0 && errno == EAGAIN) return true;
      else return false;
    }
    return true;
  };
  std::vector<int> broken;
  epoll_event events[256];
  while (true) {
    const auto now = Clock::now();
    while (next_due <= now && next_due < end) waiting.push_back(next_due), next_due += interval, ++scheduled;
    // Hand waiting requests to free connections, opening new ones up to the cap.
    while (!waiting.empty()) {
      int slot = -1;
      if (!idle.empty()) {
        slot = idle.back();
        idle.pop_back();
      } else if (!unused.empty()) {
        const int fd = connect_to(port);
        if (fd < 0) {
          ++connect_failures, waiting.pop_front();
          continue;
        }
        slot = unused.back();
        unused.pop_back();
        slots[size_t(slot)].fd = fd;
        epoll_event watch{};
        watch.events = EPOLLIN | EPOLLOUT | EPOLLET;  // registered once: edge-triggered, no re-arming
        watch.data.u32 = uint32_t(slot);
        ::epoll_ctl(poller, EPOLL_CTL_ADD, fd, &watch);
      } else {
        break;
      }
      Connection& c = slots[size_t(slot)];
      c.busy = true, c.due = waiting.front(), c.sent = 0, c.received.clear();
      ++busy;
      waiting.pop_front();
      if (!push(slot)) ++statuses[0], drop(slot);
    }
    if (now >= end && waiting.empty() && busy == 0) break;
    if (now >= end + std::chrono::seconds(10)) break;  // answers that never come are errors
    // Sleep until a socket is ready or the next request is due (to the microsecond: a
    // driver that spins would take the cores the server runs on).
    int64_t wait_ns = 50'000'000;
    if (next_due < end)
      wait_ns = std::clamp<int64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(next_due - Clock::now()).count(),
                                    0, 50'000'000);
    const timespec timeout{0, long(wait_ns)};
    const int ready = ::epoll_pwait2(poller, events, 256, &timeout, nullptr);
    broken.clear();
    for (int e = 0; e < ready; ++e) {
      const int slot = int(events[e].data.u32);
      Connection& c = slots[size_t(slot)];
      if (c.fd < 0 || !c.busy) continue;  // an edge on an idle connection: nothing to do
      if (c.sent < request.size()) {
        if (!push(slot)) broken.push_back(slot);
        continue;
      }
      while (true) {  // edge-triggered: read until the socket is empty
        const ssize_t n = ::recv(c.fd, buffer, sizeof buffer, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN)) {
          broken.push_back(slot);
          break;
        }
        if (n < 0) break;
        c.received.append(buffer, size_t(n));
        size_t length = 0;
        bool closes = false;
        if (const int status = complete_answer(c.received, length, closes); status != 0) {
          ++statuses[status];
          latencies.push_back(std::chrono::duration<double, std::milli>(Clock::now() - c.due).count());
          c.busy = false;
          --busy;
          // gunicorn's sync workers close after each answer; reconnected only when needed: an
          // idle open connection would hold a sync worker.
          if (closes) drop(slot);
          else idle.push_back(slot);
          break;
        }
      }
    }
    for (const int slot : broken) {
      if (slots[size_t(slot)].fd < 0) continue;
      ++statuses[0];
      drop(slot);
    }
  }
  size_t open = 0;
  for (Connection& c : slots)
    if (c.fd >= 0) ::close(c.fd), ++open;
  ::close(poller);
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
              percentile(latencies, 0.999), latencies.empty() ? 0.0 : latencies.back(), open);
}
