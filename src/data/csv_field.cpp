// csv_field: RFC 4180 quoting for the CSV files citadel writes.
#include "citadel/data/csv_field.hpp"

namespace citadel {

std::string csv_field(std::string_view text) {
  if (text.find_first_of(",\"\n\r") == std::string_view::npos) return std::string(text);
  std::string quoted = "\"";
  for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

}  // namespace citadel
