// The page's markup and style. Colours are CSS variables so the charts follow the light or
// dark theme the reader's system asks for; figures sit on a grid of equal columns, so that
// every chart of a section has the same scale; print keeps figures whole.
#include "html_page.hpp"

#include <algorithm>

#include "citadel/core/error.hpp"
#include "html_text.hpp"

namespace citadel::report::detail {
namespace {

constexpr const char* kStyle = R"css(
:root{--bg:#ffffff;--fg:#1d2330;--muted:#5b6475;--grid:#e3e6ec;--axis:#8a93a3;--panel:#f6f7f9;--cell:#2563eb;
--c0:#2563eb;--c1:#dc2626;--c2:#059669;--c3:#d97706;--c4:#7c3aed;--c5:#0891b2;--c6:#db2777;--c7:#4b5563;color-scheme:light dark}
@media (prefers-color-scheme:dark){:root{--bg:#14171c;--fg:#e6e9ef;--muted:#9aa3b2;--grid:#2a3039;--axis:#6b7483;
--panel:#1c2027;--cell:#60a5fa;--c0:#60a5fa;--c1:#f87171;--c2:#34d399;--c3:#fbbf24;--c4:#a78bfa;--c5:#22d3ee;
--c6:#f472b6;--c7:#9ca3af}}
body{background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:0 auto;max-width:1180px;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 10px;border-bottom:1px solid var(--grid);padding-bottom:4px}
p{margin:6px 0;color:var(--muted)}
table{border-collapse:collapse;margin:8px 0 12px;font-variant-numeric:tabular-nums}
th,td{padding:4px 10px;border-bottom:1px solid var(--grid);text-align:right;vertical-align:top}
th:first-child,td:first-child{text-align:left}thead th{color:var(--muted);font-weight:600}
.figures{display:grid;grid-template-columns:repeat(auto-fill,minmax(460px,1fr));gap:16px;align-items:start}
figure{margin:0;background:var(--panel);border-radius:6px;padding:8px;min-width:0}
figcaption{color:var(--muted);font-size:12px;padding:4px 6px 0}
svg.chart{width:100%;height:auto;display:block}
.chart-title{fill:var(--fg);font-size:15px;font-weight:600}
.tick,.legend{fill:var(--muted);font-size:12.5px}.axis-label{fill:var(--muted);font-size:13px}
.marker-label{fill:var(--muted);font-size:11px}
.grid{stroke:var(--grid);stroke-width:1}.axis{stroke:var(--axis);stroke-width:1}
.diagonal,.reference{stroke:var(--axis);stroke-width:1;stroke-dasharray:4 4}
.series{fill:none;stroke-width:2;stroke-linejoin:round}.dashed{stroke-dasharray:6 4}
.c0{stroke:var(--c0);fill:var(--c0)}.c1{stroke:var(--c1);fill:var(--c1)}.c2{stroke:var(--c2);fill:var(--c2)}
.c3{stroke:var(--c3);fill:var(--c3)}.c4{stroke:var(--c4);fill:var(--c4)}.c5{stroke:var(--c5);fill:var(--c5)}
.c6{stroke:var(--c6);fill:var(--c6)}.c7{stroke:var(--c7);fill:var(--c7)}
polyline.series,line.series{fill:none}
.cell{fill:var(--cell)}.cell-count{fill:var(--fg);font-size:13px}.cell-count.strong{fill:#ffffff}
footer{margin-top:32px;color:var(--muted);font-size:12px}
@media print{body{background:#fff;color:#000;max-width:none}figure{break-inside:avoid}section{break-inside:auto}}
)css";

}  // namespace

Page::Page(std::string title, PageLimits limits) : title_(std::move(title)), limits_(limits) {}

void Page::append(const std::string& markup) {
  CITADEL_CHECK(body_.size() + markup.size() <= limits_.max_page_bytes, ValueError, "the page would be larger than ",
                limits_.max_page_bytes, " bytes (PageLimits::max_page_bytes); draw fewer runs on one page");
  body_ += markup;
}

constexpr size_t kNoteChars = 400;

std::string Page::text(const std::string& raw, size_t length) const {
  return escape(shortened(raw, length > 0 ? length : limits_.max_text_chars));
}

void Page::close_figures() {
  if (in_figures_) append("</div>\n");
  in_figures_ = false;
}

void Page::section(const std::string& heading) {
  close_figures();
  if (in_section_) append("</section>\n");
  append("<section>\n<h2>" + text(heading) + "</h2>\n");
  in_section_ = true;
}

void Page::paragraph(const std::string& raw) {
  close_figures();
  append("<p>" + text(raw) + "</p>\n");
}

void Page::note(const std::string& raw) {
  close_figures();
  append("<p>" + text(raw, kNoteChars) + "</p>\n");
}

void Page::table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  close_figures();
  std::string markup = "<table>\n<thead><tr>";
  for (const std::string& cell : header) markup += "<th>" + text(cell) + "</th>";
  markup += "</tr></thead>\n<tbody>\n";
  const size_t shown = std::min(rows.size(), static_cast<size_t>(std::max<int64_t>(limits_.max_table_rows, 1)));
  for (size_t r = 0; r < shown; ++r) {
    markup += "<tr>";
    for (size_t i = 0; i < rows[r].size(); ++i)
      markup += (i == 0 ? "<th>" : "<td>") + text(rows[r][i]) + (i == 0 ? "</th>" : "</td>");
    markup += "</tr>\n";
  }
  if (shown < rows.size())  // said in the table itself, where the rows would have been
    markup += "<tr><th colspan=\"" + std::to_string(std::max<size_t>(header.size(), 1)) + "\">(" +
              count_text(int64_t(rows.size() - shown)) + " more rows not shown)</th></tr>\n";
  markup += "</tbody>\n</table>\n";
  append(markup);
}

void Page::figure(const std::string& svg, const std::string& caption) {
  if (!in_figures_) append("<div class=\"figures\">\n");
  in_figures_ = true;
  append("<figure>" + svg + (caption.empty() ? "" : "<figcaption>" + text(caption, kNoteChars) + "</figcaption>") + "</figure>\n");
}

std::string Page::html(const std::string& footer) const {
  std::string closing = in_figures_ ? "</div>\n" : "";
  if (in_section_) closing += "</section>\n";
  std::string page = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
         "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n"
         "<title>" + text(title_) + "</title>\n<style>" + kStyle + "</style>\n</head>\n<body>\n<header><h1>" +
         text(title_) + "</h1></header>\n<main>\n" + body_ + closing + "</main>\n<footer>" + text(footer) +
         "</footer>\n</body>\n</html>\n";
  CITADEL_CHECK(page.size() <= limits_.max_page_bytes, ValueError, "the page would be larger than ",
                limits_.max_page_bytes, " bytes (PageLimits::max_page_bytes); draw fewer runs on one page");
  return page;
}

}  // namespace citadel::report::detail
