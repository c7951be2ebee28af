// The median-absolute-deviation anomaly index Neural Cleanse (Wang et al., S&P 2019) ranks labels
// by: |v − median| / (1.4826 · MAD), the consistency constant making MAD estimate the standard
// deviation of normal data, so an index above 2 is an outlier at about 95 % confidence.
#pragma once

#include <vector>

namespace citadel {

struct AnomalyIndices {
  double median = 0, median_absolute_deviation = 0;
  // One per value. When every value equals the median (MAD 0), the index is 0 for those
  // values and +infinity for any other.
  std::vector<double> index;
};

// The median (the mean of the two middle values for an even count); the list must not be empty.
double median_of(std::vector<double> values);

// ValueError for an empty list or a value that is not finite.
AnomalyIndices anomaly_indices(const std::vector<double>& values);

}  // namespace citadel
