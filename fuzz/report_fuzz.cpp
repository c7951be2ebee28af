// libFuzzer target for the HTML page drawn from a --report file (what `citadel report`
// reads): any bytes must give a page or a citadel::Error, never a crash, a hang or
// undefined behaviour.
#include <cstddef>
#include <cstdint>
#include <string>

#include "citadel/core/error.hpp"
#include "citadel/report/html_report.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const std::string page = citadel::report::html_page({{"fuzz", text, "fuzz.json"}});
    if (page.find("<script") != std::string::npos) __builtin_trap();  // data became markup
  } catch (const citadel::Error&) {
    // Refusing a malformed report with a clear error is the expected outcome.
  }
  return 0;
}
