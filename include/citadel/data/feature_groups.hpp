// The inputs of a model of several inputs fed from one table's columns: each Input takes
// the group of encoded features its name selects (docs/CLI.md, "Models of several inputs").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "citadel/core/tensor.hpp"
#include "citadel/data/dataset.hpp"

namespace citadel {

struct FeatureGroup {
  std::string input;                  // the Input it feeds
  std::vector<std::string> columns;   // the table's columns in it, in file order
  std::vector<int64_t> features;      // their encoded features (indices into a row of x)
};

// One group per input name: a name that is a column of the schema selects that column (its
// one-hot features when it is categorical, its value when numeric); "numeric" selects every
// numeric column, in file order. A column's own name wins over "numeric". ValueError naming
// the input and listing the names there are when a name selects nothing.
std::vector<FeatureGroup> feature_groups(const DataSchema& schema, const std::vector<std::string>& input_names);
// The columns of x (rows, features) no group takes, by name (to say they go unused).
std::vector<std::string> unused_columns(const DataSchema& schema, const std::vector<FeatureGroup>& groups);
// x's features split by group: one (rows, |features|) tensor per group.
std::vector<Tensor> split_features(ConstTensorView x, const std::vector<FeatureGroup>& groups);

}  // namespace citadel
