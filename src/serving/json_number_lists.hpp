// A fast path for the bulk of a JSON infer request: each input's "data" list of plain
// numbers (flat or nested) is read by a dedicated scanner instead of the general JSON
// parser, whose per-number cost was most of a request's time (docs/PERFORMANCE.md, W5).
// The lists are replaced in the text by a marker the client cannot forge; the rest of the
// request goes to the general parser as before. The answers are the same either way:
// anything the scanner is unsure of (null, strings, a number out of double's range) stays
// in the text for the general parser.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace citadel::serving {

struct ClaimedNumberLists {
  std::string text;                         // the request with each claimed list replaced by a marker
  std::vector<std::vector<double>> lists;   // the claimed lists, flattened, by marker index
  int deepest = 0;  // the deepest nesting inside the claimed lists, counted from the root as json_nesting_depth counts
};

// Claims the lists of `"inputs": [{..., "data": [...]}]` at the top level of `body`, or
// nothing (an empty text) when the body holds the escape the markers are made of.
ClaimedNumberLists claim_number_lists(std::string_view body);

// The list a marker string stands for; nullopt when `value` is no marker of `claimed`.
const std::vector<double>* claimed_list(const ClaimedNumberLists& claimed, const std::string& value);

}  // namespace citadel::serving
