// Round-number axes: step = 1, 2 or 5 × 10^k for about five intervals; log axes at decades.
#include "axis.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace citadel::report::detail {

double nice_step(double range, int target) {
  if (!(range > 0) || !std::isfinite(range)) return 1;
  const double raw = range / target, magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double normalized = raw / magnitude;
  const double factor = normalized < 1.5 ? 1 : normalized < 3 ? 2 : normalized < 7 ? 5 : 10;
  return factor * magnitude;
}

Axis::Axis(std::vector<double> values, double from, double to, bool log) : from_(from), to_(to), log_(log) {
  double low = std::numeric_limits<double>::infinity(), high = -low;
  for (double v : values)
    if (std::isfinite(v) && (!log || v > 0)) low = std::min(low, v), high = std::max(high, v);
  if (!std::isfinite(low)) low = log ? 1 : 0, high = log ? 10 : 1;
  if (log_) {
    low_ = std::floor(std::log10(low));
    high_ = std::max(std::ceil(std::log10(high)), low_ + 1);
    for (double decade = low_; decade <= high_ + 1e-9; ++decade) {
      ticks_.push_back(std::pow(10.0, decade));
      if (high_ - low_ <= 2 && decade < high_)
        for (double m : {2.0, 5.0}) ticks_.push_back(m * std::pow(10.0, decade));
    }
    std::sort(ticks_.begin(), ticks_.end());
    return;
  }
  // A flat series (or one whose spread is lost in float rounding, 1e-3 ± 1e-19): a band
  // around it; round numbers at so fine a step would not even be countable in a double.
  if (high - low <= 1e-9 * std::max(std::abs(low), std::abs(high))) {
    const double pad = low == 0 ? 1 : std::abs(low) * 0.1;
    low -= pad, high += pad;
  }
  const double step = nice_step(high - low);
  low_ = std::floor(low / step + 1e-9) * step;
  high_ = std::ceil(high / step - 1e-9) * step;
  const double first = std::round(low_ / step), last = std::round(high_ / step);
  for (double k = first; k <= last + 1e-9 && ticks_.size() < 64; ++k) {  // bounded whatever the data
    const double tick = k * step;
    ticks_.push_back(std::abs(tick) < step * 1e-9 ? 0.0 : tick);
  }
}

double Axis::pixel(double value) const {
  const double position = log_ ? std::log10(value) : value;
  return from_ + (position - low_) / (high_ - low_) * (to_ - from_);
}

}  // namespace citadel::report::detail
