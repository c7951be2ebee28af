// The server: an accept loop with connection caps, sessions that read a request's header
// and body under their own deadlines and limits, a router, and a pool of compute threads
// for predictions (I/O threads never predict).
#include "citadel/serving/server.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <atomic>
#include <condition_variable>
#include <future>
#include <cstdio>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "citadel/core/utc_time.hpp"
#include "citadel/version.hpp"

namespace citadel::serving {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Response = http::response<http::string_body>;

namespace {

std::string error_json(const std::string& message) { return nlohmann::json{{"error", message}}.dump(); }

// What a request resolved to, for the response and the log line.
struct Outcome {
  int status = 200;
  std::string body;
  std::string token = "-", model = "-", rejection;
  int64_t rows = 0;
  int retry_after = 0;
  bool unauthorized = false;
};

Outcome answer(const std::string& body) {
  Outcome o;
  o.body = body;
  return o;
}

Outcome failure(int status, const std::string& message, const std::string& rejection) {
  Outcome o;
  o.status = status;
  o.body = error_json(message);
  o.rejection = rejection;
  return o;
}

}  // namespace

class Server::Impl {
 public:
  Impl(std::vector<ServedModel> models, std::optional<TokenStore> tokens, std::string usage_path, ServerOptions options)
      : tokens_(std::move(tokens)),
        access_(std::move(usage_path)),
        options_(std::move(options)),
        acceptor_(io_),
        compute_(static_cast<size_t>(std::max(1, options_.compute_threads))),
        usage_timer_(io_) {
    for (ServedModel& m : models) {
      const std::string name = m.name;
      models_.emplace(name, std::move(m));
    }
  }

