// Parsing `--layers "10:relu,10:relu,1:sigmoid"` (text: "embedding:16,globalavgpool1d,1:sigmoid")
// into layer descriptions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace citadel::cli {

struct LayerSpec {
  enum class Kind {
    kDense, kEmbedding, kGlobalAveragePooling1D, kGlobalMaxPooling1D, kConv1D, kMaxPooling1D, kGRU, kLSTM
  };
  Kind kind = Kind::kDense;
  // Dense's units, Embedding's output_dim (its input_dim is the vocabulary's size), Conv1D's
  // filters, MaxPooling1D's pool size, a recurrent layer's units.
  int64_t units = 0;
  std::string activation = "linear";
  int64_t kernel_size = 0;        // Conv1D (padding "same")
  bool return_sequences = false;  // gru:UNITS:seq, lstm:UNITS:seq
};

// Items: UNITS[:ACTIVATION] (Dense), embedding:DIM, globalavgpool1d, globalmaxpool1d, and for
// sequences (speech features) conv1d:FILTERS:KERNEL[:ACTIVATION], maxpool1d:POOL,
// gru:UNITS[:seq], lstm:UNITS[:seq] (seq: return_sequences).
// Throws citadel::ValueError naming the item at fault.
std::vector<LayerSpec> parse_layer_spec(const std::string& text);

}  // namespace citadel::cli
