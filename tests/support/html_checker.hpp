// Runs tests/report/check_html.py (Python's html.parser) on a page: whether it is well
// formed and self-contained, and what it holds (chart titles, legends, table cells, text).
#pragma once

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

namespace citadel::testkit {

struct CheckedPage {
  bool ok = false;
  std::string problems;   // the checker's complaint when not ok
  nlohmann::json content;  // {"titles", "legends", "cells", "text", "charts": [{"title", "axis_labels", "legends", "dots"}]}

  bool has_title(const std::string& title) const { return contains("titles", title); }
  bool has_legend(const std::string& legend) const { return contains("legends", legend); }
  bool has_cell(const std::string& cell) const { return contains("cells", cell); }
  // The chart titled `title`: {"title", "axis_labels", "legends", "dots"}, or null.
  nlohmann::json chart(const std::string& title) const {
    if (content.contains("charts"))
      for (const auto& chart : content["charts"])
        if (chart["title"] == title) return chart;
    return nullptr;
  }
  bool contains(const char* key, const std::string& value) const {
    if (!content.contains(key)) return false;
    for (const auto& item : content[key])
      if (item == value) return true;
    return false;
  }
};

inline CheckedPage check_html_page(const std::string& path) {
  const std::string command = std::string(CITADEL_PYTHON3) + " " + CITADEL_HTML_CHECKER + " '" + path + "' 2>&1";
  CheckedPage page;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return page;
  std::string out;
  char buffer[4096];
  for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
  const int status = ::pclose(pipe);
  if (status != 0) {
    page.problems = out;
    return page;
  }
  page.content = nlohmann::json::parse(out, nullptr, false);
  page.ok = !page.content.is_discarded();
  if (!page.ok) page.problems = "the checker printed no JSON: " + out;
  return page;
}

}  // namespace citadel::testkit
