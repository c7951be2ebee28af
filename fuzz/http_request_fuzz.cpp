// libFuzzer target for raw HTTP requests: the bytes go through Beast's parser with the
// server's limits, then the router (tokens, endpoints, the v2 decoder, admission) and, when
// admitted, the prediction. Any bytes must give an answer or a parse error, never a crash,
// a hang or undefined behaviour.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

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
    options.limits.max_rows = 64;
    options.limits.max_elements = 4096;
    return new Server::Impl(std::move(models), std::nullopt, "", options, {});
  }();
  return *impl;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  http::request_parser<http::string_body> parser;
  parser.header_limit(server().options().max_header_bytes);
  parser.body_limit(64 << 10);
  parser.eager(true);
  beast::error_code ec;
  parser.put(net::buffer(data, size), ec);
  if (!ec && !parser.is_done()) parser.put_eof(ec);
  if (ec || !parser.is_done()) return 0;  // answered 4xx by the session, or waited for
  Compute compute;
  try {
    Outcome outcome = server().route(parser.get(), "fuzz", compute);
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
  return 0;
}
