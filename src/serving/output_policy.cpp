// Output policies: parsing and the coarsening of each answered row.
#include "citadel/serving/output_policy.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "citadel/core/error.hpp"

namespace citadel::serving {

OutputPolicy OutputPolicy::parse(const std::string& text, const std::string& where) {
  auto parameter = [&](size_t prefix, int low, int high) {
    const std::string digits = text.substr(prefix);
    CITADEL_CHECK(!digits.empty() && digits.size() <= 3 && std::all_of(digits.begin(), digits.end(), ::isdigit),
                  ValueError, where, ": '", text, "' needs a whole number after the colon");
    const int value = std::stoi(digits);
    CITADEL_CHECK(value >= low && value <= high, ValueError, where, ": '", text, "' must be from ", low, " to ", high);
    return value;
  };
  if (text == "full") return {Kind::kFull, 0};
  if (text == "label") return {Kind::kLabel, 0};
  if (text.rfind("topk:", 0) == 0) return {Kind::kTopK, parameter(5, 1, 1000)};
  if (text.rfind("round:", 0) == 0) return {Kind::kRound, parameter(6, 0, 9)};
  throw ValueError(where + ": unknown output policy '" + text + "'; use full, topk:K, round:D or label");
}

std::string OutputPolicy::text() const {
  switch (kind) {
    case Kind::kFull: return "full";
    case Kind::kTopK: return "topk:" + std::to_string(parameter);
    case Kind::kRound: return "round:" + std::to_string(parameter);
    case Kind::kLabel: return "label";
  }
  return "full";
}

void OutputPolicy::apply(float* row, int64_t count) const {
  if (kind == Kind::kRound) {
    const double scale = std::pow(10.0, parameter);
    for (int64_t i = 0; i < count; ++i) row[i] = static_cast<float>(std::round(double(row[i]) * scale) / scale);
  } else if (kind == Kind::kTopK && count > parameter) {
    std::vector<int64_t> order(static_cast<size_t>(count));
    std::iota(order.begin(), order.end(), 0);
    // Ties keep the lower class index, so the answer does not depend on the sort.
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return row[a] > row[b]; });
    for (size_t i = static_cast<size_t>(parameter); i < order.size(); ++i) row[order[i]] = 0.0f;
  }
}

}  // namespace citadel::serving
