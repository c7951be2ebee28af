// Parsing `--layers "10:relu,10:relu,1:sigmoid"` into Dense layer descriptions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace citadel::cli {

struct DenseSpec {
  int64_t units;
  std::string activation;
};

// Throws citadel::ValueError naming the item at fault.
std::vector<DenseSpec> parse_layer_spec(const std::string& text);

}  // namespace citadel::cli
