// The server's life: listen, accept within the connection caps (shedding the stalest
// waiting connection when full) and hand each connection to the serving thread with fewest,
// screen each request's header, bound the memory of bodies in flight and give memory back
// after a load, reload models on request (each verified before it replaces the one
// serving), stop gracefully.
#include "citadel/serving/server.hpp"

#include <unistd.h>

#include <cstdio>
#include <future>
#include <nlohmann/json.hpp>

#include "citadel/core/threads.hpp"
#include "citadel/core/utc_time.hpp"
#include "citadel/provenance/strip.hpp"
#include "request_framing.hpp"
#include "server_internals.hpp"

namespace citadel::serving {
namespace {

ConnectionLimits connection_limits(const ServerOptions& options) {
  ConnectionLimits limits;
  limits.max_total = std::max(1, options.max_connections);
  limits.max_per_address = std::max(1, options.max_connections_per_address);
  limits.reserved_for_authenticated =
      options.reserved_connections >= 0 ? std::min(options.reserved_connections, limits.max_total - 1)
                                        : limits.max_total / 4;
  // A header byte is worth the time it would take to send a whole header of the largest size
  // allowed within the header deadline, divided evenly.
  limits.credit_per_header_byte = std::chrono::nanoseconds(options.header_timeout) / std::max<uint32_t>(1, options.max_header_bytes);
  return limits;
}

size_t body_memory_limit(const ServerOptions& options) {
  return options.max_body_memory > 0 ? options.max_body_memory : 8 * options.max_body_bytes;
}

// Purge after at least this much load since the last one (bodies released or connections closed).
constexpr int64_t kPurgeAfterBodyBytes = int64_t{8} << 20;
constexpr int64_t kPurgeAfterConnections = 256;

// Says on stderr what STRIP was calibrated to for a model (always: the operator must know the
// threshold a row is refused below, and that it was computed at all).
void log_strip_calibration(const ServedModel& model, const char* when) {
  const StripDetector& detector = *model.strip->detector;
  std::fprintf(stderr, "%s\n", nlohmann::json{{"time", utc_timestamp()}, {"event", "strip_calibrated"}, {"when", when},
                                              {"model", model.name}, {"n", detector.overlay_count()},
                                              {"false_rejection_rate", model.strip->false_rejection_rate},
                                              {"threshold_bits", detector.threshold()},
                                              {"class_threshold_bits", detector.class_thresholds()},
                                              {"calibration_rows", detector.calibration_rows()},
                                              {"clean", model.strip->clean_source}}
                                   .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                                   .c_str());
}

// The models, each smoothed one checked (a classifier of one input, under the label policy,
// N within --max-rows) and each screened one checked and calibrated: ValueError naming it,
// before anything listens.
std::vector<ServedModel> checked_models(std::vector<ServedModel> models, const ServerOptions& options) {
  for (ServedModel& model : models) {
    if (model.smoothing) check_smoothable(model, options.limits);
    if (model.watermark) check_watermarkable(model);
    if (model.strip) {
      check_strippable(model, options.limits);
      if (!model.strip->detector) calibrate_strip(model);
      log_strip_calibration(model, "start");
    }
  }
  return models;
}

}  // namespace

Server::Impl::Impl(std::vector<ServedModel> models, std::optional<TokenStore> tokens, std::string usage_path,
                   ServerOptions options, ModelLoader loader)
    : connections_(connection_limits(options)),
      models_(checked_models(std::move(models), options)),
      tokens_(std::move(tokens)),
      access_(std::move(usage_path)),
      options_(std::move(options)),
      loader_(std::move(loader)),
      monitor_(options_.extraction_monitor ? std::make_unique<ExtractionMonitor>(*options_.extraction_monitor) : nullptr),
      tls_(options_.tls_certificate.empty() ? nullptr : tls_context(options_)),
      loops_([this] {
        std::vector<std::unique_ptr<EventLoop>> loops;
        for (int i = 0; i < std::max(1, options_.threads); ++i)
          loops.push_back(std::make_unique<EventLoop>(
              options_.max_batch_rows, options_.batch_delay,
              [this](const std::string& model, int64_t requests, int64_t) { metrics_.record_batch(model, requests); }));
        return loops;
      }()),
      io_(loops_.front()->io),
      acceptor_(io_),
      accept_pause_(io_),
      purge_timer_(io_),
      large_requests_(static_cast<size_t>(std::max(1, options_.threads))) {}

uint16_t Server::Impl::start() {
  const tcp::endpoint endpoint(net::ip::make_address(options_.host), options_.port);
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(net::socket_base::reuse_address(true));
  acceptor_.bind(endpoint);
  acceptor_.listen(net::socket_base::max_listen_connections);
  port_ = acceptor_.local_endpoint().port();
  accept();
  return_memory_after_load();
  access_.start();
  for (auto& loop : loops_)
    loop->thread = std::thread([this, &loop = *loop] {
      set_thread_local_num_threads(options_.threads_per_prediction);
      loop.io.run();
    });
  return port_;
}

void Server::Impl::stop() {
  if (stopped_.exchange(true)) return;
  net::post(io_, [this] {
    beast::error_code ignored;
    acceptor_.close(ignored);
    accept_pause_.cancel();
    purge_timer_.cancel();
  });
  {  // requests in flight finish first
    std::unique_lock lock(flight_mutex_);
    flight_done_.wait_for(lock, std::chrono::seconds(10), [this] { return in_flight_ == 0; });
  }
  for (auto& loop : loops_) loop->io.stop();
  for (auto& loop : loops_)
    if (loop->thread.joinable()) loop->thread.join();
  large_requests_.join();
  access_.stop();  // what is pending written, the journal folded into the snapshot
}

void Server::Impl::run_until_signalled(const std::function<void(uint16_t)>& on_listening) {
  net::signal_set stop_signals(io_, SIGINT, SIGTERM), reload_signal(io_, SIGHUP);
  std::promise<void> signalled;
  stop_signals.async_wait([&](const beast::error_code&, int) { signalled.set_value(); });
  std::function<void()> wait_for_reload = [&] {
    reload_signal.async_wait([&](const beast::error_code& ec, int) {
      if (ec) return;
      std::thread([this] { reload(); }).detach();  // loading takes time; I/O goes on meanwhile
      wait_for_reload();
    });
  };
  wait_for_reload();
  const uint16_t port = start();
  if (on_listening) on_listening(port);
  signalled.get_future().wait();
  stop();
}

std::vector<std::string> Server::Impl::reload() {
  std::vector<std::string> failed;
  if (!loader_) return failed;
  for (const auto& current : models_.all()) {
    try {
      ServedModel fresh = loader_(current->name, current->path, current->policy);
      fresh.extraction_alarm_below = current->extraction_alarm_below;  // the operator's, as given at start
      fresh.smoothing = current->smoothing;  // and a new file must still be a classifier it fits
      if (fresh.smoothing) check_smoothable(fresh, options_.limits);
      fresh.watermark = current->watermark;  // the same key, rate and log
      if (fresh.watermark) check_watermarkable(fresh);
      fresh.strip = current->strip;  // recalibrated on the same clean rows against the new weights
      if (fresh.strip) {
        fresh.strip->detector.reset();
        check_strippable(fresh, options_.limits);
        calibrate_strip(fresh);
        log_strip_calibration(fresh, "reload");
      }
      models_.replace(std::make_shared<const ServedModel>(std::move(fresh)));
      metrics_.record_reload(true);
      std::fprintf(stderr, "%s\n", nlohmann::json{{"time", utc_timestamp()}, {"reload", current->name},
                                                  {"file", current->path}, {"result", "ok"}}
                                       .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                                       .c_str());
    } catch (const std::exception& e) {  // the model serving stays
      failed.push_back(current->name);
      metrics_.record_reload(false);
      std::fprintf(stderr, "%s\n", nlohmann::json{{"time", utc_timestamp()}, {"reload", current->name},
                                                  {"file", current->path}, {"result", "failed"},
                                                  {"error", e.what()}, {"serving", "the model loaded before"}}
                                       .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                                       .c_str());
    }
  }
  return failed;
}

void Server::Impl::begin_request() {
  std::lock_guard lock(flight_mutex_);
  ++in_flight_;
}

void Server::Impl::end_request() {
  std::lock_guard lock(flight_mutex_);
  if (--in_flight_ == 0) flight_done_.notify_all();
}

void Server::Impl::connection_closed() { ++closed_since_purge_; }

bool Server::Impl::reserve_body(size_t bytes) {
  const auto limit = static_cast<int64_t>(body_memory_limit(options_));
  int64_t held = body_bytes_in_flight_.load();
  do {
    // One body may always be read when none is (a limit below --max-body must not refuse all).
    if (held > 0 && held + static_cast<int64_t>(bytes) > limit) return false;
  } while (!body_bytes_in_flight_.compare_exchange_weak(held, held + static_cast<int64_t>(bytes)));
  return true;
}

void Server::Impl::release_body(size_t bytes) {
  body_bytes_in_flight_ -= static_cast<int64_t>(bytes);
  released_since_purge_ += static_cast<int64_t>(bytes);
}

// Each second: after a load (bodies released, connections closed) every serving thread and
// the pool give their free memory back, so that an attack's peak does not stay resident.
void Server::Impl::return_memory_after_load() {
  purge_timer_.expires_after(std::chrono::seconds(1));
  purge_timer_.async_wait([this](const beast::error_code& ec) {
    if (ec || stopped_) return;
    if (released_since_purge_ >= kPurgeAfterBodyBytes || closed_since_purge_ >= kPurgeAfterConnections) {
      released_since_purge_ = 0, closed_since_purge_ = 0;
      for (auto& loop : loops_) net::post(loop->io, [] { return_free_memory(); });
      for (int i = 0; i < std::max(1, options_.threads); ++i) net::post(large_requests_, [] { return_free_memory(); });
    }
    return_memory_after_load();
  });
}

// Framing (RFC 9112), encoding, token, expectation: all on the header, so that no refused
// request's body is ever read.
HeaderVerdict Server::Impl::screen_header(const http::request_header<>& header, const std::string& address) {
  HeaderVerdict verdict;
  if (std::string problem = framing_problem(header); !problem.empty()) {
    verdict.refusal = failure(400, problem, "malformed");
    return verdict;
  }
  if (header.count(http::field::content_encoding)) {
    verdict.refusal = failure(415, "Content-Encoding is not accepted; send the body uncompressed", "media_type");
    return verdict;
  }
  const std::string_view target = header.target();
  const bool public_endpoint = target == "/v2/health/live" || target == "/v2/health/ready";
  if (tokens_ && !public_endpoint) {
    const auto field = header.find(http::field::authorization);
    const std::string_view value = field == header.end() ? std::string_view() : std::string_view(field->value());
    if (value.size() > 7 && value.substr(0, 7) == "Bearer ") verdict.token = tokens_->authenticate(value.substr(7));
    if (verdict.token == nullptr) {
      Outcome refused = failure(401, field == header.end() ? "an Authorization: Bearer token is required"
                                                           : "the token is not valid (unknown or revoked)",
                                "auth");
      refused.unauthorized = true;
      verdict.refusal = std::move(refused);
      return verdict;
    }
    forget_failures(address);
    verdict.authenticated = true;
  } else if (!tokens_) {
    verdict.authenticated = !public_endpoint;  // without tokens, any request but a health probe
  }
  if (header.version() >= 11 && header.count(http::field::expect) &&
      !beast::iequals(header[http::field::expect], "100-continue")) {
    verdict.refusal = failure(417, "the only expectation understood is 100-continue", "malformed");
    if (verdict.token) verdict.refusal->token = verdict.token->name;
  }
  return verdict;
}

// The delay before a 401: doubling per recent failure from this address, at most 1 s.
std::chrono::milliseconds Server::Impl::failed_auth_delay(const std::string& address) {
  std::lock_guard lock(address_mutex_);
  const int failures = std::min(++auth_failures_[address], 6);
  if (auth_failures_.size() > 10'000) auth_failures_.clear();  // bounded memory
  return std::chrono::milliseconds(std::min(1000, 15 << failures));
}

void Server::Impl::forget_failures(const std::string& address) {
  std::lock_guard lock(address_mutex_);
  auth_failures_.erase(address);
}

void Server::Impl::finished(const Outcome& o, const std::string& address, const std::string& target,
                            double milliseconds) {
  metrics_.record(o.model, o.status, o.rejection, milliseconds / 1000.0);
  if (o.extraction_alarm) {
    metrics_.record_extraction_alarm(o.model);
    // Always logged: it is what the operator must see.
    const std::string alarm = nlohmann::json{{"time", utc_timestamp()}, {"event", "extraction_alarm"},
                                             {"token", o.token}, {"model", o.model}, {"w", *o.extraction_alarm},
                                             {"blocking", options_.block_on_alarm}}
                                  .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    std::fprintf(stderr, "%s\n", alarm.c_str());
  }
  if (!o.watermark_error.empty())  // a selected row answered unchanged: the operator must know why
    std::fprintf(stderr, "%s\n", nlohmann::json{{"time", utc_timestamp()}, {"event", "watermark_not_recorded"},
                                                {"token", o.token}, {"model", o.model}, {"error", o.watermark_error}}
                                     .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                                     .c_str());
  if (o.strip_checked > 0) metrics_.record_strip(o.model, o.strip_checked, int64_t(o.strip_flagged.size()));
  if (!o.strip_flagged.empty()) {  // always logged, with what the client is not told
    const std::string refusal = nlohmann::json{{"time", utc_timestamp()}, {"event", "strip_refusal"},
                                               {"token", o.token}, {"model", o.model}, {"rows", o.strip_flagged},
                                               {"entropy", o.strip_entropy}, {"threshold", o.strip_threshold}}
                                    .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    std::fprintf(stderr, "%s\n", refusal.c_str());
  }
  if (!options_.log_requests) return;
  const std::string line = nlohmann::json{{"time", utc_timestamp()}, {"client", address},
                                          {"target", target.substr(0, 200)}, {"token", o.token},
                                          {"model", o.model}, {"rows", o.rows}, {"status", o.status},
                                          {"rejection", o.rejection}, {"ms", milliseconds}}
                               .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);  // targets need not be UTF-8
  std::fprintf(stderr, "%s\n", line.c_str());
}

void Server::Impl::accept() {
  acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
      // Out of descriptors (or another passing failure): pause instead of spinning on it.
      accept_pause_.expires_after(std::chrono::milliseconds(50));
      return accept_pause_.async_wait([this](const beast::error_code& e) {
        if (!e && acceptor_.is_open()) accept();
      });
    }
    beast::error_code address_error;
    const auto remote = socket.remote_endpoint(address_error);
    const std::string address = address_error ? "unknown" : remote.address().to_string();
    int64_t shed = 0;
    std::shared_ptr<ConnectionState> connection = connections_.admit(address, shed);
    if (shed > 0) metrics_.record_rejection("shed", shed);
    if (connection == nullptr) refuse_connection(std::move(socket));  // its address at its cap, or nobody to shed
    else serve_on_least_busy_loop(std::move(socket), std::move(connection));
    accept();
  });
}

