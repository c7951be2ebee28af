// Text as it goes into the page: every string that comes from data is escaped, so a class
// or column name can never become markup; numbers in one short, locale-free form.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace citadel::report::detail {

// &, <, >, " and ' as character references (safe in text and in quoted attributes).
std::string escape(std::string_view text);
// At most `length` characters (UTF-8 aware), with an ellipsis when cut; not escaped.
std::string shortened(std::string_view text, size_t length);
// "0.7597", "1.2e-05", "150": up to `digits` significant digits; "–" for NaN. For settings
// and axis ticks.
std::string number(double value, int digits = 4);
// A measured figure (loss, accuracy, AUC, ε): four decimals, as the terminal and Keras print
// them ("0.4068", "0.8000"), or four significant digits below 0.001 ("2.5e-05"); "–" for NaN.
std::string figure(double value);
// "20,000": counts in the page's notes read at a glance.
std::string count_text(int64_t count);

}  // namespace citadel::report::detail
