// --layers parsing: comma-separated items, UNITS[:ACTIVATION] for Dense, and the few
// layers a text model needs before them (an Embedding, then a pooling).
#include "layer_spec.hpp"

#include <charconv>

#include "citadel/core/error.hpp"
#include "citadel/layers/activations.hpp"

namespace citadel::cli {
namespace {

constexpr const char* kUsage =
    " must be UNITS[:ACTIVATION] with UNITS a whole number from 1 to 1000000, embedding:DIM, globalavgpool1d, "
    "globalmaxpool1d, conv1d:FILTERS:KERNEL[:ACTIVATION], maxpool1d:POOL, gru:UNITS[:seq] or lstm:UNITS[:seq], "
    "e.g. \"10:relu,10:relu,1:sigmoid\" or \"embedding:16,globalavgpool1d,1:sigmoid\"";

// A whole number from 1 to 1000000, or nothing.
int64_t count_of(const std::string& text) {
  int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  const bool ok = error == std::errc() && end == text.data() + text.size() && value > 0 && value <= 1'000'000;
  return ok ? value : 0;
}

}  // namespace

std::vector<LayerSpec> parse_layer_spec(const std::string& text) {
  std::vector<LayerSpec> layers;
  size_t start = 0;
  int item = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    const std::string part = text.substr(start, comma - start);
    start = comma + 1;
    ++item;
    const std::string where = "--layers: item " + std::to_string(item) + " ('" + part + "')";
    const size_t colon = part.find(':');
    const std::string head = part.substr(0, colon);
    const std::string rest = colon == std::string::npos ? "" : part.substr(colon + 1);
    if (head == "globalavgpool1d" || head == "globalmaxpool1d") {
      CITADEL_CHECK(colon == std::string::npos, ValueError, where, ": ", head, " takes no arguments");
      layers.push_back({head == "globalavgpool1d" ? LayerSpec::Kind::kGlobalAveragePooling1D
                                                  : LayerSpec::Kind::kGlobalMaxPooling1D});
      continue;
    }
    if (head == "conv1d") {
      const size_t second = rest.find(':');
      const int64_t filters = count_of(rest.substr(0, second));
      const size_t third = second == std::string::npos ? std::string::npos : rest.find(':', second + 1);
      const int64_t kernel = second == std::string::npos ? 0 : count_of(rest.substr(second + 1, third - second - 1));
      CITADEL_CHECK(filters > 0 && kernel > 0, ValueError, where,
                    ": must be conv1d:FILTERS:KERNEL[:ACTIVATION] with FILTERS and KERNEL whole numbers from 1 to "
                    "1000000");
      const std::string activation = third == std::string::npos ? "linear" : rest.substr(third + 1);
      try {
        activation_from_name(activation);
      } catch (const ValueError& e) {
        throw ValueError(where + ": " + e.what());
      }
      layers.push_back({.kind = LayerSpec::Kind::kConv1D, .units = filters, .activation = activation,
                        .kernel_size = kernel});
      continue;
    }
    if (head == "maxpool1d") {
      const int64_t pool = count_of(rest);
      CITADEL_CHECK(pool > 0, ValueError, where, ": must be maxpool1d:POOL with POOL a whole number from 1 to 1000000");
      layers.push_back({.kind = LayerSpec::Kind::kMaxPooling1D, .units = pool});
      continue;
    }
    if (head == "gru" || head == "lstm") {
      const size_t second = rest.find(':');
      const int64_t units = count_of(rest.substr(0, second));
      const std::string tail = second == std::string::npos ? "" : rest.substr(second + 1);
      CITADEL_CHECK(units > 0 && (second == std::string::npos || tail == "seq"), ValueError, where, ": must be ",
                    head, ":UNITS or ", head, ":UNITS:seq (return_sequences) with UNITS a whole number from 1 to "
                    "1000000");
      layers.push_back({.kind = head == "gru" ? LayerSpec::Kind::kGRU : LayerSpec::Kind::kLSTM, .units = units,
                        .return_sequences = tail == "seq"});
      continue;
    }
    if (head == "embedding") {
      const int64_t dim = count_of(rest);
      CITADEL_CHECK(dim > 0, ValueError, where,
                    ": must be embedding:DIM with DIM a whole number from 1 to 1000000 "
                    "(the vocabulary's size comes from --text)");
      layers.push_back({LayerSpec::Kind::kEmbedding, dim});
      continue;
    }
    const int64_t units = count_of(head);
    CITADEL_CHECK(units > 0, ValueError, where, kUsage);
    const std::string activation = colon == std::string::npos ? "linear" : rest;
    try {
      activation_from_name(activation);
    } catch (const ValueError& e) {
      throw ValueError(where + ": " + e.what());
    }
    layers.push_back({LayerSpec::Kind::kDense, units, activation});
  }
  return layers;
}

}  // namespace citadel::cli
