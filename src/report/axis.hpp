// A chart axis: the data range widened to round numbers, ticks at 1, 2 or 5 times a power
// of ten (or at powers of ten on a log scale), and the map from values to pixels.
#pragma once

#include <vector>

namespace citadel::report::detail {

class Axis {
 public:
  // From the data's range (NaNs ignored; an empty or flat range is widened) onto the pixel
  // span [from, to] (to < from for a y axis). `log` needs every value > 0.
  Axis(std::vector<double> values, double from, double to, bool log = false);

  const std::vector<double>& ticks() const { return ticks_; }
  bool log() const { return log_; }
  double pixel(double value) const;

 private:
  double low_, high_;  // the ends (on a log axis, their powers of ten)
  double from_, to_;
  bool log_;
  std::vector<double> ticks_;
};

// The round step for about `target` intervals over `range` (1, 2 or 5 × 10^k).
double nice_step(double range, int target = 5);

}  // namespace citadel::report::detail
