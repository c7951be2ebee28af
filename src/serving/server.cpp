// The server's life: listen, accept within the connection caps and hand each connection
// to the serving thread with fewest, save the usage every second, reload models on request
// (each verified before it replaces the one serving), stop gracefully.
#include "citadel/serving/server.hpp"

#include <unistd.h>

#include <cstdio>
#include <future>
#include <nlohmann/json.hpp>

#include "citadel/core/threads.hpp"
#include "citadel/core/utc_time.hpp"
#include "server_internals.hpp"

namespace citadel::serving {

Server::Impl::Impl(std::vector<ServedModel> models, std::optional<TokenStore> tokens, std::string usage_path,
                   ServerOptions options, ModelLoader loader)
    : models_(std::move(models)),
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
      large_requests_(static_cast<size_t>(std::max(1, options_.threads))) {}

uint16_t Server::Impl::start() {
  const tcp::endpoint endpoint(net::ip::make_address(options_.host), options_.port);
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(net::socket_base::reuse_address(true));
  acceptor_.bind(endpoint);
  acceptor_.listen(net::socket_base::max_listen_connections);
  port_ = acceptor_.local_endpoint().port();
  accept();
  usage_saver_ = std::thread([this] { save_usage_periodically(); });
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
  });
  {  // requests in flight finish first
    std::unique_lock lock(flight_mutex_);
    flight_done_.wait_for(lock, std::chrono::seconds(10), [this] { return in_flight_ == 0; });
  }
  for (auto& loop : loops_) loop->io.stop();
  for (auto& loop : loops_)
    if (loop->thread.joinable()) loop->thread.join();
  large_requests_.join();
  {
    std::lock_guard lock(saver_mutex_);
    saver_stopping_ = true;
  }
  saver_wake_.notify_all();
  if (usage_saver_.joinable()) usage_saver_.join();
  access_.save_usage();
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

bool Server::Impl::admit_connection(const std::string& address) {
  std::lock_guard lock(address_mutex_);
  if (connections_ >= options_.max_connections || per_address_[address] >= options_.max_connections_per_address) {
    if (per_address_[address] == 0) per_address_.erase(address);
    return false;
  }
  ++connections_;
  ++per_address_[address];
  return true;
}

void Server::Impl::release_connection(const std::string& address) {
  std::lock_guard lock(address_mutex_);
  --connections_;
  if (--per_address_[address] == 0) per_address_.erase(address);
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
  if (!options_.log_requests) return;
  const std::string line = nlohmann::json{{"time", utc_timestamp()}, {"client", address},
                                          {"target", target.substr(0, 200)}, {"token", o.token},
                                          {"model", o.model}, {"rows", o.rows}, {"status", o.status},
                                          {"rejection", o.rejection}, {"ms", milliseconds}}
                               .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);  // targets need not be UTF-8
  std::fprintf(stderr, "%s\n", line.c_str());
}

// On a thread of its own: writing and syncing the file takes milliseconds (more on a slow
// disk), which a serving thread would have spent not serving.
void Server::Impl::save_usage_periodically() {
  std::unique_lock lock(saver_mutex_);
  while (!saver_wake_.wait_for(lock, std::chrono::seconds(1), [this] { return saver_stopping_; })) {
    lock.unlock();
    try {
      access_.save_usage();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "serve: could not save the usage: %s\n", e.what());
    }
    lock.lock();
  }
}

void Server::Impl::accept() {
  acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
      return accept();
    }
    beast::error_code address_error;
    const auto remote = socket.remote_endpoint(address_error);
    const std::string address = address_error ? "unknown" : remote.address().to_string();
    if (!admit_connection(address)) {  // over the caps: a short answer, then closed
      const std::string body = error_json("too many connections");
      auto refused = std::make_shared<std::string>(
          "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\n"
          "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
      metrics_.record("-", 503, "connections", 0);
      auto held = std::make_shared<tcp::socket>(std::move(socket));
      net::async_write(*held, net::buffer(*refused), [held, refused](beast::error_code, size_t) {
        beast::error_code ignored;
        held->close(ignored);
      });
    } else {
      serve_on_least_busy_loop(std::move(socket), address);
    }
    accept();
  });
}

// The connection moves to the loop with fewest sessions, which takes it over (its
// descriptor registered there) and serves it from then on, on that thread alone.
void Server::Impl::serve_on_least_busy_loop(tcp::socket socket, const std::string& address) {
  EventLoop* chosen = loops_.front().get();
  for (auto& loop : loops_)
    if (loop->connections.load() < chosen->connections.load()) chosen = loop.get();
  beast::error_code ec;
  const auto protocol = socket.local_endpoint(ec).protocol();
  // Closed unless the loop takes it: a loop that stopped first drops the handler, not the descriptor.
  struct Descriptor {
    int fd = -1;
    ~Descriptor() {
      if (fd >= 0) ::close(fd);
    }
  };
  auto descriptor = std::make_shared<Descriptor>();
  descriptor->fd = ec ? -1 : socket.release(ec);
  if (ec || descriptor->fd < 0) return release_connection(address);
  ++chosen->connections;
  net::post(chosen->io, [this, chosen, protocol, descriptor, address] {
    tcp::socket mine(chosen->io);
    beast::error_code assign_error;
    mine.assign(protocol, descriptor->fd, assign_error);
    if (!assign_error) mine.non_blocking(true, assign_error);  // release() made it blocking again
    if (assign_error) {
      --chosen->connections;
      return release_connection(address);
    }
    descriptor->fd = -1;  // the socket owns it now
    if (tls_) std::make_shared<TlsSession>(std::move(mine), *this, *chosen, address)->start();
    else std::make_shared<PlainSession>(std::move(mine), *this, *chosen, address)->start();
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
