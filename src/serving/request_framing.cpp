// The header scanner and the framing check: strict where RFC 9112 lets a recipient choose
// between refusing and repairing, because a repair one parser makes and another does not
// is what smuggling is made of.
#include "request_framing.hpp"

#include <algorithm>
#include <boost/beast/core/string.hpp>

namespace citadel::serving {
namespace http = boost::beast::http;

namespace {

HeaderScan refused(int status, std::string problem) {
  HeaderScan scan;
  scan.state = HeaderScan::State::kRefused;
  scan.status = status;
  scan.problem = std::move(problem);
  return scan;
}

std::string_view trimmed(std::string_view value) {  // OWS: spaces and horizontal tabs
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  return value;
}

// "NAME 'VALUE' PROBLEM", the value cut at 64 bytes. (Appended piece by piece: GCC 12 warns
// falsely, -Wrestrict, on a chain of + here.)
std::string naming(const char* name, std::string_view value, const char* problem) {
  std::string text = name;
  text += " '";
  text += value.substr(0, 64);
  text += "' ";
  text += problem;
  return text;
}

}  // namespace

HeaderScan scan_header(std::string_view received, size_t max_header_bytes, size_t resume_at) {
  HeaderScan scan;
  size_t skip = 0;  // empty lines before the request line (the caller drops them, so few are ever rescanned)
  while (received.size() - skip >= 2 && received[skip] == '\r' && received[skip + 1] == '\n') skip += 2;
  if (skip > 0) resume_at = 0;  // what was scanned began with them
  if (skip > max_header_bytes) return refused(400, "only empty lines where a request was expected");
  scan.empty_lines = skip;
  const std::string_view header = received.substr(skip);
  const size_t end = std::min(header.size(), max_header_bytes);
  scan.scanned = header.size();
  for (size_t i = resume_at > 3 ? resume_at - 3 : 0; i < end; ++i) {
    const char c = header[i];
    if (c == '\0') return refused(400, "a NUL byte in the request header");
    if (c == '\n' && (i == 0 || header[i - 1] != '\r'))
      return refused(400, "a line feed without a carriage return in the request header");
    if (c != '\r') continue;
    if (i + 1 >= header.size()) return scan;  // the line feed has not arrived yet (resumed before it)
    if (header[i + 1] != '\n') return refused(400, "a carriage return without a line feed in the request header");
    if (i + 2 >= header.size()) return scan;
    const char next = header[i + 2];
    if (next == ' ' || next == '\t')
      return refused(400, "a header line that begins with whitespace (obs-fold) is refused");
    if (next == '\r') {
      if (i + 3 >= header.size()) return scan;
      if (header[i + 3] != '\n') return refused(400, "a carriage return without a line feed in the request header");
      if (i + 4 > max_header_bytes) break;
      scan.state = HeaderScan::State::kComplete;
      scan.length = i + 4;
      return scan;
    }
  }
  if (header.size() >= max_header_bytes)
    return refused(431, "the request header is larger than the limit of " + std::to_string(max_header_bytes) +
                            " bytes");
  return scan;
}

std::string framing_problem(const http::request_header<>& header) {
  const size_t codings = header.count(http::field::transfer_encoding);
  const size_t lengths = header.count(http::field::content_length);
  if (codings > 0) {
    if (header.version() < 11) return "Transfer-Encoding in an HTTP/1.0 request is refused";
    if (lengths > 0) return "Content-Length together with Transfer-Encoding is refused";
    if (codings > 1) return "Transfer-Encoding given more than once is refused";
    const std::string_view coding = trimmed(header[http::field::transfer_encoding]);
    if (!boost::beast::iequals(coding, "chunked"))
      return naming("Transfer-Encoding", coding, "is refused: only `chunked` is read");
  }
  if (lengths > 1) return "Content-Length given more than once is refused";
  if (lengths == 1) {
    const std::string_view length = trimmed(header[http::field::content_length]);
    if (length.empty() || length.size() > 18 ||
        !std::all_of(length.begin(), length.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return naming("Content-Length", length, "is not a number of bytes");
  }
  return "";
}

}  // namespace citadel::serving
