// Shapiro–Wilk W. The coefficients are the normal order-statistic expectations m_i
// (Blom's approximation Φ⁻¹((i − 3/8)/(n + 1/4))), normalised, with the two outermost on
// each side corrected by Royston's polynomials in 1/√n; for n = 3 they are exact.
#include "citadel/metrics/normality.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "citadel/core/error.hpp"

namespace citadel {

double normal_quantile(double p) {
  CITADEL_CHECK(p > 0 && p < 1, ValueError, "normal_quantile: p must be in (0, 1), got ", p);
  // Acklam's rational approximation (relative error 1.15e-9), then one Halley step on
  // Φ(x) − p with erfc, which brings it to double precision.
  static constexpr double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                                 1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  static constexpr double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                                 6.680131188771972e+01,  -1.328068155288572e+01};
  static constexpr double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                                 -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
  static constexpr double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                                 3.754408661907416e+00};
  constexpr double low = 0.02425;
  double x;
  if (p < low || p > 1 - low) {
    const double q = std::sqrt(-2 * std::log(p < low ? p : 1 - p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    if (p > 1 - low) x = -x;
  } else {
    const double q = p - 0.5, r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  }
  const double e = 0.5 * std::erfc(-x / std::sqrt(2.0)) - p;
  const double u = e * std::sqrt(2 * M_PI) * std::exp(x * x / 2);
  return x - u / (1 + x * u / 2);
}

double shapiro_wilk_w(std::vector<double> sample) {
  const size_t n = sample.size();
  CITADEL_CHECK(n >= 3 && n <= 5000, ValueError, "Shapiro-Wilk needs 3 to 5000 values, got ", n);
  std::sort(sample.begin(), sample.end());
  const double mean = std::accumulate(sample.begin(), sample.end(), 0.0) / double(n);
  double spread = 0;
  for (double x : sample) spread += (x - mean) * (x - mean);
  CITADEL_CHECK(spread > 0 && std::isfinite(spread), ValueError, "Shapiro-Wilk: the values are all equal");

  std::vector<double> coefficient(n);
  if (n == 3) {
    coefficient = {-std::sqrt(0.5), 0, std::sqrt(0.5)};
  } else {
    std::vector<double> m(n);
    double mm = 0;
    for (size_t i = 0; i < n; ++i) {
      m[i] = normal_quantile((double(i + 1) - 0.375) / (double(n) + 0.25));
      mm += m[i] * m[i];
    }
    const double u = 1 / std::sqrt(double(n));
    const double last = m[n - 1] / std::sqrt(mm) + u * (0.221157 + u * (-0.147981 + u * (-2.071190 + u * (4.434685 + u * -2.706056))));
    if (n <= 5) {
      const double phi = (mm - 2 * m[n - 1] * m[n - 1]) / (1 - 2 * last * last);
      for (size_t i = 1; i + 1 < n; ++i) coefficient[i] = m[i] / std::sqrt(phi);
      coefficient[n - 1] = last, coefficient[0] = -last;
    } else {
      const double second = m[n - 2] / std::sqrt(mm) +
                            u * (0.042981 + u * (-0.293762 + u * (-1.752461 + u * (5.682633 + u * -3.582633))));
      const double phi = (mm - 2 * m[n - 1] * m[n - 1] - 2 * m[n - 2] * m[n - 2]) /
                         (1 - 2 * last * last - 2 * second * second);
      for (size_t i = 2; i + 2 < n; ++i) coefficient[i] = m[i] / std::sqrt(phi);
      coefficient[n - 1] = last, coefficient[0] = -last;
      coefficient[n - 2] = second, coefficient[1] = -second;
    }
  }
  double numerator = 0;
  for (size_t i = 0; i < n; ++i) numerator += coefficient[i] * sample[i];
  return std::min(1.0, numerator * numerator / spread);
}

double shapiro_wilk_p_value(double w, size_t n) {
  CITADEL_CHECK(n >= 12 && n <= 5000, ValueError, "the Shapiro-Wilk p-value needs 12 to 5000 values, got ", n);
  if (w >= 1) return 1;
  const double ln = std::log(double(n));
  const double mu = ((0.0038915 * ln - 0.083751) * ln - 0.31082) * ln - 1.5861;
  const double sigma = std::exp((0.0030302 * ln - 0.082676) * ln - 0.4803);
  const double z = (std::log(1 - w) - mu) / sigma;
  return 0.5 * std::erfc(z / std::sqrt(2.0));  // upper tail: a low W is a large log(1 − W)
}

}  // namespace citadel
