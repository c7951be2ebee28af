// What one HTML page may hold, whatever its reports say: a hostile --report file (issue 29,
// item 11) cannot make `citadel report` parse, draw or write without bound. Each cut is said on
// the page ("(N more rows not shown)"), or the page is refused with an error naming the cap.
#pragma once

#include <cstddef>
#include <cstdint>

namespace citadel::report {

struct PageLimits {
  int64_t max_runs = 16;                     // reports on one page; more is a ValueError
  size_t max_report_bytes = size_t{64} << 20;  // each report's text, and all of them together
  // The memory a report's JSON would take once parsed (each value weighed by what the parser
  // allocates for it), counted before it is parsed; more is a ValueError.
  size_t max_parsed_bytes = size_t{192} << 20;
  int64_t max_points = 2000;       // per curve; a longer one is drawn from each bucket's lowest and highest
  int64_t max_curves = 12;         // lines in one chart
  int64_t max_charts = 32;         // training charts (figures in a history)
  int64_t max_table_rows = 200;    // per table
  int64_t max_classes = 50;        // classes of a confusion matrix drawn
  size_t max_text_chars = 200;     // any one text drawn (a name, a cell, a title)
  size_t max_page_bytes = size_t{16} << 20;  // the whole page; more is a ValueError
};

}  // namespace citadel::report
