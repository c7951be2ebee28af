// The page: a self-contained HTML document (inline CSS, light and dark themes, print
// styles; no script, font or image fetched from anywhere) assembled from sections,
// tables and figures. Text given here is escaped and cut to the page's limits; SVG comes
// from svg_chart. The page never grows past its byte cap: appending beyond it is a ValueError.
#pragma once

#include <string>
#include <vector>

#include "citadel/report/page_limits.hpp"

namespace citadel::report::detail {

class Page {
 public:
  explicit Page(std::string title, PageLimits limits = {});

  const PageLimits& limits() const { return limits_; }
  void section(const std::string& heading);  // opens a section (closing the previous one)
  void paragraph(const std::string& text);
  // The page's own words (what was left out and why): cut at 400 characters, whatever
  // max_text_chars says, so that a note is never cut short by the cap it reports.
  void note(const std::string& text);
  // Cells are text; the first column is a row header. Rows past limits().max_table_rows are
  // left out, and a last row says how many.
  void table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);
  // Figures of one section sit side by side where the page is wide enough; the caption is
  // cut as a note is.
  void figure(const std::string& svg, const std::string& caption = "");
  // The whole document; `footer` is text.
  std::string html(const std::string& footer) const;

 private:
  std::string title_, body_;
  PageLimits limits_;
  bool in_section_ = false, in_figures_ = false;
  void close_figures();
  void append(const std::string& markup);  // ValueError past limits_.max_page_bytes
  // Escaped, at most max_text_chars characters (or `length`).
  std::string text(const std::string& raw, size_t length = 0) const;
};

}  // namespace citadel::report::detail
