// Parsing `--layers "10:relu,10:relu,1:sigmoid"` (text: "embedding:16,globalavgpool1d,1:sigmoid")
// into layer descriptions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace citadel::cli {

struct LayerSpec {
  enum class Kind { kDense, kEmbedding, kGlobalAveragePooling1D, kGlobalMaxPooling1D };
  Kind kind = Kind::kDense;
  int64_t units = 0;  // Dense's units, Embedding's output_dim (its input_dim is the vocabulary's size)
  std::string activation = "linear";
};

// Items: UNITS[:ACTIVATION] (Dense), embedding:DIM, globalavgpool1d, globalmaxpool1d.
// Throws citadel::ValueError naming the item at fault.
std::vector<LayerSpec> parse_layer_spec(const std::string& text);

}  // namespace citadel::cli
