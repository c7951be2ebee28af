// Charts as inline SVG: line charts (training curves, ROC, ε sweeps) and the confusion
// matrix as a heat map. Colours are CSS classes the page styles (light and dark themes);
// every label is escaped and cut; what a chart leaves out (points, curves, classes) is said
// on the chart.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace citadel::report::detail {

struct Series {
  std::string name;
  std::vector<double> x = {}, y = {};  // NaN y values leave a gap
  bool dashed = false;       // validation figures, reference lines
  bool dots = false;         // a dot at each point (few points: folds, ε values)
  int colour = 0;            // palette index (the page has 8, reused in turn)
};

// A vertical line at x with a short label (early stopping, learning-rate changes).
struct Marker {
  double x;
  std::string label;
};

struct ChartOptions {
  std::string title = {}, x_label = {}, y_label = {};  // an empty y_label draws none
  bool log_x = false;
  bool unit_square = false;  // both axes 0..1 and the diagonal drawn (ROC)
  std::vector<double> y_extent = {};  // values the y axis must include (e.g. 0 and 1)
  std::vector<Marker> markers = {};
  std::vector<std::pair<double, std::string>> horizontal_lines = {};  // (y, label): a target ε
  // Bounds (PageLimits gives them): a curve of more points is drawn from the lowest and the
  // highest point of each of max_points / 2 buckets, curves past max_curves are left out,
  // and the chart says so; titles are cut to max_text_chars characters.
  int64_t max_points = 2000, max_curves = 12;
  size_t max_text_chars = 200;
};

std::string line_chart(const std::vector<Series>& series, const ChartOptions& options);

// The points of a curve drawn when it has more than `max_points`: the lowest and the highest
// of each of max_points / 2 buckets of consecutive points, in order (a curve's spikes and
// dips survive, unlike keeping every k-th point).
std::vector<size_t> downsampled_points(const std::vector<double>& y, size_t count, int64_t max_points);

// counts[actual][predicted]; cells shaded by the share of their row (recall). The caller
// passes at most the classes it means to draw and says how many it left out.
std::string heat_map(const std::vector<std::vector<int64_t>>& counts, const std::vector<std::string>& labels,
                     const std::string& title, size_t max_text_chars = 200);

}  // namespace citadel::report::detail
