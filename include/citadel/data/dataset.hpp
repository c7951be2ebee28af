// Turning CSV cells into features and labels: numbers checked, categorical columns
// one-hot encoded, missing values reported, dropped or kept for imputation, labels of
// any form ("yes"/"no", 2/4, 0..9) mapped to class indices. The schema learned from
// the training file encodes any later file the same way.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "citadel/core/tensor.hpp"
#include "citadel/data/csv.hpp"
#include "citadel/data/declared_schema.hpp"

namespace citadel {

class TextVectorization;

enum class MissingValues {
  kError,  // the default: an error naming the first missing cell and how many rows have one
  kDrop,   // rows with a missing value are left out
  kMean,   // kept as NaN, for MeanImputer to fill with the training split's means
};

enum class LabelType {
  kClasses,  // labels name classes: y holds class indices 0..K−1
  kValues,   // labels are numbers to regress on: y holds them
};

// A label column and how it is read: classes (y holds class indices) or values.
struct LabelSchema {
  std::string name;
  LabelType type = LabelType::kClasses;
  std::vector<std::string> classes;  // in index order (kClasses)
  int64_t class_count() const { return static_cast<int64_t>(classes.size()); }
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
  // What is known of the data from outside its rows: when set, a column it gives categories
  // is categorical with exactly those (in that order; other values encode as zeros), the
  // label's classes are its classes (a row with another label is an error), its label name
  // is the label unless `label` is given, and a regression label is clamped into its range.
  // Nothing of the encoding is then learned from the rows (what private training needs).
  const DeclaredSchema* declared = nullptr;
  // The encoded rows' size is checked before they are allocated (see EncodeOptions).
  int64_t max_encoded_bytes = 0;
  // More label columns (names), for a model of several outputs, each read as its type says:
  // left out of the features, their classes learned as the first label's (a declared
  // schema's classes are the first label's only), a row missing any label treated as a row
  // missing the first.
  std::vector<std::pair<std::string, LabelType>> more_labels = {};
  // A column of raw text (name or index), left out of the features: the schema names it
  // (DataSchema::text_column) and the caller adapts its vectorizer on the training rows.
  std::string text_column = "";
};

struct EncodeOptions {
  MissingValues missing = MissingValues::kError;
  // Only the table's rows [row_begin, row_end) (row_end −1: to the end), so that a large
  // file is encoded a slice at a time (predicting, say); missing values are judged in it.
  int64_t row_begin = 0, row_end = -1;
  // A category the schema does not know is an error naming its cell instead of a row of
  // zeros (counted in Dataset::unseen_categories).
  bool unseen_categories_are_errors = false;
  // Encoded rows take rows × features floats, checked before allocating: at most this many
  // bytes, 0 meaning the larger of 256 MiB and 16 times the table's text (numbers encode
  // into about their text's size; a one-hot column of many categories is what expands).
  int64_t max_encoded_bytes = 0;
};

// What a training file taught: its columns, categories and classes.
struct DataSchema {
  std::vector<std::string> input_columns;            // the feature columns, in file order
  std::vector<std::vector<std::string>> categories;  // per input column; empty when numeric
  std::string label;                                 // the label column's name
  LabelType label_type = LabelType::kClasses;
  std::vector<std::string> classes;  // class names in index order (kClasses)
  // The labels after the first, for a model of several outputs (DatasetOptions::more_labels).
  std::vector<LabelSchema> more_labels;
  // A column of raw text read as token ids: left out of input_columns, its
  // text->sequence_length() ids follow the other features. `text` is null until adapted
  // (to_dataset names the column; its vocabulary comes from the training rows alone).
  std::string text_column;
  std::shared_ptr<const TextVectorization> text;

  // Feature names after one-hot encoding ("colour=red").
  std::vector<std::string> feature_names() const;
  int64_t feature_count() const;
  int64_t class_count() const { return static_cast<int64_t>(classes.size()); }
  // Every label: the first (label, label_type, classes), then more_labels.
  size_t label_count() const { return 1 + more_labels.size(); }
  LabelSchema label_schema(size_t index) const;
};

struct Dataset {
  Tensor x;  // (rows, features), one contiguous buffer
  Tensor y;  // (rows, 1); empty when the file has no label column (encode)
  std::vector<Tensor> more_y;  // (rows, 1) per schema.more_labels; empty where the file lacks it
  DataSchema schema;
  std::vector<int64_t> lines;       // the source line of each row
  std::vector<int64_t> table_rows;  // the table row each row came from
  int64_t dropped_rows = 0;    // rows left out for missing values (kDrop)
  // Per input column (schema.input_columns' order): the cells kept as missing (NaN, for
  // imputation) and the categories the schema does not know (encoded as zeros).
  std::vector<int64_t> missing_cells, unseen_categories;
  int64_t clamped_labels = 0;  // regression labels clamped into the declared range
};

// Learns the schema from `table` and encodes it.
Dataset to_dataset(const CsvTable& table, const DatasetOptions& options = {});
// Encodes another file with a schema learned before: its columns are found by name (the
// labels may be absent); categories never seen become all-zero one-hot rows.
Dataset encode(const CsvTable& table, const DataSchema& schema, MissingValues missing);
Dataset encode(const CsvTable& table, const DataSchema& schema, const EncodeOptions& options);
// `data` (rows of `table`) with `text` as its schema's vectorizer and each row's ids of the
// text column appended to its features (after adapting on the training rows).
Dataset with_text_ids(const CsvTable& table, Dataset data, std::shared_ptr<const TextVectorization> text);

// "", "?", "NA", "N/A", "NaN", "nan", "null", "NULL", "None" mark a missing value.
bool is_missing_marker(std::string_view cell);

}  // namespace citadel
