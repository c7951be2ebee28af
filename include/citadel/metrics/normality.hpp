// The Shapiro–Wilk test of normality: how well a sample's order statistics line up with
// those of a normal distribution. W is near 1 for normal samples and lower the further a
// sample is from normal; the extraction monitor (PRADA) raises its alarm on a low W.
#pragma once

#include <cstddef>
#include <vector>

namespace citadel {

// W for a sample of 3 to 5,000 values (ValueError otherwise, or when all values are equal),
// with Royston's (1992) approximation of the coefficients for n > 5 and the exact ones below.
double shapiro_wilk_w(std::vector<double> sample);

// The chance that a normal sample of n values (12 to 5,000) has a W this low or lower, from
// Royston's (1992) normal approximation of log(1 − W).
double shapiro_wilk_p_value(double w, size_t n);

// The standard normal distribution's quantile Φ⁻¹(p) for 0 < p < 1 (relative error < 1e-15).
double normal_quantile(double p);

}  // namespace citadel