  uint16_t start() {
    const tcp::endpoint endpoint(net::ip::make_address(options_.host), options_.port);
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(net::socket_base::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen(net::socket_base::max_listen_connections);
    port_ = acceptor_.local_endpoint().port();
    accept();
    save_usage_periodically();
    for (int i = 0; i < std::max(1, options_.io_threads); ++i) threads_.emplace_back([this] { io_.run(); });
    return port_;
  }

  void stop() {
    if (stopped_.exchange(true)) return;
    net::post(io_, [this] {
      beast::error_code ignored;
      acceptor_.close(ignored);
    });
    {  // requests in flight finish first
      std::unique_lock lock(flight_mutex_);
      flight_done_.wait_for(lock, std::chrono::seconds(10), [this] { return in_flight_ == 0; });
    }
    io_.stop();
    for (std::thread& t : threads_) t.join();
    threads_.clear();
    compute_.join();
    access_.save_usage();
  }

  void run_until_signalled(const std::function<void(uint16_t)>& on_listening) {
    net::signal_set signals(io_, SIGINT, SIGTERM);
    std::promise<void> signalled;
    signals.async_wait([&](const beast::error_code&, int) { signalled.set_value(); });
    const uint16_t port = start();
    if (on_listening) on_listening(port);
    signalled.get_future().wait();
    stop();
  }

  // --- used by sessions ---
  const ServerOptions& options() const { return options_; }
  net::thread_pool& compute() { return compute_; }
  bool stopping() const { return stopped_; }

  void begin_request() {
    std::lock_guard lock(flight_mutex_);
    ++in_flight_;
  }
  void end_request() {
    std::lock_guard lock(flight_mutex_);
    if (--in_flight_ == 0) flight_done_.notify_all();
  }

  void release_connection(const std::string& address) {
    std::lock_guard lock(address_mutex_);
    --connections_;
    if (--per_address_[address] == 0) per_address_.erase(address);
  }

  // The delay before a 401: doubling per recent failure from this address, at most 1 s.
  std::chrono::milliseconds failed_auth_delay(const std::string& address) {
    std::lock_guard lock(address_mutex_);
    const int failures = std::min(++auth_failures_[address], 6);
    if (auth_failures_.size() > 10'000) auth_failures_.clear();  // bounded memory
    return std::chrono::milliseconds(std::min(1000, 15 << failures));
  }
  void forget_failures(const std::string& address) {
    std::lock_guard lock(address_mutex_);
    auth_failures_.erase(address);
  }

  // Everything up to the computation; `compute` is set for an admitted inference.
  Outcome route(const http::request<http::string_body>& request, const std::string& address,
                std::function<Outcome()>& compute) {
    const std::string target(request.target());
    const bool get = request.method() == http::verb::get, post = request.method() == http::verb::post;
    if (target == "/v2/health/live") {
      if (!get) return failure(405, "use GET", "method");
      return answer(R"({"live":true})");
    }
    if (target == "/v2/health/ready") {
      if (!get) return failure(405, "use GET", "method");
      if (stopping()) return failure(503, "shutting down", "not_ready");
      return answer(R"({"ready":true})");
    }
    // Everything else needs a token (unless serving without authentication).
    const TokenRecord* token = nullptr;
    if (tokens_) {
      const auto header = request.find(http::field::authorization);
      const std::string_view value = header == request.end() ? std::string_view() : std::string_view(header->value());
      if (value.size() > 7 && value.substr(0, 7) == "Bearer ") token = tokens_->authenticate(value.substr(7));
      if (token == nullptr) {
        Outcome o = failure(401, header == request.end() ? "an Authorization: Bearer token is required"
                                                         : "the token is not valid (unknown or revoked)",
                            "auth");
        o.unauthorized = true;
        return o;
      }
      forget_failures(address);
    }
    Outcome o;
    o.token = token ? token->name : "-";
    if (target == "/v2") {
      if (!get) return failure(405, "use GET", "method");
      nlohmann::json models = nlohmann::json::array();
      for (const auto& [name, m] : models_) models.push_back(name);
      o.body = nlohmann::json{{"name", "citadel"}, {"version", kVersion}, {"extensions", nlohmann::json::array()},
                              {"models", models}}.dump();
      return o;
    }
    const std::string prefix = "/v2/models/";
    if (target.rfind(prefix, 0) != 0) return failure(404, "no such endpoint: " + target.substr(0, 200), "not_found");
    std::string rest = target.substr(prefix.size()), action;
    if (const size_t slash = rest.find('/'); slash != std::string::npos) {
      action = rest.substr(slash + 1);
      rest = rest.substr(0, slash);
    }
    const auto found = models_.find(rest);
    if (found == models_.end()) return failure(404, "no model named '" + rest.substr(0, 100) + "'", "not_found");
    const ServedModel& served = found->second;
    o.model = served.name;
    if (action.empty() || action == "ready") {
      if (!get) return failure(405, "use GET", "method");
      o.body = action.empty() ? model_metadata_json(served)
                              : nlohmann::json{{"name", served.name}, {"ready", true}}.dump();
      return o;
    }
    if (action != "infer") return failure(404, "no such endpoint: " + target.substr(0, 200), "not_found");
    if (!post) return failure(405, "use POST", "method");
    if (const auto type = request.find(http::field::content_type);
        type != request.end() && std::string_view(type->value()).rfind("application/json", 0) != 0)
      return failure(415, "send the request as application/json", "media_type");
    try {
      auto decoded = std::make_shared<InferRequest>(decode_infer_request(request.body(), served, options_.limits));
      o.rows = decoded->rows;
      if (token != nullptr) {
        const Admission admission = access_.admit(*token, decoded->rows);
        if (!admission.allowed) {
          Outcome refused = failure(429, admission.message, admission.reason);
          refused.token = o.token, refused.model = o.model, refused.rows = o.rows;
          refused.retry_after = admission.retry_after_seconds;
          return refused;
        }
      }
      compute = [&served, decoded, o]() mutable {
        try {
          o.body = infer_response_json(*decoded, served);
        } catch (const RequestError& e) {
          o.status = e.status(), o.body = error_json(e.what()), o.rejection = "input";
        } catch (const std::exception& e) {
          o.status = 500, o.body = error_json(std::string("prediction failed: ") + e.what()), o.rejection = "error";
        }
        return o;
      };
      return o;
    } catch (const RequestError& e) {
      Outcome refused = failure(e.status(), e.what(), e.status() == 413 ? "rows" : "input");
      refused.token = o.token, refused.model = o.model;
      return refused;
    }
  }

  void log(const Outcome& o, const std::string& address, const std::string& target, double milliseconds) {
    if (!options_.log_requests) return;
    const std::string line = nlohmann::json{{"time", utc_timestamp()}, {"client", address},
                                            {"target", target.substr(0, 200)}, {"token", o.token},
                                            {"model", o.model}, {"rows", o.rows}, {"status", o.status},
                                            {"rejection", o.rejection}, {"ms", milliseconds}}.dump();
    std::fprintf(stderr, "%s\n", line.c_str());
  }

 private:
  void accept();
  void save_usage_periodically() {
    usage_timer_.expires_after(std::chrono::seconds(1));
    usage_timer_.async_wait([this](const beast::error_code& ec) {
      if (ec) return;
      try {
        access_.save_usage();
      } catch (const std::exception& e) {
        std::fprintf(stderr, "serve: could not save the usage: %s\n", e.what());
      }
      save_usage_periodically();
    });
  }

  // Declared before io_: sessions the io_context still holds when it is destroyed give
  // their connections back here.
  std::mutex address_mutex_;
  int connections_ = 0;
  std::map<std::string, int> per_address_;
  std::map<std::string, int> auth_failures_;
  std::map<std::string, ServedModel> models_;
  std::optional<TokenStore> tokens_;
  AccessControl access_;
  ServerOptions options_;
  net::io_context io_;
  tcp::acceptor acceptor_;
  net::thread_pool compute_;
  net::steady_timer usage_timer_;
  std::vector<std::thread> threads_;
  uint16_t port_ = 0;
  std::atomic<bool> stopped_{false};
  std::mutex flight_mutex_;
  std::condition_variable flight_done_;
  int in_flight_ = 0;


 public:
  bool admit_connection(const std::string& address) {
    std::lock_guard lock(address_mutex_);
    if (connections_ >= options_.max_connections || per_address_[address] >= options_.max_connections_per_address) {
      if (per_address_[address] == 0) per_address_.erase(address);
      return false;
    }
    ++connections_;
    ++per_address_[address];
    return true;
  }
};

// One connection: requests read and answered in turn (keep-alive), each under deadlines.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Server::Impl& server, std::string address)
      : stream_(std::move(socket)), server_(server), address_(std::move(address)) {}
  ~Session() { server_.release_connection(address_); }

  void start() { read_header(server_.options().header_timeout); }

 private:
  void read_header(std::chrono::milliseconds deadline) {
    parser_.emplace();
    parser_->header_limit(server_.options().max_header_bytes);
    parser_->body_limit(server_.options().max_body_bytes);
    stream_.expires_after(deadline);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = shared_from_this()](beast::error_code ec, size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == net::error::operation_aborted ||
        ec == net::error::connection_reset || ec == net::error::eof)
      return close();
    if (ec == http::error::header_limit) return reject(431, "the request header is larger than allowed", "header_limit");
    if (ec == http::error::body_limit) return reject(413, "the request body is larger than allowed", "body_limit");
    if (ec) return reject(400, std::string("malformed request: ") + ec.message(), "malformed");
    const auto& request = parser_->get();
    if (request.count(http::field::content_length) && request.count(http::field::transfer_encoding))
      return reject(400, "Content-Length together with Transfer-Encoding is refused", "malformed");
    if (request.count(http::field::content_encoding))
      return reject(415, "Content-Encoding is not accepted; send the body uncompressed", "media_type");
    if (parser_->is_done()) return handle();
    stream_.expires_after(server_.options().body_timeout);
    http::async_read(stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code body_error, size_t) {
      if (body_error == http::error::body_limit)
        return self->reject(413, "the request body is larger than allowed", "body_limit");
      if (body_error == beast::error::timeout) return self->reject(408, "the request body took too long", "timeout");
      if (body_error == http::error::end_of_stream || body_error == net::error::eof ||
          body_error == net::error::connection_reset)
        return self->close();
      if (body_error) return self->reject(400, "malformed body: " + body_error.message(), "malformed");
      self->handle();
    });
  }

