// One connection, on its serving thread: (with TLS, the handshake under the header
// deadline,) the header read under the header deadline and limit, the body under the body
// deadline and limit, framing errors answered and the connection closed, predictions
// batched on this thread (or, past max_batch_rows, handed to the pool for large requests),
// answers written, then the next request (keep-alive).
#include "citadel/core/threads.hpp"
#include "server_internals.hpp"

namespace citadel::serving {

using Response = http::response<http::string_body>;

namespace {

template <class Stream>
Stream make_stream(tcp::socket socket, Server::Impl& server) {
  if constexpr (std::is_same_v<Stream, beast::tcp_stream>) return Stream(std::move(socket));
  else return Stream(std::move(socket), *server.tls());
}

}  // namespace

template <class Stream>
Session<Stream>::Session(tcp::socket socket, Server::Impl& server, EventLoop& loop, std::string address)
    : stream_(make_stream<Stream>(std::move(socket), server)), server_(server), loop_(loop),
      address_(std::move(address)) {}

template <class Stream>
Session<Stream>::~Session() {
  if (answering_) server_.end_request();  // a write that never completed
  --loop_.connections;
  server_.release_connection(address_);
}

template <class Stream>
void Session<Stream>::start() {
  if constexpr (!kTls) {
    read_header(server_.options().header_timeout);
  } else {
    lowest().expires_after(server_.options().header_timeout);  // a handshake that never ends is slowloris too
    stream_.async_handshake(net::ssl::stream_base::server,
                            [self = this->shared_from_this()](beast::error_code ec) {
                              if (ec) return self->close();  // not TLS, or not a certificate it accepts
                              self->read_header(self->server_.options().header_timeout);
                            });
  }
}

template <class Stream>
void Session<Stream>::read_header(std::chrono::milliseconds deadline) {
  parser_.emplace();
  parser_->header_limit(server_.options().max_header_bytes);
  parser_->body_limit(server_.options().max_body_bytes);
  lowest().expires_after(deadline);
  http::async_read_header(stream_, buffer_, *parser_,
                          [self = this->shared_from_this()](beast::error_code ec, size_t) { self->on_header(ec); });
}

template <class Stream>
void Session<Stream>::on_header(beast::error_code ec) {
  if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == net::error::operation_aborted ||
      ec == net::error::connection_reset || ec == net::error::eof)
    return close();
  if (ec == http::error::header_limit) return reject(431, "the request header is larger than allowed", "header_limit");
  if (ec == http::error::body_limit) return reject(413, "the request body is larger than allowed", "body_limit");
  if (ec) return reject(400, "malformed request: " + ec.message(), "malformed");
  const auto& request = parser_->get();
  if (request.count(http::field::content_length) && request.count(http::field::transfer_encoding))
    return reject(400, "Content-Length together with Transfer-Encoding is refused", "malformed");
  if (request.count(http::field::content_encoding))
    return reject(415, "Content-Encoding is not accepted; send the body uncompressed", "media_type");
  if (parser_->is_done()) return handle();
  lowest().expires_after(server_.options().body_timeout);
  http::async_read(stream_, buffer_, *parser_, [self = this->shared_from_this()](beast::error_code body_error, size_t) {
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
    outcome = server_.route(request, address_, compute);
  } catch (const std::exception& e) {  // never out of the serving thread: that would end the server
    compute = nullptr;
    outcome = failure(500, std::string("internal error: ") + e.what(), "error");
  }
  if (!compute) {
    if (outcome.unauthorized) {  // a failed attempt costs time, more for repeated failures
      auto timer = std::make_shared<net::steady_timer>(stream_.get_executor(), server_.failed_auth_delay(address_));
      timer->async_wait([self = this->shared_from_this(), timer, outcome](const beast::error_code&) { self->respond(outcome); });
      return;
    }
    return respond(outcome);
  }
  auto self = this->shared_from_this();
  if (outcome.rows <= server_.options().max_batch_rows)  // batched and predicted on this loop
    return compute(loop_.batcher, false, [self](Outcome result) { self->respond(result); });
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
  keep_alive_ = false;
  must_close_ = true;
  version_ = 11;
  target_ = parser_ && parser_->is_header_done() ? std::string(parser_->get().target()) : "-";
  started_ = std::chrono::steady_clock::now();
  respond(failure(status, message, reason));
}

template <class Stream>
void Session<Stream>::respond(const Outcome& outcome) {
  auto response = std::make_shared<Response>(static_cast<http::status>(outcome.status), version_);
  response->set(http::field::server, "citadel");
  response->set(http::field::content_type, outcome.content_type);
  if (outcome.retry_after > 0) response->set(http::field::retry_after, std::to_string(outcome.retry_after));
  if (outcome.unauthorized) response->set(http::field::www_authenticate, "Bearer");
  if (outcome.inference_header_length)
    response->set("Inference-Header-Content-Length", std::to_string(*outcome.inference_header_length));
  const bool close_after = !keep_alive_ || must_close_ || server_.stopping();
  response->keep_alive(!close_after);
  response->body() = outcome.body;
  response->prepare_payload();
  server_.finished(outcome, address_, target_,
                   std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started_).count());
  lowest().expires_after(server_.options().body_timeout);
  http::async_write(stream_, *response, [self = this->shared_from_this(), response, close_after](beast::error_code ec, size_t) {
    if (self->answering_) self->server_.end_request();
    self->answering_ = false;
    if (ec || close_after) return self->close();
    self->read_header(self->server_.options().idle_timeout);
  });
}

template <class Stream>
void Session<Stream>::close() {
  beast::error_code ignored;
  lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
  lowest().socket().close(ignored);
}

template class Session<beast::tcp_stream>;
template class Session<beast::ssl_stream<beast::tcp_stream>>;

}  // namespace citadel::serving
