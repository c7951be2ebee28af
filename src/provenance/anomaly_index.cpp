// Median and MAD by nth_element on copies: the lists are one value per label.
#include "citadel/provenance/anomaly_index.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "citadel/core/error.hpp"

namespace citadel {

double median_of(std::vector<double> values) {
  const size_t middle = values.size() / 2;
  std::nth_element(values.begin(), values.begin() + std::ptrdiff_t(middle), values.end());
  const double upper = values[middle];
  if (values.size() % 2 == 1) return upper;
  const double lower = *std::max_element(values.begin(), values.begin() + std::ptrdiff_t(middle));
  return (lower + upper) / 2;
}

AnomalyIndices anomaly_indices(const std::vector<double>& values) {
  CITADEL_CHECK(!values.empty(), ValueError, "anomaly_indices: no values");
  for (size_t i = 0; i < values.size(); ++i)
    CITADEL_CHECK(std::isfinite(values[i]), ValueError, "anomaly_indices: value ", i, " is ", values[i]);
  AnomalyIndices result;
  result.median = median_of(values);
  std::vector<double> deviations;
  for (double v : values) deviations.push_back(std::abs(v - result.median));
  result.median_absolute_deviation = median_of(deviations);
  // 1.4826 = 1 / Φ⁻¹(3/4): MAD · 1.4826 estimates σ for normally distributed values.
  const double scale = 1.4826 * result.median_absolute_deviation;
  for (double deviation : deviations)
    result.index.push_back(scale > 0 ? deviation / scale
                                     : (deviation == 0 ? 0.0 : std::numeric_limits<double>::infinity()));
  return result;
}

}  // namespace citadel
