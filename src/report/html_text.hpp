// Text as it goes into the page: every string that comes from data is escaped, so a class
// or column name can never become markup; numbers in one short, locale-free form.
#pragma once

#include <string>
#include <string_view>

namespace citadel::report::detail {

// &, <, >, " and ' as character references (safe in text and in quoted attributes).
std::string escape(std::string_view text);
// At most `length` characters (UTF-8 aware), with an ellipsis when cut; not escaped.
std::string shortened(std::string_view text, size_t length);
// "0.7597", "1.2e-05", "150": up to `digits` significant digits; "–" for NaN.
std::string number(double value, int digits = 4);

}  // namespace citadel::report::detail