  void handle() {
    started_ = std::chrono::steady_clock::now();
    const auto& request = parser_->get();
    target_ = std::string(request.target());
    keep_alive_ = request.keep_alive();
    version_ = request.version();
    std::function<Outcome()> compute;
    Outcome outcome = server_.route(request, address_, compute);
    if (!compute) {
      if (outcome.unauthorized) {  // a failed attempt costs time, more for repeated failures
        auto timer = std::make_shared<net::steady_timer>(stream_.get_executor(), server_.failed_auth_delay(address_));
        timer->async_wait([self = shared_from_this(), timer, outcome](const beast::error_code&) { self->respond(outcome); });
        return;
      }
      return respond(outcome);
    }
    server_.begin_request();
    net::post(server_.compute(), [self = shared_from_this(), compute = std::move(compute)]() {
      Outcome result = compute();
      net::post(self->stream_.get_executor(), [self, result]() {
        self->respond(result);
        self->server_.end_request();
      });
    });
  }

  // A framing error: the rest of the connection cannot be trusted, so it closes after this.
  void reject(int status, const std::string& message, const std::string& reason) {
    keep_alive_ = false;
    must_close_ = true;
    version_ = 11;
    target_ = parser_ && parser_->is_header_done() ? std::string(parser_->get().target()) : "-";
    started_ = std::chrono::steady_clock::now();
    respond(failure(status, message, reason));
  }

