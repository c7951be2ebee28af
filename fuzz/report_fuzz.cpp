// libFuzzer target for the HTML page drawn from a --report file (what `citadel report`
// reads): any bytes must give a page or a citadel::Error, never a crash, a hang or
// undefined behaviour; and a page never passes its byte cap. Drawn twice: with the default
// limits, and with small ones so that every cut (points, curves, charts, rows, classes,
// text, the page's size) is reached by inputs of the fuzzer's length.
#include <cstddef>
#include <cstdint>
#include <string>

#include "citadel/core/error.hpp"
#include "citadel/report/html_report.hpp"

namespace {

void draw(const std::string& text, const citadel::report::PageLimits& limits) {
  try {
    const std::string page = citadel::report::html_page({{"fuzz", text, "fuzz.json"}}, {.limits = limits});
    if (page.find("<script") != std::string::npos) __builtin_trap();  // data became markup
    if (page.size() > limits.max_page_bytes) __builtin_trap();  // the cap is on the whole page
  } catch (const citadel::Error&) {
    // Refusing a malformed report with a clear error is the expected outcome.
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  draw(text, {});
  draw(text, {.max_parsed_bytes = 256 << 10, .max_points = 8, .max_curves = 2, .max_charts = 2, .max_table_rows = 3,
              .max_classes = 3, .max_text_chars = 12, .max_page_bytes = 64 << 10});
  return 0;
}
