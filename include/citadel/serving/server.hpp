// `citadel serve`'s HTTP server: the KServe v2 REST endpoints over Boost.Beast, with
// authentication, per-token rate limits and budgets, output policies, limits on every part
// of a request (header and body sizes, read deadlines, connections in total and per client
// address, rows, JSON depth and elements), /metrics, and reloading.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "citadel/serving/access_control.hpp"
#include "citadel/serving/extraction_monitor.hpp"
#include "citadel/serving/inference_protocol.hpp"
#include "citadel/serving/token_store.hpp"

namespace citadel::serving {

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8000;  // 0: any free port (start() says which)
  // Serving threads: each an event loop that reads, decodes, predicts and answers the
  // connections it is given (new ones go to the one with fewest); requests of more than
  // max_batch_rows rows predict on a pool of as many threads instead, so that no loop
  // stalls on one.
  int threads = 2;
  int threads_per_prediction = 1;  // the serving threads are the parallelism
  // Dynamic batching: requests for one model read together by one serving thread are
  // predicted in one pass, up to this many rows; each waits at most batch_delay for others
  // (0: only for those read in the same turn of the loop, so a lone request is never held back).
  int64_t max_batch_rows = 64;
  std::chrono::microseconds batch_delay{0};
  size_t max_body_bytes = size_t{4} << 20;
  // Request bodies held at once, all connections together: a body's share is reserved on its
  // header (its Content-Length, or max_body_bytes when chunked), and a request that finds no
  // room is answered 503 with Retry-After without being read. 0: 8 × max_body_bytes.
  size_t max_body_memory = 0;
  uint32_t max_header_bytes = 16 << 10;
  // When max_connections are open (or max_connections − reserved_connections that have not
  // presented a valid token), a new connection sheds the waiting one that has sent the least
  // of a request for the longest; it is refused (503) only when none can be shed.
  // reserved_connections < 0: a quarter of max_connections.
  int max_connections = 4096;
  int reserved_connections = -1;
  int max_connections_per_address = 64;
  std::chrono::milliseconds header_timeout{10'000};  // to receive a request's header (slowloris)
  std::chrono::milliseconds body_timeout{30'000};    // to receive its body, and to send the answer
  // A kept-alive connection between requests; once the next request's first byte arrives,
  // its header has header_timeout.
  std::chrono::milliseconds idle_timeout{30'000};
  // A request predicted on the pool (more than max_batch_rows rows) is answered 504 once
  // this has passed since it was admitted, and is not computed if it has not started by then.
  std::chrono::milliseconds compute_timeout{30'000};
  RequestLimits limits = {};
  bool log_requests = true;  // one JSON line per request on stderr (never the token)
  // Extraction monitoring per token and model (nullopt: off); an alarm is logged and
  // counted, and with `block_on_alarm` the token is refused that model (403) from then on.
  std::optional<ExtractionMonitorOptions> extraction_monitor = ExtractionMonitorOptions{};
  bool block_on_alarm = false;
  // HTTPS: a PEM certificate chain and its private key (both empty: plain HTTP). TLS 1.2
  // and 1.3 only; a client that does not complete the handshake in header_timeout is cut.
  std::string tls_certificate, tls_private_key;
};

// Loads (and verifies) a model file again for reload(): name, path, output policy.
using ModelLoader = std::function<ServedModel(const std::string&, const std::string&, const OutputPolicy&)>;

class Server {
 public:
  // `tokens` nullopt: no authentication (the caller binds to loopback only). `usage_path`:
  // where budgets are kept across restarts ("" keeps them in memory). `loader`: how
  // reload() reads a model file (empty: reload does nothing).
  Server(std::vector<ServedModel> models, std::optional<TokenStore> tokens, std::string usage_path,
         ServerOptions options, ModelLoader loader = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts serving on background threads; returns the port.
  uint16_t start();
  // Stops accepting, lets requests in flight finish (up to 10 s), saves the usage, joins.
  // (A budget's reservations are on disk before their answers go, whether or not stop() runs.)
  void stop();
  // Loads every model file again; each replaces the one serving only once it loaded and
  // verified, and requests already holding the old one finish with it. Returns the names
  // that failed (they keep serving what they served). SIGHUP calls it.
  std::vector<std::string> reload();
  // start() (then `on_listening(port)`), serve until SIGINT or SIGTERM (SIGHUP reloads),
  // then stop().
  void run_until_signalled(const std::function<void(uint16_t)>& on_listening = {});

  class Impl;  // in src/serving/server.cpp

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace citadel::serving