// Over the caps: a short answer, then closed.
void Server::Impl::refuse_connection(tcp::socket socket) {
  static const std::string body = error_json("too many connections");
  static const std::string refused =
      "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\nConnection: close\r\n"
      "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  metrics_.record("-", 503, "connections", 0);
  auto held = std::make_shared<tcp::socket>(std::move(socket));
  net::async_write(*held, net::buffer(refused), [held](beast::error_code, size_t) {
    beast::error_code ignored;
    held->shutdown(tcp::socket::shutdown_both, ignored);
    held->close(ignored);
  });
}

// The connection moves to the loop with fewest sessions, which takes it over (its
// descriptor registered there) and serves it from then on, on that thread alone.
void Server::Impl::serve_on_least_busy_loop(tcp::socket socket, std::shared_ptr<ConnectionState> connection) {
  EventLoop* chosen = loops_.front().get();
  for (auto& loop : loops_)
    if (loop->connections.load() < chosen->connections.load()) chosen = loop.get();
  beast::error_code ec;
  const auto protocol = socket.local_endpoint(ec).protocol();
  // Closed unless the loop takes it: a loop that stopped first drops the handler, not the
  // descriptor; and the connection's place is given back unless a session took it.
  struct Descriptor {
    int fd = -1;
    std::shared_ptr<ConnectionState> connection;
    ConnectionTable* table = nullptr;
    ~Descriptor() {
      if (fd >= 0) ::close(fd);
      if (connection) table->release(*connection);
    }
  };
  auto descriptor = std::make_shared<Descriptor>();
  descriptor->connection = std::move(connection);
  descriptor->table = &connections_;
  descriptor->fd = ec ? -1 : socket.release(ec);
  if (ec || descriptor->fd < 0) return;
  ++chosen->connections;
  net::post(chosen->io, [this, chosen, protocol, descriptor] {
    tcp::socket mine(chosen->io);
    beast::error_code assign_error;
    mine.assign(protocol, descriptor->fd, assign_error);
    if (!assign_error) mine.non_blocking(true, assign_error);  // release() made it blocking again
    if (assign_error) {
      --chosen->connections;
      return;
    }
    descriptor->fd = -1;  // the socket owns it now
    auto place = std::move(descriptor->connection);  // and the session the connection's place
    if (tls_) std::make_shared<TlsSession>(std::move(mine), *this, *chosen, std::move(place))->start();
    else std::make_shared<PlainSession>(std::move(mine), *this, *chosen, std::move(place))->start();
  });
}

Server::Server(std::vector<ServedModel> models, std::optional<TokenStore> tokens, std::string usage_path,
               ServerOptions options, ModelLoader loader)
    : impl_(std::make_unique<Impl>(std::move(models), std::move(tokens), std::move(usage_path), std::move(options),
                                   std::move(loader))) {}

Server::~Server() { impl_->stop(); }

uint16_t Server::start() { return impl_->start(); }
void Server::stop() { impl_->stop(); }
std::vector<std::string> Server::reload() { return impl_->reload(); }
void Server::run_until_signalled(const std::function<void(uint16_t)>& on_listening) {
  impl_->run_until_signalled(on_listening);
}

}  // namespace citadel::serving
