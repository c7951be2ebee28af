// One connection, on its serving thread: (with TLS, the handshake under the header
// deadline,) the header read and scanned by our own loop (its deadline from its first byte,
// its bytes known to the connection table), screened on its own (framing, token, size, the
// memory for bodies in flight) before any body is read, the body under the body deadline,
// predictions batched on this thread (or, past max_batch_rows, handed to the pool for large
// requests), answers written once their budget reservation is on disk, then the next
// request (keep-alive). A refusal on the header closes the connection: its body is never read.
#include "citadel/core/threads.hpp"
#include "request_framing.hpp"
#include "server_internals.hpp"

namespace citadel::serving {

using Response = http::response<http::string_body>;

namespace {

template <class Stream>
Stream make_stream(tcp::socket socket, Server::Impl& server) {
  if constexpr (std::is_same_v<Stream, beast::tcp_stream>) return Stream(std::move(socket));
  else return Stream(std::move(socket), *server.tls());
}

bool quietly_gone(const beast::error_code& ec) {  // the client left or was too slow: nothing to answer
  return ec == http::error::end_of_stream || ec == beast::error::timeout || ec == net::error::operation_aborted ||
         ec == net::error::connection_reset || ec == net::error::eof || ec == net::error::bad_descriptor;
}

constexpr size_t kFirstRead = 1024;  // what a waiting connection holds: most headers fit

}  // namespace

template <class Stream>
Session<Stream>::Session(tcp::socket socket, Server::Impl& server, EventLoop& loop,
                         std::shared_ptr<ConnectionState> connection)
    : stream_(make_stream<Stream>(std::move(socket), server)), server_(server), loop_(loop),
      connection_(std::move(connection)) {}

template <class Stream>
Session<Stream>::~Session() {
  if (answering_) server_.end_request();  // a write that never completed
  release_body();
  --loop_.connections;
  server_.connections().release(*connection_);
  server_.connection_closed();
}

template <class Stream>
void Session<Stream>::start() {
  // From now on the table may shed this connection: from any thread, by a post to this one.
  connection_->shed = [weak = this->weak_from_this(), executor = stream_.get_executor()] {
    net::post(executor, [weak] {
      if (auto self = weak.lock()) self->shed();
    });
  };
  connection_->can_be_shed.store(true, std::memory_order_release);
  if constexpr (!kTls) {
    wait_for_request(false);
  } else {
    lowest().expires_after(server_.options().header_timeout);  // a handshake that never ends is slowloris too
    stream_.async_handshake(net::ssl::stream_base::server,
                            [self = this->shared_from_this()](beast::error_code ec) {
                              if (ec) return self->close();  // not TLS, or not a certificate it accepts
                              self->wait_for_request(false);
                            });
  }
}

// A fresh connection has the header deadline from its start; a kept-alive one may idle for
// the idle timeout, and its next header has the header deadline from its first byte.
template <class Stream>
void Session<Stream>::wait_for_request(bool kept_alive) {
  parser_.reset();
  token_ = nullptr;
  scanned_ = 0;
  connection_->header_bytes.store(static_cast<int64_t>(buffer_.size()), std::memory_order_relaxed);
  connection_->waiting_since.store(steady_nanoseconds(), std::memory_order_relaxed);
  header_clock_ = !kept_alive || buffer_.size() > 0;  // pipelined bytes: the header has begun
  if (buffer_.size() == 0) buffer_.shrink_to_fit();  // an idle connection holds no buffer
  lowest().expires_after(header_clock_ ? server_.options().header_timeout : server_.options().idle_timeout);
  read_header_bytes();
}

template <class Stream>
void Session<Stream>::read_header_bytes() {
  const auto data = buffer_.data();
  HeaderScan scan = scan_header(std::string_view(static_cast<const char*>(data.data()), data.size()),
                                server_.options().max_header_bytes, scanned_);
  if (scan.empty_lines > 0) buffer_.consume(scan.empty_lines);
  if (scan.state == HeaderScan::State::kRefused)
    return reject(scan.status, scan.problem, scan.status == 431 ? "header_limit" : "malformed");
  if (scan.state == HeaderScan::State::kComplete) return on_header_bytes(scan.length);
  scanned_ = scan.scanned;
  const size_t limit = server_.options().max_header_bytes + 4;
  const size_t room = limit > buffer_.size() ? limit - buffer_.size() : 1;
  const size_t chunk = std::min(room, std::max(kFirstRead, buffer_.size()));
  stream_.async_read_some(buffer_.prepare(chunk), [self = this->shared_from_this()](beast::error_code ec, size_t n) {
    if (ec) return self->close();
    self->buffer_.commit(n);
    if (!self->header_clock_) {  // the request's first byte: the header deadline starts now
      self->header_clock_ = true;
      self->lowest().expires_after(self->server_.options().header_timeout);
    }
    self->connection_->header_bytes.store(static_cast<int64_t>(self->buffer_.size()), std::memory_order_relaxed);
    self->read_header_bytes();
  });
}

template <class Stream>
void Session<Stream>::on_header_bytes(size_t length) {
  connection_->waiting_since.store(ConnectionState::kBusy, std::memory_order_relaxed);
  const ServerOptions& options = server_.options();
  parser_.emplace();
  parser_->header_limit(options.max_header_bytes);
  parser_->body_limit(options.max_body_bytes);
  beast::error_code ec;
  const size_t parsed = parser_->put(net::buffer(buffer_.data().data(), length), ec);
  if (ec == http::error::header_limit) return reject(431, "the request header is larger than allowed", "header_limit");
  if (ec == http::error::body_limit)
    return reject(413,
                  "the request body is larger than the limit of " + std::to_string(options.max_body_bytes) +
                      " bytes (--max-body)",
                  "body_limit");
  if (ec || !parser_->is_header_done()) return reject(400, "malformed request: " + ec.message(), "malformed");
  buffer_.consume(parsed);
  HeaderVerdict verdict = server_.screen_header(parser_->get(), connection_->address);
  if (verdict.refusal) return refuse(std::move(*verdict.refusal));
  token_ = verdict.token;
  if (verdict.authenticated) server_.connections().authenticated(*connection_);
  if (parser_->is_done()) return handle();
  // A body: its share of the memory for bodies in flight first, then (if asked) 100 Continue.
  const size_t share = parser_->content_length() ? static_cast<size_t>(*parser_->content_length()) : options.max_body_bytes;
  if (!server_.reserve_body(share)) {
    Outcome busy = failure(503, "too many request bodies are being received at once; retry shortly", "body_memory");
    busy.retry_after = 1;
    busy.token = token_ ? token_->name : "-";
    return refuse(std::move(busy));
  }
  body_reserved_ = share;
  // (screen_header refused any other expectation; an HTTP/1.0 client is never sent a 100.)
  if (parser_->get().version() >= 11 && parser_->get().count(http::field::expect) > 0 && buffer_.size() == 0) {
    static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    lowest().expires_after(options.body_timeout);
    return net::async_write(stream_, net::buffer(kContinue), [self = this->shared_from_this()](beast::error_code e, size_t) {
      if (e) return self->close();
      self->read_body();
    });
  }
  read_body();
}

template <class Stream>
void Session<Stream>::read_body() {
  lowest().expires_after(server_.options().body_timeout);
  http::async_read(stream_, buffer_, *parser_, [self = this->shared_from_this()](beast::error_code ec, size_t) {
    if (ec == http::error::body_limit)
      return self->reject(413,
                          "the request body is larger than the limit of " +
                              std::to_string(self->server_.options().max_body_bytes) + " bytes (--max-body)",
                          "body_limit");
    if (ec == beast::error::timeout) return self->reject(408, "the request body took too long", "timeout");
    if (quietly_gone(ec)) return self->close();
    if (ec) return self->reject(400, "malformed body: " + ec.message(), "malformed");
    self->handle();
  });
}

template <class Stream>
void Session<Stream>::handle() {
  server_.begin_request();  // in flight from the whole request read to the answer written
  answering_ = true;
  started_ = std::chrono::steady_clock::now();
  const auto& request = parser_->get();
  target_ = std::string(request.target());
  keep_alive_ = request.keep_alive();
  version_ = request.version();
  Compute compute;
  Outcome outcome;
  try {
    outcome = server_.route(request, connection_->address, token_, compute);
  } catch (const std::exception& e) {  // never out of the serving thread: that would end the server
    compute = nullptr;
    outcome = failure(500, std::string("internal error: ") + e.what(), "error");
  }
  parser_.reset();  // the body is decoded: its memory goes back now, not at the next request
  release_body();
  if (!compute) return respond(std::move(outcome));
  auto self = this->shared_from_this();
  if (outcome.compute_rows <= server_.options().max_batch_rows)  // batched and predicted on this loop
    return compute(loop_.batcher, false, [self](Outcome result) { self->respond(std::move(result)); });
  // On the pool: answered when it is done or, past the compute deadline, with a 504 then
  // (the result that comes later is dropped; one that has not started by then never does).
  const uint64_t id = ++requests_;
  awaiting_ = id;
  compute_timer_ = std::make_shared<net::steady_timer>(stream_.get_executor(), server_.options().compute_timeout);
  compute_timer_->async_wait([self, id, late = outcome](const beast::error_code& ec) mutable {
    if (ec || self->awaiting_ != id) return;
    self->awaiting_ = 0;
    late.status = 504, late.rejection = "deadline";
    late.body = error_json("the prediction took longer than the compute deadline of " +
                           std::to_string(self->server_.options().compute_timeout.count()) + " ms");
    self->respond(late);
  });
  net::post(server_.large_requests(), [self, id, compute = std::move(compute)]() {
    set_thread_local_num_threads(self->server_.options().threads_per_prediction);
    compute(self->loop_.batcher, true, [self, id](Outcome result) {
      net::post(self->stream_.get_executor(), [self, id, result = std::move(result)]() {
        if (self->awaiting_ != id) return;  // answered 504 already
        self->awaiting_ = 0;
        self->compute_timer_->cancel();
        self->respond(result);
      });
    });
  });
}

// A framing error: the rest of the connection cannot be trusted, so it closes after this.
template <class Stream>
void Session<Stream>::reject(int status, const std::string& message, const std::string& reason) {
  Outcome outcome = failure(status, message, reason);
  if (token_ != nullptr) outcome.token = token_->name;
  refuse(std::move(outcome));
}

// A refusal before the body is read (or instead of reading the rest): answered, then closed.
template <class Stream>
void Session<Stream>::refuse(Outcome outcome) {
  keep_alive_ = false;
  must_close_ = true;
  version_ = 11;
  target_ = parser_ && parser_->is_header_done() ? std::string(parser_->get().target()) : "-";
  started_ = std::chrono::steady_clock::now();
  if (outcome.unauthorized) {  // a failed attempt costs time, more for repeated failures
    auto timer = std::make_shared<net::steady_timer>(stream_.get_executor(),
                                                     server_.failed_auth_delay(connection_->address));
    timer->async_wait([self = this->shared_from_this(), timer, outcome](const beast::error_code&) {
      self->respond(outcome);
    });
    return;
  }
  respond(std::move(outcome));
}

template <class Stream>
void Session<Stream>::respond(Outcome outcome) {
  if (outcome.durable_ticket != 0) {  // a budget's rows: answered only once their reservation is on disk
    const uint64_t ticket = std::exchange(outcome.durable_ticket, 0);
    server_.when_durable(ticket, [self = this->shared_from_this(), outcome = std::move(outcome)](bool ok) mutable {
      net::post(self->stream_.get_executor(), [self, outcome = std::move(outcome), ok]() mutable {
        if (!ok) {
          outcome.status = 503, outcome.rejection = "journal", outcome.retry_after = 1;
          outcome.content_type = "application/json";
          outcome.inference_header_length.reset();
          outcome.body = error_json("the rows could not be recorded against the token's budget; retry shortly");
        }
        self->respond(std::move(outcome));
      });
    });
    return;
  }
  auto response = std::make_shared<Response>(static_cast<http::status>(outcome.status), version_);
  response->set(http::field::server, "citadel");
  response->set(http::field::content_type, outcome.content_type);
  if (outcome.retry_after > 0) response->set(http::field::retry_after, std::to_string(outcome.retry_after));
  if (outcome.unauthorized) response->set(http::field::www_authenticate, "Bearer");
  if (outcome.inference_header_length)
    response->set("Inference-Header-Content-Length", std::to_string(*outcome.inference_header_length));
  const bool close_after = !keep_alive_ || must_close_ || server_.stopping();
  response->keep_alive(!close_after);
  response->body() = std::move(outcome.body);
  response->prepare_payload();
  server_.finished(outcome, connection_->address, target_,
                   std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started_).count());
  lowest().expires_after(server_.options().body_timeout);
  http::async_write(stream_, *response, [self = this->shared_from_this(), response, close_after](beast::error_code ec, size_t) {
    if (self->answering_) self->server_.end_request();
    self->answering_ = false;
    if (ec) return self->close();
    if (close_after) return self->close_after_answer();
    self->wait_for_request(true);
  });
}

