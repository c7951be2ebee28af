// libFuzzer target for the CSV reader: any bytes must give a table or a citadel::Error,
// never a crash, a hang or undefined behaviour.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "citadel/core/error.hpp"
#include "citadel/data/csv.hpp"
#include "citadel/data/dataset.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const citadel::CsvTable table = citadel::parse_csv(text, "fuzz.csv");
    if (table.columns.size() >= 2) {
      citadel::to_dataset(table, {.missing = citadel::MissingValues::kMean});
      citadel::to_dataset(table, {.categorical = {"0"}, .missing = citadel::MissingValues::kDrop});
    }
  } catch (const citadel::Error&) {
    // Rejecting hostile input with a clear error is the expected outcome.
  }
  return 0;
}
