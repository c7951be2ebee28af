// The page: a self-contained HTML document (inline CSS, light and dark themes, print
// styles; no script, font or image fetched from anywhere) assembled from sections,
// tables and figures. Text given here is escaped; SVG comes from svg_chart.
#pragma once

#include <string>
#include <vector>

namespace citadel::report::detail {

class Page {
 public:
  explicit Page(std::string title);

  void section(const std::string& heading);  // opens a section (closing the previous one)
  void paragraph(const std::string& text);
  // Cells are text; the first column is a row header.
  void table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);
  // Figures of one section sit side by side where the page is wide enough.
  void figure(const std::string& svg, const std::string& caption = "");
  // The whole document; `footer` is text.
  std::string html(const std::string& footer) const;

 private:
  std::string title_, body_;
  bool in_section_ = false, in_figures_ = false;
  void close_figures();
};

}  // namespace citadel::report::detail
