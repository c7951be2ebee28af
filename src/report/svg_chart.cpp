// Inline SVG charts: axes with round ticks, polylines split at gaps, a legend beside the
// plot; the heat map with counts in its cells.
#include "svg_chart.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "axis.hpp"
#include "html_text.hpp"

namespace citadel::report::detail {
namespace {

constexpr double kWidth = 720, kHeight = 340;
constexpr double kLeft = 64, kRight = 540, kTop = 34, kBottom = 292;  // the plot area

std::string coordinate(double value) {
  char text[24];
  std::snprintf(text, sizeof text, "%.1f", value);
  return text;
}

std::string svg_open(double width, double height, const std::string& full_title, size_t max_text_chars) {
  const std::string title = shortened(full_title, max_text_chars);
  return "<svg class=\"chart\" viewBox=\"0 0 " + coordinate(width) + " " + coordinate(height) +
         "\" role=\"img\" aria-label=\"" + escape(title) + "\">"
         "<title>" + escape(title) + "</title>"
         "<text class=\"chart-title\" x=\"" + coordinate(width / 2) + "\" y=\"18\" text-anchor=\"middle\">" +
         escape(shortened(title, 80)) + "</text>";
}

std::string text_at(double x, double y, const std::string& text, const char* anchor, const char* css = "tick") {
  return "<text class=\"" + std::string(css) + "\" x=\"" + coordinate(x) + "\" y=\"" + coordinate(y) +
         "\" text-anchor=\"" + anchor + "\">" + escape(text) + "</text>";
}

std::string line(double x1, double y1, double x2, double y2, const char* css) {
  return "<line class=\"" + std::string(css) + "\" x1=\"" + coordinate(x1) + "\" y1=\"" + coordinate(y1) +
         "\" x2=\"" + coordinate(x2) + "\" y2=\"" + coordinate(y2) + "\"/>";
}

std::string colour_class(int colour) {
  std::string css = "c";
  css += static_cast<char>('0' + ((colour % 8) + 8) % 8);
  return css;
}

}  // namespace

std::vector<size_t> downsampled_points(const std::vector<double>& y, size_t count, int64_t max_points) {
  std::vector<size_t> kept;
  const size_t buckets = static_cast<size_t>(std::max<int64_t>(max_points / 2, 1));
  if (count <= static_cast<size_t>(std::max<int64_t>(max_points, 2))) {
    for (size_t i = 0; i < count; ++i) kept.push_back(i);
    return kept;
  }
  for (size_t b = 0; b < buckets; ++b) {
    const size_t begin = count * b / buckets, end = count * (b + 1) / buckets;
    size_t low = begin, high = begin;
    for (size_t i = begin; i < end; ++i) {  // NaN (a gap) compares false: kept only when all are NaN
      if (y[i] < y[low] || std::isnan(y[low])) low = i;
      if (y[i] > y[high] || std::isnan(y[high])) high = i;
    }
    kept.push_back(std::min(low, high));
    if (low != high) kept.push_back(std::max(low, high));
  }
  return kept;
}

std::string line_chart(const std::vector<Series>& all_series, const ChartOptions& options) {
  // Curves past the cap are left out (and said so below the legend).
  const size_t curve_cap = static_cast<size_t>(std::max<int64_t>(options.max_curves, 1));
  const std::vector<Series> series(all_series.begin(), all_series.begin() + std::min(all_series.size(), curve_cap));
  size_t longest = 0, drawn_of_longest = 0;
  std::vector<std::vector<size_t>> drawn;  // per curve, the points drawn
  for (const Series& s : series) {
    const size_t count = std::min(s.x.size(), s.y.size());
    drawn.push_back(downsampled_points(s.y, count, options.max_points));
    if (count > longest) longest = count, drawn_of_longest = drawn.back().size();
  }
  std::vector<double> xs, ys = options.y_extent;
  for (const Series& s : series) {
    xs.insert(xs.end(), s.x.begin(), s.x.end());
    ys.insert(ys.end(), s.y.begin(), s.y.end());
  }
  for (const Marker& m : options.markers) xs.push_back(m.x);
  for (const auto& [y, label] : options.horizontal_lines) ys.push_back(y);
  if (options.unit_square) xs = {0, 1}, ys = {0, 1};
  const Axis x_axis(xs, kLeft, kRight, options.log_x), y_axis(ys, kBottom, kTop);

  std::string svg = svg_open(kWidth, kHeight, options.title, options.max_text_chars);
  for (double tick : y_axis.ticks()) {
    const double y = y_axis.pixel(tick);
    svg += line(kLeft, y, kRight, y, "grid");
    svg += text_at(kLeft - 6, y + 4, number(tick, 6), "end");
  }
  for (double tick : x_axis.ticks()) {
    const double x = x_axis.pixel(tick);
    svg += line(x, kTop, x, kBottom, "grid");
    svg += text_at(x, kBottom + 16, number(tick, 6), "middle");
  }
  svg += line(kLeft, kBottom, kRight, kBottom, "axis") + line(kLeft, kTop, kLeft, kBottom, "axis");
  svg += text_at((kLeft + kRight) / 2, kHeight - 8, options.x_label, "middle", "axis-label");
  if (!options.y_label.empty())  // a training curve's figure is named by the title alone
    svg += "<text class=\"axis-label\" transform=\"translate(14," + coordinate((kTop + kBottom) / 2) +
           ") rotate(-90)\" text-anchor=\"middle\">" + escape(options.y_label) + "</text>";
  if (options.unit_square) svg += line(x_axis.pixel(0), y_axis.pixel(0), x_axis.pixel(1), y_axis.pixel(1), "diagonal");
  for (const auto& [value, label] : options.horizontal_lines) {
    const double y = y_axis.pixel(value);
    svg += line(kLeft, y, kRight, y, "reference");
    svg += text_at(kRight - 4, y - 4, label, "end", "marker-label");
  }
  for (size_t m = 0; m < options.markers.size(); ++m) {  // labels staggered so that neighbours stay readable
    const double x = x_axis.pixel(options.markers[m].x);
    svg += line(x, kTop, x, kBottom, "reference");
    svg += text_at(x + 3, kTop + 10 + 12 * double(m % 3), shortened(options.markers[m].label, 24), "start",
                   "marker-label");
  }
  for (size_t c = 0; c < series.size(); ++c) {
    const Series& s = series[c];
    const std::string css = colour_class(s.colour);
    std::string points;
    auto flush = [&] {
      if (!points.empty()) svg += "<polyline class=\"series " + css + (s.dashed ? " dashed" : "") + "\" points=\"" +
                                  points + "\"/>";
      points.clear();
    };
    for (const size_t i : drawn[c]) {
      const bool drawable = std::isfinite(s.x[i]) && std::isfinite(s.y[i]) && (!options.log_x || s.x[i] > 0);
      if (!drawable) {
        flush();
        continue;
      }
      const double px = x_axis.pixel(s.x[i]), py = y_axis.pixel(s.y[i]);
      if (!points.empty()) points += ' ';
      points += coordinate(px);
      points += ',';
      points += coordinate(py);
      if (s.dots)
        svg += "<circle class=\"dot " + css + "\" cx=\"" + coordinate(px) + "\" cy=\"" + coordinate(py) + "\" r=\"3\"/>";
    }
    flush();
  }
  // The legend, beside the plot.
  double legend_y = kTop + 6;
  for (const Series& s : series) {
    if (s.name.empty() || legend_y > kBottom) continue;
    const std::string css = colour_class(s.colour);
    svg += "<line class=\"series " + css + (s.dashed ? " dashed" : "") + "\" x1=\"" + coordinate(kRight + 14) +
           "\" y1=\"" + coordinate(legend_y) + "\" x2=\"" + coordinate(kRight + 36) + "\" y2=\"" +
           coordinate(legend_y) + "\"/>";
    svg += text_at(kRight + 42, legend_y + 4, shortened(s.name, 19), "start", "legend");
    legend_y += 18;
  }
  // What was left out, said on the chart itself.
  std::string note;
  if (drawn_of_longest < longest)
    note = count_text(int64_t(drawn_of_longest)) + " points drawn of " + count_text(int64_t(longest)) +
           " (each bucket's lowest and highest)";
  if (all_series.size() > series.size())
    note += (note.empty() ? "" : "; ") + count_text(int64_t(all_series.size() - series.size())) +
            " more curves not shown";
  if (!note.empty()) svg += text_at(kRight + 14, kBottom + 16, shortened(note, 60), "start", "marker-label");
  if (note.size() > 60) svg += "<desc>" + escape(note) + "</desc>";
  return svg + "</svg>";
}

std::string heat_map(const std::vector<std::vector<int64_t>>& counts, const std::vector<std::string>& labels,
                     const std::string& title, size_t max_text_chars) {
  const size_t n = counts.size();
  const double cell = n == 0 ? 40 : std::clamp(440.0 / double(n), 18.0, 100.0);
  // The same width as the line charts, so that text has the same size side by side.
  const double left = std::max(130.0, (kWidth - cell * double(n)) / 2), top = 40;
  const double height = top + cell * double(n) + 110;
  std::string svg = svg_open(kWidth, height, title, max_text_chars);
  auto label = [&](size_t i) { return shortened(i < labels.size() ? labels[i] : std::to_string(i),
                                                     std::min<size_t>(60, max_text_chars)); };
  for (size_t actual = 0; actual < n; ++actual) {
    int64_t row_total = 0;
    for (int64_t count : counts[actual]) row_total += count;
    for (size_t predicted = 0; predicted < counts[actual].size() && predicted < n; ++predicted) {
      const int64_t count = counts[actual][predicted];
      const double share = row_total > 0 ? double(count) / double(row_total) : 0;
      const double x = left + cell * double(predicted), y = top + cell * double(actual);
      svg += "<rect class=\"cell\" x=\"" + coordinate(x) + "\" y=\"" + coordinate(y) + "\" width=\"" +
             coordinate(cell - 1) + "\" height=\"" + coordinate(cell - 1) + "\" fill-opacity=\"" +
             number(0.08 + 0.92 * share, 3) + "\"><title>" + escape(label(actual)) +
             " \xE2\x86\x92 " + escape(label(predicted)) + ": " +
             std::to_string(count) + "</title></rect>";
      if (cell >= 22)
        svg += text_at(x + cell / 2, y + cell / 2 + 4, std::to_string(count), "middle",
                       share > 0.5 ? "cell-count strong" : "cell-count");
    }
    svg += text_at(left - 6, top + cell * (double(actual) + 0.5) + 4,
                   shortened(actual < labels.size() ? labels[actual] : std::to_string(actual), 16), "end");
  }
  for (size_t predicted = 0; predicted < n; ++predicted) {
    const double x = left + cell * (double(predicted) + 0.5), y = top + cell * double(n) + 8;
    svg += "<text class=\"tick\" transform=\"translate(" + coordinate(x) + "," + coordinate(y) +
           ") rotate(45)\" text-anchor=\"start\">" +
           escape(shortened(predicted < labels.size() ? labels[predicted] : std::to_string(predicted), 16)) +
           "</text>";
  }
  svg += text_at(left + cell * double(n) / 2, height - 6, "predicted", "middle", "axis-label");
  svg += "<text class=\"axis-label\" transform=\"translate(14," + coordinate(top + cell * double(n) / 2) +
         ") rotate(-90)\" text-anchor=\"middle\">actual</text>";
  return svg + "</svg>";
}

}  // namespace citadel::report::detail
