// The header scanner and the framing check: each smuggling shape refused, exactly `chunked`
// and plain lengths accepted, and the scanner's verdict equal to an independent reading of
// the same bytes (split at the first blank line, then checked) on generated headers, whole
// and trickled byte by byte.
#include "../../src/serving/request_framing.hpp"

#include <gtest/gtest.h>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <random>

namespace request_framing_test {

using namespace citadel::serving;
namespace http = boost::beast::http;

namespace {

// Beast's parse of a header, then the framing check ("parse error" when Beast refuses it).
std::string framing_of(const std::string& fields, const std::string& version = "HTTP/1.1") {
  http::request_parser<http::string_body> parser;
  boost::beast::error_code ec;
  const std::string header = "POST /v2/models/m/infer " + version + "\r\nHost: x\r\n" + fields + "\r\n";
  parser.put(boost::asio::buffer(header), ec);
  if (ec || !parser.is_header_done()) return "parse error";
  return framing_problem(parser.get());
}

// The reading the scanner must agree with, written differently: the header is everything
// up to the first blank line; refused when, within it, a CR is not followed by LF, a LF not
// preceded by CR, a NUL appears, or a line starts with whitespace; too large past the limit.
HeaderScan::State reference(const std::string& bytes, size_t limit, size_t& length) {
  size_t skip = 0;
  while (bytes.compare(skip, 2, "\r\n") == 0) skip += 2;
  const std::string rest = bytes.substr(skip);
  const size_t blank = rest.find("\r\n\r\n");
  const std::string header = blank == std::string::npos ? rest : rest.substr(0, blank + 4);
  const std::string checked = header.substr(0, std::min(header.size(), limit));
  for (size_t i = 0; i < checked.size(); ++i) {
    if (checked[i] == '\0') return HeaderScan::State::kRefused;
    if (checked[i] == '\n' && (i == 0 || checked[i - 1] != '\r')) return HeaderScan::State::kRefused;
    if (checked[i] == '\r' && i + 1 < checked.size() && checked[i + 1] != '\n') return HeaderScan::State::kRefused;
    if (i >= 2 && checked[i - 2] == '\r' && checked[i - 1] == '\n' && (checked[i] == ' ' || checked[i] == '\t'))
      return HeaderScan::State::kRefused;
  }
  if (blank != std::string::npos && blank + 4 <= limit) {
    length = blank + 4;
    return HeaderScan::State::kComplete;
  }
  return rest.size() >= limit ? HeaderScan::State::kRefused : HeaderScan::State::kIncomplete;
}

}  // namespace

TEST(RequestFraming, TransferEncodingOtherThanExactlyChunkedIsRefused) {
  for (const char* fields : {"Transfer-Encoding: chunked, identity\r\n", "Transfer-Encoding: gzip\r\n",
                             "Transfer-Encoding: identity\r\n", "Transfer-Encoding: gzip, chunked\r\n",
                             "Transfer-Encoding: chunked, chunked\r\n", "Transfer-Encoding: xchunked\r\n",
                             "Transfer-Encoding: \"chunked\"\r\n", "Transfer-Encoding: chunked;x=1\r\n",
                             "Transfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\n",
                             "Transfer-Encoding: gzip\r\nContent-Length: 3\r\n", "Content-Length: 3, 3\r\n",
                             "Content-Length: 3\r\nContent-Length: 3\r\n", "Content-Length: 3\r\nContent-Length: 4\r\n",
                             "Content-Length: +3\r\n", "Content-Length: 0x3\r\n", "Content-Length: \r\n"}) {
    const std::string problem = framing_of(fields);
    EXPECT_FALSE(problem.empty()) << fields;
  }
  EXPECT_NE(framing_of("Transfer-Encoding: gzip\r\n").find("only `chunked`"), std::string::npos);
  EXPECT_NE(framing_of("Transfer-Encoding: chunked\r\n", "HTTP/1.0").find("HTTP/1.0"), std::string::npos);
  for (const char* fields : {"", "Content-Length: 0\r\n", "Content-Length: 12\r\n", "Transfer-Encoding: chunked\r\n",
                             "Transfer-Encoding:   CHUNKED \t\r\n", "Transfer-Encoding: Chunked\r\n"})
    EXPECT_EQ(framing_of(fields), "") << fields;
}

TEST(RequestFraming, TheScannerFindsTheHeaderAndRefusesWhatParsersReadDifferently) {
  const std::string header = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  HeaderScan scan = scan_header(header + "BODY", 1024);
  ASSERT_EQ(scan.state, HeaderScan::State::kComplete);
  EXPECT_EQ(scan.length, header.size());
  scan = scan_header("\r\n\r\n" + header, 1024);  // empty lines before a request are skipped
  ASSERT_EQ(scan.state, HeaderScan::State::kComplete);
  EXPECT_EQ(scan.empty_lines, 4u);
  EXPECT_EQ(scan.length, header.size());
  EXPECT_EQ(scan_header("GET / HTTP/1.1\r\nHost: x\r\n", 1024).state, HeaderScan::State::kIncomplete);
  for (const std::string& bad : {std::string("GET / HTTP/1.1\nHost: x\r\n\r\n"), std::string("GET / HTTP/1.1\r\nA: b\rc\r\n\r\n"),
                                 std::string("GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n"),
                                 std::string("GET / HTTP/1.1\r\nA: b\r\n\tc\r\n\r\n"),
                                 std::string("GET / HTTP/1.1\r\nA: b\0c\r\n\r\n", 26)}) {
    scan = scan_header(bad, 1024);
    EXPECT_EQ(scan.state, HeaderScan::State::kRefused) << bad;
    EXPECT_EQ(scan.status, 400);
  }
  scan = scan_header("GET / HTTP/1.1\r\nX: " + std::string(2000, 'a') + "\r\n\r\n", 1024);
  EXPECT_EQ(scan.state, HeaderScan::State::kRefused);
  EXPECT_EQ(scan.status, 431);
}

// Generated byte strings over the characters that matter, whole and fed one byte at a time
// with the scan resumed where it stopped: the same verdict as the reference each time.
TEST(RequestFraming, TheScannerAgreesWithAnIndependentReadingWholeAndTrickled) {
  std::mt19937 random(9112);
  const std::string alphabet = std::string("ab: \t\r\n\r\n\r\n", 12) + std::string(1, '\0');
  for (int trial = 0; trial < 4000; ++trial) {
    std::string bytes = trial % 3 == 0 ? "GET / HTTP/1.1\r\n" : "";
    const int length = std::uniform_int_distribution<int>(0, 60)(random);
    for (int i = 0; i < length; ++i)
      bytes += alphabet[std::uniform_int_distribution<size_t>(0, alphabet.size() - 1)(random)];
    if (trial % 2 == 0) bytes += "\r\n\r\n";
    const size_t limit = trial % 5 == 0 ? 24 : 1024;
    size_t expected_length = 0;
    const HeaderScan::State expected = reference(bytes, limit, expected_length);
    const HeaderScan whole = scan_header(bytes, limit);
    ASSERT_EQ(whole.state, expected) << ::testing::PrintToString(bytes);
    if (expected == HeaderScan::State::kComplete) {
      ASSERT_EQ(whole.length, expected_length);
    }
    // Trickled: the bytes so far, empty lines dropped as the session drops them, resumed.
    std::string held;
    size_t scanned = 0;
    HeaderScan last;
    for (char c : bytes) {
      held += c;
      last = scan_header(held, limit, scanned);
      held.erase(0, last.empty_lines);
      if (last.state != HeaderScan::State::kIncomplete) break;
      scanned = last.scanned;
    }
    ASSERT_EQ(last.state, expected) << ::testing::PrintToString(bytes);
    if (expected == HeaderScan::State::kComplete) {
      ASSERT_EQ(last.length, expected_length);
    }
  }
}

}  // namespace request_framing_test
