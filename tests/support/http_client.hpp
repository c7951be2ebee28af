// A raw HTTP/1.1 client over loopback for the server tests: sends exactly the bytes given
// (well formed or hostile) and reads the answer, both bounded in time.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <string>

namespace citadel::testkit {

struct HttpAnswer {
  int status = 0;  // 0: no answer (closed or timed out)
  std::string head, body;
  std::string header(const std::string& name) const {
    const std::string key = "\r\n" + name + ": ";
    const size_t at = head.find(key);
    if (at == std::string::npos) return "";
    const size_t start = at + key.size();
    return head.substr(start, head.find("\r\n", start) - start);
  }
};

// A connected socket to 127.0.0.1:port, from `source` (another loopback address stands for
// another client); -1 on failure.
inline int connect_loopback(uint16_t port, const char* source = "127.0.0.1") {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in from{};
  from.sin_family = AF_INET;
  ::inet_pton(AF_INET, source, &from.sin_addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0) return ::close(fd), -1;
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) return ::close(fd), -1;
  return fd;
}

inline bool send_all(int fd, const std::string& bytes) {
  for (size_t sent = 0; sent < bytes.size();) {
    const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

// Reads one answer (head, then Content-Length bytes) within `timeout`.
inline HttpAnswer read_answer(int fd, std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string data;
  HttpAnswer answer;
  size_t head_end = std::string::npos, length = 0;
  while (true) {
    if (head_end == std::string::npos && (head_end = data.find("\r\n\r\n")) != std::string::npos) {
      answer.head = data.substr(0, head_end);
      if (answer.head.size() > 12) answer.status = std::stoi(answer.head.substr(9, 3));
      const std::string value = answer.header("Content-Length");
      length = value.empty() ? 0 : std::stoul(value);
    }
    if (head_end != std::string::npos && data.size() >= head_end + 4 + length) {
      answer.body = data.substr(head_end + 4, length);
      return answer;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return {};
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return {};
    char buffer[65536];
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) return head_end == std::string::npos ? HttpAnswer{} : answer;
    data.append(buffer, static_cast<size_t>(n));
  }
}

// After an answer: true when the server closes the connection within `timeout` and sends
// nothing more (no answer to bytes that followed the request).
inline bool closes_without_more(int fd, std::chrono::milliseconds timeout = std::chrono::milliseconds(3000)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char byte;
    const ssize_t n = ::recv(fd, &byte, 1, 0);
    if (n == 0 || (n < 0 && errno == ECONNRESET)) return true;
    if (n > 0) return false;
  }
}

// One request on a fresh connection.
inline HttpAnswer http_exchange(uint16_t port, const std::string& request, const char* source = "127.0.0.1") {
  const int fd = connect_loopback(port, source);
  if (fd < 0) return {};
  HttpAnswer answer = send_all(fd, request) ? read_answer(fd) : HttpAnswer{};
  ::close(fd);
  return answer;
}

// A well-formed request with a JSON body and an optional bearer token.
inline std::string http_request(const std::string& method, const std::string& target, const std::string& body = "",
                                const std::string& token = "") {
  std::string request = method + " " + target + " HTTP/1.1\r\nHost: localhost\r\n";
  if (!token.empty()) request += "Authorization: Bearer " + token + "\r\n";
  if (!body.empty() || method == "POST")
    request += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  return request + "\r\n" + body;
}

}  // namespace citadel::testkit
