// The server's parts, shared by its sources: what a request resolved to, the table of
// served models (replaced whole on reload), the metrics, connection bookkeeping, the
// server itself and one connection's session.
#pragma once

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "citadel/serving/server.hpp"
#include "connection_table.hpp"
#include "prediction_batcher.hpp"

namespace citadel::serving {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Request = http::request<http::string_body>;

std::string error_json(const std::string& message);

// Gives the calling thread's free memory back to the system (mimalloc's collection when the
// program uses mimalloc, else malloc_trim): run on each serving thread after a load.
void return_free_memory();

// The TLS context of options.tls_certificate and tls_private_key: TLS 1.2 or later, the key
// checked against the certificate; ValueError naming the file that fails.
std::unique_ptr<net::ssl::context> tls_context(const ServerOptions& options);

// What a request resolved to, for the response, the log line and the metrics.
struct Outcome {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::string token = "-", model = "-", rejection;
  int64_t rows = 0;
  int64_t compute_rows = 0;  // rows the model predicts: `rows`, or rows × N when smoothed (loop or pool)
  // --strip: rows screened, and those flagged (0-based) with their entropies, for the metrics
  // and the log (never the answer: the entropies would guide an adaptive trigger).
  int64_t strip_checked = 0;
  std::vector<int64_t> strip_flagged;
  std::vector<double> strip_entropy;
  std::vector<double> strip_threshold;  // per flagged row: its predicted class's threshold
  // --watermark: rows answered watermarked, and why a selected row was not (its log failing)
  int64_t watermarked = 0;
  std::string watermark_error;
  int retry_after = 0;
  bool unauthorized = false;
  std::optional<size_t> inference_header_length;  // a binary body: the JSON header's bytes
  std::optional<double> extraction_alarm;  // raised by this request: the W that raised it
  uint64_t durable_ticket = 0;  // its rows' reservation in the usage journal: answered once on disk
};
Outcome answer(const std::string& body);
// An admitted inference's work: encoding its rows, predicting them with `batcher` (in a
// batch, or `alone` at once), answering. It calls `finish` once with the answer, on the
// thread that predicted.
using Finish = std::function<void(Outcome)>;
using Compute = std::function<void(PredictionBatcher& batcher, bool alone, const Finish&)>;
Outcome failure(int status, const std::string& message, const std::string& rejection);

// The served models by name. A request holds its model by shared_ptr, so a reload that
// replaces it never pulls it from under a prediction.
class ModelTable {
 public:
  explicit ModelTable(std::vector<ServedModel> models);
  std::shared_ptr<const ServedModel> find(const std::string& name) const;
  std::vector<std::shared_ptr<const ServedModel>> all() const;
  void replace(std::shared_ptr<const ServedModel> model);

 private:
  mutable std::shared_mutex mutex_;
  std::map<std::string, std::shared_ptr<const ServedModel>> models_;
};

// Prometheus counters and histograms with bounded labels only: model names (the
// operator's), status codes, rejection reasons — never tokens or request data.
class Metrics {
 public:
  // What the page shows besides the counters: the server's state now.
  struct Gauges {
    int open_connections = 0;
    int64_t body_bytes_in_flight = 0;
    AccessControl::JournalCounts journal;
  };
  void record(const std::string& model, int status, const std::string& rejection, double seconds);
  void record_rejection(const std::string& reason, int64_t count = 1);  // refusals that are not answers
  void record_reload(bool ok);
  void record_extraction_alarm(const std::string& model);
  void record_batch(const std::string& model, int64_t requests);
  void record_strip(const std::string& model, int64_t checked, int64_t flagged);
  std::string text(const ModelTable& models, const Gauges& gauges) const;

 private:
  static constexpr double kBuckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5};
  struct Histogram {
    std::vector<int64_t> counts = std::vector<int64_t>(std::size(kBuckets), 0);
    double sum = 0;
    int64_t count = 0;
  };
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, int64_t> requests_;
  std::map<std::string, int64_t> rejections_;
  std::map<std::string, Histogram> latency_;
  int64_t reloads_ok_ = 0, reloads_failed_ = 0;
  std::map<std::string, int64_t> extraction_alarms_;
  std::map<std::string, std::pair<int64_t, int64_t>> batches_;  // model: batches, requests in them
  std::map<std::string, std::pair<int64_t, int64_t>> strip_rows_;  // model: rows passed, rows flagged
};

// A serving thread: an event loop of its own that reads, decodes, predicts (in batches, on
// this thread) and answers the connections it was given. Nothing passes between threads
// on a request's way unless it is too large to batch.
struct EventLoop {
  EventLoop(int64_t max_batch_rows, std::chrono::microseconds batch_delay, PredictionBatcher::BatchObserver observe)
      : io(1), batcher(io.get_executor(), max_batch_rows, batch_delay, std::move(observe)) {}
  // In this order: sessions that die with the batcher's queues or the io_context's handlers
  // still count themselves out here, and their sockets leave a reactor that still exists.
  std::atomic<int> connections{0};  // sessions on this loop, to give a new one to the least busy
  net::io_context io;  // run by one thread only
  // Keeps run() running while the loop has no connection yet (stop() stops it).
  net::executor_work_guard<net::io_context::executor_type> keep_running = net::make_work_guard(io);
  PredictionBatcher batcher;
  std::thread thread;
};

// What a request's header alone decides, before any of its body is read.
struct HeaderVerdict {
  std::optional<Outcome> refusal;  // answered at once; the connection then closes, its body unread
  const TokenRecord* token = nullptr;  // the valid token it presented (null: none, or none needed)
  bool authenticated = false;  // a token passed (or the server needs none): the connection leaves the shed-first share
};

