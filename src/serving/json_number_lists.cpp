// The scanner behind claim_number_lists: it follows strings (escapes included) and the
// nesting of objects and lists so that only a "data" key of an object inside the top-level
// "inputs" list is claimed; numbers are read by JSON's grammar and correctly rounded, like
// the general parser's strtod (an exact fast path for short decimals, std::from_chars else).
#include "json_number_lists.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>

namespace citadel::serving {
namespace {

constexpr std::string_view kMarkerEscape = "\\u0000";

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Exact powers of ten: every one up to 10^22 is a double.
constexpr double kPowersOfTen[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                   1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

// Reads JSON's number grammar at p, -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, into
// `value`, correctly rounded; its end, or nullptr when there is no number there or double
// cannot hold it. What clients send (a few digits, a small exponent) takes Clinger's fast
// path: a mantissa of at most 2^53 and a power of ten of at most 10^22 are both exact
// doubles, so the one multiplication or division rounds correctly. Anything else goes to
// std::from_chars.
const char* read_number(const char* p, const char* end, double& value, bool& integral) {
  const char* const start = p;
  integral = true;
  const bool negative = p < end && *p == '-';
  if (negative) ++p;
  if (p == end || !is_digit(*p)) return nullptr;
  uint64_t mantissa = 0;
  int digits = 0, exponent = 0;
  bool exact = true;
  auto take = [&](char c) {
    if (digits == 19) exact = false;  // more digits than uint64 holds: from_chars reads it
    else mantissa = mantissa * 10 + uint64_t(c - '0'), ++digits;
  };
  if (*p == '0') ++p;
  else while (p < end && is_digit(*p)) take(*p++);
  if (p < end && *p == '.') {
    integral = false;
    if (++p == end || !is_digit(*p)) return nullptr;
    while (p < end && is_digit(*p)) take(*p++), --exponent;
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    integral = false;
    ++p;
    const bool below = p < end && *p == '-';
    if (p < end && (*p == '+' || *p == '-')) ++p;
    if (p == end || !is_digit(*p)) return nullptr;
    int written = 0;
    while (p < end && is_digit(*p)) written = std::min(written * 10 + (*p++ - '0'), 100'000);
    exponent += below ? -written : written;
  }
  if (exact && mantissa <= (uint64_t(1) << 53) && exponent >= -22 && exponent <= 22) {
    const double m = double(mantissa);
    value = exponent < 0 ? m / kPowersOfTen[-exponent] : m * kPowersOfTen[exponent];
    if (negative) value = -value;
    return p;
  }
  const auto [ptr, error] = std::from_chars(start, p, value);
  if (error != std::errc() || ptr != p) return nullptr;  // out of double's range: the general parser says so
  return p;
}

// Reads a list of numbers and lists of numbers from `p` (at its '['); the end of the list,
// or nullptr when it holds anything else or does not end.
const char* read_number_list(const char* p, const char* end, std::vector<double>& out, int& deepest) {
  int depth = 0;
  deepest = 0;
  bool expect_value = true;  // after '[' or ','
  bool after_comma = false;  // a ']' here would end a list with a trailing comma
  for (; p < end; ++p) {
    const char c = *p;
    if (is_space(c)) continue;
    if (c == '[') {
      if (!expect_value) return nullptr;
      deepest = std::max(deepest, ++depth);
      after_comma = false;
      continue;
    }
    if (c == ']') {
      if (after_comma) return nullptr;
      expect_value = false;
      if (--depth == 0) return p + 1;
      continue;
    }
    if (c == ',') {
      if (expect_value) return nullptr;
      expect_value = after_comma = true;
      continue;
    }
    after_comma = false;
    if (!expect_value) return nullptr;
    bool integral = false;
    double value = 0;
    const char* stop = read_number(p, end, value, integral);
    if (stop == nullptr) return nullptr;
    out.push_back(integral && value == 0 ? 0.0 : value);       // "-0" is the integer 0 there
    expect_value = false;
    p = stop - 1;
  }
  return nullptr;
}

// The end of the string starting at p (its opening quote), past the closing quote;
// nullptr when it does not end.
const char* string_end(const char* p, const char* end) {
  for (++p; p < end; ++p) {
    if (*p == '\\') ++p;
    else if (*p == '"') return p + 1;
  }
  return nullptr;
}

}  // namespace

ClaimedNumberLists claim_number_lists(std::string_view body) {
  ClaimedNumberLists claimed;
  if (body.find(kMarkerEscape) != std::string_view::npos) return claimed;  // a marker could be forged
  const char* const begin = body.data();
  const char* const end = begin + body.size();
  // The open containers: '{' or '[', and whether it is the one a claim needs at its depth.
  struct Open {
    char kind;
    bool on_path;
  };
  std::vector<Open> open;
  std::string_view last_key;
  const char* copied = begin;
  for (const char* p = begin; p < end;) {
    const char c = *p;
    if (c == '"') {
      const char* stop = string_end(p, end);
      if (stop == nullptr) break;  // the general parser names the error
      const std::string_view text(p + 1, static_cast<size_t>(stop - p) - 2);
      const char* q = stop;
      while (q < end && is_space(*q)) ++q;
      const bool is_key = q < end && *q == ':' && !open.empty() && open.back().kind == '{';
      if (!is_key) {
        p = stop;
        continue;
      }
      last_key = text;
      ++q;
      while (q < end && is_space(*q)) ++q;
      // root {  →  "inputs": [  →  {  →  "data": [...]
      const bool in_input = open.size() == 3 && open[0].on_path && open[1].on_path && open[2].on_path;
      if (in_input && text == "data" && q < end && *q == '[') {
        std::vector<double> numbers;
        int list_depth = 0;
        if (const char* list_end = read_number_list(q, end, numbers, list_depth)) {
          claimed.deepest = std::max(claimed.deepest, static_cast<int>(open.size()) + list_depth);
          claimed.text.append(copied, q);
          claimed.text += '"';
          claimed.text += kMarkerEscape;
          claimed.text += std::to_string(claimed.lists.size());
          claimed.text += '"';
          claimed.lists.push_back(std::move(numbers));
          copied = p = list_end;
          continue;
        }
      }
      p = q;
      continue;
    }
    if (c == '{' || c == '[') {
      const size_t depth = open.size();
      const bool parent_on_path = depth == 0 || open[depth - 1].on_path;
      bool on_path = false;
      if (depth == 0) on_path = c == '{';
      else if (depth == 1) on_path = parent_on_path && c == '[' && last_key == "inputs";
      else if (depth == 2) on_path = parent_on_path && c == '{';
      open.push_back({c, on_path});
      last_key = {};
    } else if (c == '}' || c == ']') {
      if (!open.empty()) open.pop_back();
    }
    ++p;
  }
  if (claimed.lists.empty()) return {};  // nothing claimed: the body is parsed as it is
  claimed.text.append(copied, end);
  return claimed;
}

const std::vector<double>* claimed_list(const ClaimedNumberLists& claimed, const std::string& value) {
  if (value.size() < 2 || value[0] != '\0') return nullptr;
  size_t index = 0;
  const auto [ptr, error] = std::from_chars(value.data() + 1, value.data() + value.size(), index);
  if (error != std::errc() || ptr != value.data() + value.size() || index >= claimed.lists.size()) return nullptr;
  return &claimed.lists[index];
}

}  // namespace citadel::serving