template <class Stream>
void Session<Stream>::release_body() {
  if (body_reserved_ == 0) return;
  server_.release_body(body_reserved_);
  body_reserved_ = 0;
}

// After a refusal the client may still be sending (the body it was told not to): closing a
// socket with unread bytes resets the connection and can destroy the answer before the
// client reads it. So: stop sending, read and drop for a moment, then close.
template <class Stream>
void Session<Stream>::close_after_answer() {
  if (closing_) return;
  closing_ = true;
  parser_.reset();
  release_body();
  beast::error_code ignored;
  lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
  buffer_.clear();
  buffer_.shrink_to_fit();
  lowest().expires_after(std::chrono::milliseconds(500));
  drain();
}

template <class Stream>
void Session<Stream>::drain() {
  lowest().async_read_some(buffer_.prepare(4096), [self = this->shared_from_this()](beast::error_code ec, size_t) {
    self->buffer_.clear();
    if (ec || ++self->drained_ > 64) return self->close();  // at most 256 KiB, at most 500 ms
    self->drain();
  });
}

template <class Stream>
void Session<Stream>::close() {
  beast::error_code ignored;
  lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
  lowest().socket().close(ignored);
}

// Chosen by the table to make room. A connection that began a request since then finishes
// it and closes after its answer.
template <class Stream>
void Session<Stream>::shed() {
  if (connection_->waiting_since.load(std::memory_order_relaxed) == ConnectionState::kBusy) {
    must_close_ = true;
    return;
  }
  close();
}

template class Session<beast::tcp_stream>;
template class Session<beast::ssl_stream<beast::tcp_stream>>;

}  // namespace citadel::serving
