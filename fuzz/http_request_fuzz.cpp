// libFuzzer target for raw HTTP byte streams, read as a serving session reads them: the
// header scanner (line endings, obs-fold, the size limit), Beast's parser on the header it
// found, the header screen (framing, encoding, expectation), the body, then the router
// (endpoints, the v2 decoder, admission) and, when admitted, the prediction; then the next
// pipelined request from the bytes left. Any bytes must give answers or refusals, never a
// crash, a hang or undefined behaviour, and the smuggling invariants must hold: a request
// the screen accepts has one unambiguous body length (chunked, or one Content-Length).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "../src/serving/request_framing.hpp"
#include "../src/serving/server_internals.hpp"
#include "../tests/support/colour_model.hpp"

namespace {

using namespace citadel;
using namespace citadel::serving;

// A served model of two numeric columns and a categorical one, without authentication, so
// that every input reaches the router's whole path.
Server::Impl& server() {
  static Server::Impl* impl = [] {
    std::vector<ServedModel> models;
    models.push_back(colour_model("m", "round:2"));
    ServerOptions options;
    options.log_requests = false;
    options.max_header_bytes = 4 << 10;
    options.max_body_bytes = 64 << 10;
    options.limits.max_rows = 64;
    options.limits.max_elements = 4096;
    return new Server::Impl(std::move(models), std::nullopt, "", options, {});
  }();
  return *impl;
}

void answer(const Request& request) {
  Compute compute;
  try {
    Outcome outcome = server().route(request, "fuzz", nullptr, compute);
    if (compute) {  // the prediction, batched as a serving thread batches it: run its loop until answered
      static net::io_context loop(1);
      static PredictionBatcher batcher(loop.get_executor(), server().options().max_batch_rows,
                                       server().options().batch_delay, {});
      std::optional<Outcome> answered;
      compute(batcher, false, [&answered](Outcome result) { answered = std::move(result); });
      loop.restart();
      loop.run();
      if (!answered) __builtin_trap();  // every admitted request gets its answer
      outcome = std::move(*answered);
    }
  } catch (const citadel::Error&) {
    __builtin_trap();  // the router answers every refusal itself; nothing may escape it
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view received(reinterpret_cast<const char*>(data), size);
  const ServerOptions& options = server().options();
  for (int requests = 0; requests < 8 && !received.empty(); ++requests) {  // pipelined requests
    const HeaderScan scan = scan_header(received, options.max_header_bytes);
    if (scan.state != HeaderScan::State::kComplete) return 0;  // refused (400, 431), or waited for
    received.remove_prefix(scan.empty_lines);
    const std::string_view header = received.substr(0, scan.length);
    http::request_parser<http::string_body> parser;
    parser.header_limit(options.max_header_bytes);
    parser.body_limit(options.max_body_bytes);
    beast::error_code ec;
    const size_t parsed = parser.put(net::buffer(header.data(), header.size()), ec);
    if (ec || !parser.is_header_done()) return 0;  // 400, 413 or 431, and the connection closes
    if (parsed != header.size()) __builtin_trap();  // Beast reads exactly the header the scanner found
    const HeaderVerdict verdict = server().screen_header(parser.get(), "fuzz");
    if (verdict.refusal) return 0;  // answered, and the connection closes: nothing after it is read
    const auto& head = parser.get();
    if (head.count(http::field::transfer_encoding) > 0 &&  // read as chunked, or not at all
        (!parser.chunked() || head.count(http::field::content_length) > 0 || head.version() < 11))
      __builtin_trap();
    if (head.count(http::field::content_length) > 1) __builtin_trap();
    received.remove_prefix(parsed);
    if (!parser.is_done()) {
      parser.eager(true);
      const size_t body = parser.put(net::buffer(received.data(), received.size()), ec);
      if (ec || !parser.is_done()) return 0;  // malformed or too large (answered), or waited for
      if (parser.content_length() && parser.get().body().size() != *parser.content_length()) __builtin_trap();
      received.remove_prefix(body);
    }
    answer(parser.get());
  }
  return 0;
}
