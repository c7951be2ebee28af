// Feature groups: which encoded features of a table's rows each model input receives.
#include "citadel/data/feature_groups.hpp"

#include <algorithm>

#include "citadel/core/error.hpp"

namespace citadel {
namespace {

constexpr const char* kNumericGroup = "numeric";

// Where each input column's features start in an encoded row, and how many it has.
struct ColumnSpan {
  int64_t first = 0, width = 1;
  bool categorical = false;
};

std::vector<ColumnSpan> column_spans(const DataSchema& schema) {
  std::vector<ColumnSpan> spans;
  int64_t next = 0;
  for (size_t c = 0; c < schema.input_columns.size(); ++c) {
    const bool categorical = c < schema.categories.size() && !schema.categories[c].empty();
    const int64_t width = categorical ? int64_t(schema.categories[c].size()) : 1;
    spans.push_back({next, width, categorical});
    next += width;
  }
  return spans;
}

std::string group_names(const DataSchema& schema) {
  std::string names = std::string("'") + kNumericGroup + "' (the numeric columns)";
  for (const auto& column : schema.input_columns) names += ", '" + column + "'";
  return names;
}

}  // namespace

std::vector<FeatureGroup> feature_groups(const DataSchema& schema, const std::vector<std::string>& input_names) {
  const std::vector<ColumnSpan> spans = column_spans(schema);
  std::vector<FeatureGroup> groups;
  for (const std::string& input : input_names) {
    FeatureGroup group{input, {}, {}};
    auto take = [&](size_t c) {
      group.columns.push_back(schema.input_columns[c]);
      for (int64_t f = 0; f < spans[c].width; ++f) group.features.push_back(spans[c].first + f);
    };
    const auto named = std::find(schema.input_columns.begin(), schema.input_columns.end(), input);
    if (named != schema.input_columns.end()) {
      take(size_t(named - schema.input_columns.begin()));
    } else if (input == kNumericGroup) {
      for (size_t c = 0; c < spans.size(); ++c)
        if (!spans[c].categorical) take(c);
      CITADEL_CHECK(!group.features.empty(), ValueError, "the Input '", input,
                    "' takes the numeric columns, but the data has none (every column is categorical)");
    } else {
      throw ValueError("the Input '" + input + "' names no column group of the data; an Input of a model of several "
                       "inputs is named after the columns it takes: " + group_names(schema) +
                       " (docs/CLI.md, \"Models of several inputs\")");
    }
    groups.push_back(std::move(group));
  }
  return groups;
}

std::vector<std::string> unused_columns(const DataSchema& schema, const std::vector<FeatureGroup>& groups) {
  std::vector<std::string> unused;
  for (const auto& column : schema.input_columns) {
    const bool used = std::any_of(groups.begin(), groups.end(), [&](const FeatureGroup& group) {
      return std::find(group.columns.begin(), group.columns.end(), column) != group.columns.end();
    });
    if (!used) unused.push_back(column);
  }
  return unused;
}

std::vector<Tensor> split_features(ConstTensorView x, const std::vector<FeatureGroup>& groups) {
  CITADEL_CHECK(x.shape().rank() == 2, ShapeError, "split_features: expected rows of features, got shape ",
                x.shape().str());
  const int64_t rows = x.shape(0), width = x.shape(1);
  std::vector<Tensor> parts;
  for (const FeatureGroup& group : groups) {
    const auto columns = static_cast<int64_t>(group.features.size());
    for (const int64_t f : group.features)
      CITADEL_CHECK(f >= 0 && f < width, ShapeError, "split_features: the Input '", group.input, "' takes feature ", f,
                    " of rows of ", width);
    Tensor part(Shape{rows, columns});
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < columns; ++j) part[r * columns + j] = x.data()[r * width + group.features[j]];
    parts.push_back(std::move(part));
  }
  return parts;
}

}  // namespace citadel