class Server::Impl {
 public:
  Impl(std::vector<ServedModel> models, std::optional<TokenStore> tokens, std::string usage_path,
       ServerOptions options, ModelLoader loader);

  uint16_t start();
  void stop();
  void run_until_signalled(const std::function<void(uint16_t)>& on_listening);
  std::vector<std::string> reload();

  // --- for sessions ---
  const ServerOptions& options() const { return options_; }
  net::ssl::context* tls() { return tls_.get(); }  // null: plain HTTP
  net::thread_pool& large_requests() { return large_requests_; }
  bool stopping() const { return stopped_; }
  void begin_request();
  void end_request();
  ConnectionTable& connections() { return connections_; }
  void connection_closed();
  std::chrono::milliseconds failed_auth_delay(const std::string& address);
  // Framing, encoding, token, expectation and size, on the header alone.
  HeaderVerdict screen_header(const http::request_header<>& header, const std::string& address);
  // A body's share of the memory for bodies in flight (options.max_body_memory in all);
  // false when it is not there now (the request is answered 503 with Retry-After).
  bool reserve_body(size_t bytes);
  void release_body(size_t bytes);
  // Everything after the header up to the computation; `compute` is set for an admitted
  // inference. `token`: the header's verdict.
  Outcome route(const Request& request, const std::string& address, const TokenRecord* token, Compute& compute);
  // Calls `done(ok)` once the outcome's budget reservation is on disk.
  void when_durable(uint64_t ticket, std::function<void(bool)> done) { access_.when_durable(ticket, std::move(done)); }
  void finished(const Outcome& outcome, const std::string& address, const std::string& target, double milliseconds);

 private:
  void accept();
  void serve_on_least_busy_loop(tcp::socket socket, std::shared_ptr<ConnectionState> connection);
  void refuse_connection(tcp::socket socket);
  void return_memory_after_load();
  void forget_failures(const std::string& address);
  Outcome metrics_page(const Request& request);

  // Declared before io_: sessions the io_context still holds when it is destroyed give
  // their connections back here.
  std::mutex address_mutex_;
  std::map<std::string, int> auth_failures_;
  ConnectionTable connections_;
  std::mutex flight_mutex_;
  std::condition_variable flight_done_;
  int in_flight_ = 0;
  std::atomic<int64_t> body_bytes_in_flight_{0};
  // Since the last purge: body bytes released and connections closed (a purge follows a load).
  std::atomic<int64_t> released_since_purge_{0}, closed_since_purge_{0};
  ModelTable models_;
  Metrics metrics_;
  std::optional<TokenStore> tokens_;
  AccessControl access_;
  ServerOptions options_;
  ModelLoader loader_;
  std::unique_ptr<ExtractionMonitor> monitor_;  // null when monitoring is off
  std::unique_ptr<net::ssl::context> tls_;      // null without --tls-cert
  // Declared after what sessions use: a loop's io_context destroys the sessions it holds.
  std::vector<std::unique_ptr<EventLoop>> loops_;
  net::io_context& io_;  // the first loop's: it accepts, and catches the signals
  tcp::acceptor acceptor_;
  net::steady_timer accept_pause_;  // out of descriptors: accepting again after a pause
  net::steady_timer purge_timer_;   // each second: give memory back after a load
  net::thread_pool large_requests_;  // predictions of more than max_batch_rows rows
  uint16_t port_ = 0;
  std::atomic<bool> stopped_{false};
};

// One connection: requests read and answered in turn (keep-alive), each under deadlines;
// over plain TCP or, after a handshake under the header deadline, over TLS.
template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  Session(tcp::socket socket, Server::Impl& server, EventLoop& loop, std::shared_ptr<ConnectionState> connection);
  ~Session();
  void start();

 private:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }
  void wait_for_request(bool kept_alive);
  void read_header_bytes();
  void on_header_bytes(size_t length);
  void read_body();
  void handle();
  void reject(int status, const std::string& message, const std::string& reason);
  void refuse(Outcome outcome);
  void respond(Outcome outcome);
  void release_body();
  void close_after_answer();
  void drain();
  void close();
  void shed();

  Stream stream_;
  beast::flat_buffer buffer_;  // bytes received and not yet parsed (a header, a body, a pipelined request)
  size_t scanned_ = 0;         // of the header in buffer_, by scan_header
  bool header_clock_ = false;  // the header deadline runs (from the first byte of a kept-alive request)
  std::optional<http::request_parser<http::string_body>> parser_;
  Server::Impl& server_;
  EventLoop& loop_;
  std::shared_ptr<ConnectionState> connection_;
  std::string target_;
  const TokenRecord* token_ = nullptr;  // the current request's, from its header
  size_t body_reserved_ = 0;  // its body's share of the memory for bodies in flight
  bool keep_alive_ = true, must_close_ = false, closing_ = false;
  bool answering_ = false;  // a request counted in flight until its answer is written
  int drained_ = 0;         // reads dropped while closing
  uint64_t requests_ = 0, awaiting_ = 0;  // requests sent to the pool; the one whose answer is awaited (0: none)
  std::shared_ptr<net::steady_timer> compute_timer_;  // that one's compute deadline
  unsigned version_ = 11;
  std::chrono::steady_clock::time_point started_;
};
using PlainSession = Session<beast::tcp_stream>;
using TlsSession = Session<beast::ssl_stream<beast::tcp_stream>>;

}  // namespace citadel::serving
