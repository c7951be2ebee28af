// --layers parsing: comma-separated UNITS[:ACTIVATION] items.
#include "layer_spec.hpp"

#include <charconv>

#include "citadel/core/error.hpp"
#include "citadel/layers/activations.hpp"

namespace citadel::cli {

std::vector<DenseSpec> parse_layer_spec(const std::string& text) {
  std::vector<DenseSpec> layers;
  size_t start = 0;
  int item = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    const std::string part = text.substr(start, comma - start);
    ++item;
    const size_t colon = part.find(':');
    const std::string units_text = part.substr(0, colon);
    const std::string activation = colon == std::string::npos ? "linear" : part.substr(colon + 1);
    int64_t units = 0;
    const auto [end, error] = std::from_chars(units_text.data(), units_text.data() + units_text.size(), units);
    CITADEL_CHECK(error == std::errc() && end == units_text.data() + units_text.size() && units > 0 &&
                      units <= 1'000'000,
                  ValueError, "--layers: item ", item, " ('", part,
                  "') must be UNITS[:ACTIVATION] with UNITS a whole number from 1 to 1000000, "
                  "e.g. \"10:relu,10:relu,1:sigmoid\"");
    try {
      activation_from_name(activation);
    } catch (const ValueError& e) {
      throw ValueError("--layers: item " + std::to_string(item) + " ('" + part + "'): " + e.what());
    }
    layers.push_back({units, activation});
    start = comma + 1;
  }
  return layers;
}

}  // namespace citadel::cli
