// Turning CSV cells into features and labels: numbers checked, categorical columns
// one-hot encoded, missing values reported, dropped or kept for imputation, labels of
// any form ("yes"/"no", 2/4, 0..9) mapped to class indices. The schema learned from
// the training file encodes any later file the same way.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "citadel/core/tensor.hpp"
#include "citadel/data/csv.hpp"

namespace citadel {

enum class MissingValues {
  kError,  // the default: an error naming the first missing cell and how many rows have one
  kDrop,   // rows with a missing value are left out
  kMean,   // kept as NaN, for MeanImputer to fill with the training split's means
};

enum class LabelType {
  kClasses,  // labels name classes: y holds class indices 0..K−1
  kValues,   // labels are numbers to regress on: y holds them
};

struct DatasetOptions {
  std::string label = "";                     // name or 0-based index; "" = the last column
  std::vector<std::string> categorical = {};  // feature columns to one-hot encode (names or indices)
  MissingValues missing = MissingValues::kError;
  LabelType label_type = LabelType::kClasses;
  // A categorical column with more distinct values is refused (one-hot width is memory).
  int64_t max_categories = 10'000;
  // When set, categories are learned from these table rows only (the training rows, so
  // the vocabulary reveals nothing of held-out rows); others' unseen values encode as zeros.
  std::optional<std::vector<int64_t>> vocabulary_rows = std::nullopt;
};

// What a training file taught: its columns, categories and classes.
struct DataSchema {
  std::vector<std::string> input_columns;            // the feature columns, in file order
  std::vector<std::vector<std::string>> categories;  // per input column; empty when numeric
  std::string label;                                 // the label column's name
  LabelType label_type = LabelType::kClasses;
  std::vector<std::string> classes;  // class names in index order (kClasses)

  // Feature names after one-hot encoding ("colour=red").
  std::vector<std::string> feature_names() const;
  int64_t feature_count() const;
  int64_t class_count() const { return static_cast<int64_t>(classes.size()); }
};

struct Dataset {
  Tensor x;  // (rows, features), one contiguous buffer
  Tensor y;  // (rows, 1); empty when the file has no label column (encode)
  DataSchema schema;
  std::vector<int64_t> lines;       // the source line of each row
  std::vector<int64_t> table_rows;  // the table row each row came from
  int64_t dropped_rows = 0;    // rows left out for missing values (kDrop)
};

// Learns the schema from `table` and encodes it.
Dataset to_dataset(const CsvTable& table, const DatasetOptions& options = {});
// Encodes another file with a schema learned before: its columns are found by name (the
// label may be absent); categories never seen become all-zero one-hot rows.
Dataset encode(const CsvTable& table, const DataSchema& schema, MissingValues missing);

// "", "?", "NA", "N/A", "NaN", "nan", "null", "NULL", "None" mark a missing value.
bool is_missing_marker(std::string_view cell);

}  // namespace citadel
