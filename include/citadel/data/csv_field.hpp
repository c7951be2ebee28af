// Writing CSV: a field as it goes into a file (what citadel/data/csv.hpp reads back).
#pragma once

#include <string>
#include <string_view>

namespace citadel {

// Quoted, its quotes doubled, when it holds a comma, a quote or a line break (RFC 4180); as
// it is otherwise.
std::string csv_field(std::string_view text);

}  // namespace citadel
