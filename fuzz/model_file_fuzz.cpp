// libFuzzer target for loading a saved model and using it as `predict`/`evaluate` do: any
// bytes must give a usable model or a citadel::Error — never a crash, a hang, undefined
// behaviour or an allocation beyond what the file itself weighs. A model that loads has
// a few rows encoded through its schema and preprocessing and predicted.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "citadel/core/error.hpp"
#include "citadel/data/csv.hpp"
#include "citadel/io/saved_model.hpp"

namespace {

// A CSV table with the schema's columns: numbers, a category seen in training, and an
// unseen or missing value, so every encoding path runs.
std::string rows_for(const citadel::DataSchema& schema) {
  std::string header, first, second;
  for (size_t c = 0; c < schema.input_columns.size(); ++c) {
    const bool categorical = !schema.categories[c].empty();
    header += (c ? "," : "") + std::string("\"") + schema.input_columns[c] + "\"";
    first += (c ? "," : "") + (categorical ? "\"" + schema.categories[c][0] + "\"" : std::string("1.5"));
    second += (c ? "," : "") + std::string(categorical ? "unseen" : "-2");
  }
  return header + "\n" + first + "\n" + second + "\n";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    citadel::SavedModel saved = citadel::saved_model_from_bytes(
        bytes, "fuzz.safetensors", {.max_header_bytes = 1 << 20, .max_activations_per_row = 1 << 20});
    if (saved.images || saved.schema.input_columns.size() > 1000) return 0;
    const citadel::CsvTable table = citadel::parse_csv(rows_for(saved.schema), "rows.csv", {.header = true});
    citadel::Dataset rows = saved.encode(table, citadel::MissingValues::kMean);
    const citadel::Tensor predictions = saved.model.predict(rows.x);
    (void)predictions;
  } catch (const citadel::Error&) {
    // Rejecting hostile input with a clear error is the expected outcome.
  }
  return 0;
}