  void respond(const Outcome& outcome) {
    auto response = std::make_shared<Response>(static_cast<http::status>(outcome.status), version_);
    response->set(http::field::server, "citadel");
    response->set(http::field::content_type, "application/json");
    if (outcome.retry_after > 0) response->set(http::field::retry_after, std::to_string(outcome.retry_after));
    if (outcome.unauthorized) response->set(http::field::www_authenticate, "Bearer");
    const bool close_after = !keep_alive_ || must_close_ || server_.stopping();
    response->keep_alive(!close_after);
    response->body() = outcome.body;
    response->prepare_payload();
    server_.log(outcome, address_, target_,
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started_).count());
    stream_.expires_after(server_.options().body_timeout);
    http::async_write(stream_, *response, [self = shared_from_this(), response, close_after](beast::error_code ec, size_t) {
      if (ec || close_after) return self->close();
      self->read_header(self->server_.options().idle_timeout);
    });
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.socket().close(ignored);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  Server::Impl& server_;
  std::string address_, target_;
  bool keep_alive_ = true, must_close_ = false;
  unsigned version_ = 11;
  std::chrono::steady_clock::time_point started_;
};

void Server::Impl::accept() {
  acceptor_.async_accept(net::make_strand(io_), [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
      return accept();
    }
    beast::error_code address_error;
    const auto remote = socket.remote_endpoint(address_error);
    const std::string address = address_error ? "unknown" : remote.address().to_string();
    if (!admit_connection(address)) {  // over the caps: a short answer, then closed
      auto refused = std::make_shared<std::string>(
          "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: " +
          std::to_string(error_json("too many connections").size()) + "\r\n\r\n" + error_json("too many connections"));
      auto held = std::make_shared<tcp::socket>(std::move(socket));
      net::async_write(*held, net::buffer(*refused), [held, refused](beast::error_code, size_t) {
        beast::error_code ignored;
        held->close(ignored);
      });
    } else {
      std::make_shared<Session>(std::move(socket), *this, address)->start();
    }
    accept();
  });
}

Server::Server(std::vector<ServedModel> models, std::optional<TokenStore> tokens, std::string usage_path,
               ServerOptions options)
    : impl_(std::make_unique<Impl>(std::move(models), std::move(tokens), std::move(usage_path), std::move(options))) {}

Server::~Server() { impl_->stop(); }

uint16_t Server::start() { return impl_->start(); }
void Server::stop() { impl_->stop(); }
void Server::run_until_signalled(const std::function<void(uint16_t)>& on_listening) {
  impl_->run_until_signalled(on_listening);
}

}  // namespace citadel::serving
