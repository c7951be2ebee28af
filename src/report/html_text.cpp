// Escaping and number formatting for the HTML page.
#include "html_text.hpp"

#include <cmath>
#include <cstdio>

namespace citadel::report::detail {

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default:
        // Control characters other than tab and newline have no business in a page.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n') out += "\xEF\xBF\xBD";
        else out += c;
    }
  }
  return out;
}

std::string shortened(std::string_view text, size_t length) {
  size_t characters = 0, cut = text.size();
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) continue;  // a UTF-8 continuation byte
    if (characters == length) {
      cut = i;
      break;
    }
    ++characters;
  }
  if (cut == text.size()) return std::string(text);
  return std::string(text.substr(0, cut)) + "\xE2\x80\xA6";
}

std::string number(double value, int digits) {
  if (std::isnan(value)) return "\xE2\x80\x93";
  if (std::isinf(value)) return value > 0 ? "\xE2\x88\x9E" : "-\xE2\x88\x9E";
  char text[32];
  std::snprintf(text, sizeof text, "%.*g", digits, value);
  std::string out = text;
  return out == "-0" ? "0" : out;
}

std::string figure(double value) {
  // Far from 1 four decimals say too little or too much: significant digits there.
  if (!std::isfinite(value) || (value != 0 && std::fabs(value) < 1e-3) || std::fabs(value) >= 1e9)
    return number(value, 4);
  char text[32];
  std::snprintf(text, sizeof text, "%.4f", value);
  const std::string out = text;
  return out == "-0.0000" ? "0.0000" : out;
}

std::string count_text(int64_t count) {
  std::string digits = std::to_string(count < 0 ? -count : count), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return count < 0 ? "-" + out : out;
}

}  // namespace citadel::report::detail
