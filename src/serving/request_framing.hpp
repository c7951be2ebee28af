// Where a request's header ends and whether its framing is unambiguous (RFC 9112 §2.2, §5,
// §6): the checks that keep two HTTP parsers from reading one byte stream as different
// requests (request smuggling). The serving sessions and the HTTP fuzz target both use them.
#pragma once

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <cstddef>
#include <string>
#include <string_view>

namespace citadel::serving {

struct HeaderScan {
  enum class State { kIncomplete, kComplete, kRefused };
  State state = State::kIncomplete;
  size_t empty_lines = 0;  // bytes of CRLFs before the request line, to be skipped (§2.2)
  size_t length = 0;       // kComplete: the header's bytes after them, its blank line included
  size_t scanned = 0;      // kIncomplete: the header's bytes examined, where the next scan resumes
  int status = 0;          // kRefused: 400 (malformed) or 431 (too large)
  std::string problem;     // kRefused: why, for the client
};

// Scans the bytes received so far for the end of a request header of at most
// `max_header_bytes`. Refused: a bare CR or LF (a line ending another parser reads
// differently), a NUL, obs-fold (a field line continued on the next line), and a header
// that has not ended within the limit. `resume_at`: the `scanned` of the previous scan of
// these bytes (once its empty lines were dropped), so that a header trickled byte by byte
// is not scanned again from its start each time.
HeaderScan scan_header(std::string_view received, size_t max_header_bytes, size_t resume_at = 0);

// Why a parsed request header's body length is ambiguous, or "" when it is not: any
// Transfer-Encoding but exactly one `chunked` (case-insensitive, with optional whitespace),
// Transfer-Encoding in HTTP/1.0, Transfer-Encoding with Content-Length, and a Content-Length
// given more than once or as anything but digits. Each is a 400, after which the connection
// closes (§6.3): what follows cannot be told from a second request.
std::string framing_problem(const boost::beast::http::request_header<>& header);

}  // namespace citadel::serving
