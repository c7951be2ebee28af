// One connection: the header read under the header deadline and limit, the body under the
// body deadline and limit, framing errors answered and the connection closed, predictions
// handed to the compute pool, answers written, then the next request (keep-alive).
#include "server_internals.hpp"

namespace citadel::serving {

using Response = http::response<http::string_body>;

Session::Session(tcp::socket socket, Server::Impl& server, std::string address)
    : stream_(std::move(socket)), server_(server), address_(std::move(address)) {}

Session::~Session() {
  if (answering_) server_.end_request();  // a write that never completed
  server_.release_connection(address_);
}

void Session::start() { read_header(server_.options().header_timeout); }

void Session::read_header(std::chrono::milliseconds deadline) {
  parser_.emplace();
  parser_->header_limit(server_.options().max_header_bytes);
  parser_->body_limit(server_.options().max_body_bytes);
  stream_.expires_after(deadline);
  http::async_read_header(stream_, buffer_, *parser_,
                          [self = shared_from_this()](beast::error_code ec, size_t) { self->on_header(ec); });
}

void Session::on_header(beast::error_code ec) {
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

void Session::handle() {
  server_.begin_request();  // in flight from the whole request read to the answer written
  answering_ = true;
  started_ = std::chrono::steady_clock::now();
  const auto& request = parser_->get();
  target_ = std::string(request.target());
  keep_alive_ = request.keep_alive();
  version_ = request.version();
  std::function<Outcome()> compute;
  Outcome outcome;
  try {
    outcome = server_.route(request, address_, compute);
  } catch (const std::exception& e) {  // never out of the I/O thread: that would end the server
    compute = nullptr;
    outcome = failure(500, std::string("internal error: ") + e.what(), "error");
  }
  if (!compute) {
    if (outcome.unauthorized) {  // a failed attempt costs time, more for repeated failures
      auto timer = std::make_shared<net::steady_timer>(stream_.get_executor(), server_.failed_auth_delay(address_));
      timer->async_wait([self = shared_from_this(), timer, outcome](const beast::error_code&) { self->respond(outcome); });
      return;
    }
    return respond(outcome);
  }
  net::post(server_.compute(), [self = shared_from_this(), compute = std::move(compute)]() {
    Outcome result = compute();
    net::post(self->stream_.get_executor(), [self, result]() { self->respond(result); });
  });
}

// A framing error: the rest of the connection cannot be trusted, so it closes after this.
void Session::reject(int status, const std::string& message, const std::string& reason) {
  keep_alive_ = false;
  must_close_ = true;
  version_ = 11;
  target_ = parser_ && parser_->is_header_done() ? std::string(parser_->get().target()) : "-";
  started_ = std::chrono::steady_clock::now();
  respond(failure(status, message, reason));
}

void Session::respond(const Outcome& outcome) {
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
  stream_.expires_after(server_.options().body_timeout);
  http::async_write(stream_, *response, [self = shared_from_this(), response, close_after](beast::error_code ec, size_t) {
    if (self->answering_) self->server_.end_request();
    self->answering_ = false;
    if (ec || close_after) return self->close();
    self->read_header(self->server_.options().idle_timeout);
  });
}

void Session::close() {
  beast::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream_.socket().close(ignored);
}

}  // namespace citadel::serving
