// Encoding CSV cells into a Dataset, with errors naming source:line:column.
#include "citadel/data/dataset.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <unordered_map>

#include "citadel/core/error.hpp"
#include "citadel/data/text_vectorization.hpp"

namespace citadel {
namespace {

constexpr int64_t kMaxClasses = 10'000;

// Category or class names in a stable order: numerically when all are numbers
// (so 2 < 10), else as text.
std::vector<std::string> sorted_names(const std::set<std::string>& names) {
  std::vector<std::string> result(names.begin(), names.end());
  const bool numeric = std::all_of(result.begin(), result.end(), [](const std::string& s) {
    const auto value = parse_number(s);
    return value && std::isfinite(*value);
  });
  if (numeric)
    std::stable_sort(result.begin(), result.end(),
                     [](const std::string& a, const std::string& b) { return *parse_number(a) < *parse_number(b); });
  return result;
}

// Where a column of the file sits, and how it is encoded.
struct ColumnPlan {
  int64_t file_column;
  const std::vector<std::string>* categories;  // null: numeric
  int64_t first_feature;
  std::unordered_map<std::string_view, int64_t> category_index;  // views into *categories
};

std::string missing_hint() {
  return "; leave such rows out with missing = drop (CLI: --missing drop), or fill them with the training "
         "split's means with missing = mean (--missing mean)";
}

// The default bound on encoded rows: the larger of 256 MiB and 16 times the table's text.
// Numbers encode into about as many bytes as their text; only one-hot columns expand a
// file, and that expansion is what the bound stops (a small file of many categories).
int64_t encoded_bytes_limit(const CsvTable& table, int64_t given) {
  return given > 0 ? given : std::max<int64_t>(int64_t{256} << 20, 16 * table.cells.memory_bytes());
}

// The widest one-hot column, for the message of an encoding over the bound.
std::string widest_column(const DataSchema& schema) {
  size_t widest = 0;
  for (size_t i = 1; i < schema.categories.size(); ++i)
    if (schema.categories[i].size() > schema.categories[widest].size()) widest = i;
  if (schema.categories.empty() || schema.categories[widest].empty()) return "";
  return detail::concat("; column '", schema.input_columns[widest], "' alone is ", schema.categories[widest].size(),
                        " one-hot features (fewer categories, or a numeric encoding of it, would shrink it)");
}

// `label_columns`: per label of the schema (label_schema order), its column in the table or −1.
Dataset encode_rows(const CsvTable& table, const DataSchema& schema, const std::vector<int64_t>& label_columns,
                    const EncodeOptions& options) {
  const MissingValues missing = options.missing;
  const int64_t row_begin = std::clamp<int64_t>(options.row_begin, 0, table.rows);
  const int64_t row_end = options.row_end < 0 ? table.rows : std::clamp<int64_t>(options.row_end, row_begin, table.rows);
  std::vector<ColumnPlan> plan;
  int64_t features = 0;
  for (size_t i = 0; i < schema.input_columns.size(); ++i) {
    const int64_t file_column = table.column_index(schema.input_columns[i]);
    const auto* categories = schema.categories[i].empty() ? nullptr : &schema.categories[i];
    plan.push_back({file_column, categories, features, {}});
    if (categories)
      for (size_t k = 0; k < categories->size(); ++k) plan.back().category_index.emplace((*categories)[k], int64_t(k));
    features += categories ? static_cast<int64_t>(categories->size()) : 1;
  }
  // The text column's ids follow the other features; its cells are never missing (an empty
  // text is a row of padding).
  const int64_t text_features = features;
  const int64_t text_column = schema.text ? table.column_index(schema.text_column) : -1;
  if (schema.text) features += schema.text->sequence_length();

  // First pass: find rows with missing values, and the first one for the message.
  std::vector<unsigned char> row_missing(static_cast<size_t>(table.rows), 0);
  int64_t missing_rows = 0, first_row = -1, first_column = -1;
  for (int64_t r = row_begin; r < row_end; ++r) {
    auto check = [&](int64_t column) {
      if (!is_missing_marker(table.cell(r, column))) return;
      if (!row_missing[r]) ++missing_rows;
      row_missing[r] = 1;
      if (first_row < 0) first_row = r, first_column = column;
    };
    for (const auto& column : plan) check(column.file_column);
    for (const int64_t label_column : label_columns) {
      if (label_column < 0) continue;
      check(label_column);
      CITADEL_CHECK(!(missing == MissingValues::kMean && is_missing_marker(table.cell(r, label_column))), IoError,
                    table.source, ":", table.lines[r], ": the label '", table.columns[label_column],
                    "' is missing; a label cannot be imputed (use missing = drop, CLI: --missing drop)");
    }
  }
  if (missing_rows > 0 && missing == MissingValues::kError)
    throw IoError(detail::concat(table.source, ":", table.lines[first_row], ": column '", table.columns[first_column],
                                 "' has a missing value ('", printable(table.cell(first_row, first_column)), "'); ",
                                 missing_rows, " of ", row_end - row_begin, " rows have missing values", missing_hint()));

  const int64_t kept = (row_end - row_begin) - (missing == MissingValues::kDrop ? missing_rows : 0);
  CITADEL_CHECK(kept > 0 || row_end == row_begin, IoError, table.source,
                ": every row has a missing value; nothing is left to use");
  // The size is checked before anything is allocated (rows × features floats).
  const int64_t limit = encoded_bytes_limit(table, options.max_encoded_bytes);
  const double bytes = double(kept) * double(features + 1) * sizeof(float);
  CITADEL_CHECK(bytes <= double(limit), IoError, table.source, ": encoding its ", kept, " rows as ", features,
                " features takes ", static_cast<int64_t>(bytes / double(1 << 20)), " MiB, more than the limit of ",
                limit >> 20, " MiB", widest_column(schema), "; raise the limit with max_encoded_bytes (CLI: "
                "--max-encoded-mb) if the machine has the memory");
  Dataset data;
  data.schema = schema;
  data.dropped_rows = (row_end - row_begin) - kept;
  data.x = Tensor(Shape{kept, features});
  const int64_t label_column = label_columns.empty() ? -1 : label_columns[0];
  if (label_column >= 0) data.y = Tensor(Shape{kept, 1});
  data.more_y.resize(schema.more_labels.size());
  for (size_t j = 1; j < label_columns.size(); ++j)
    if (label_columns[j] >= 0) data.more_y[j - 1] = Tensor(Shape{kept, 1});
  data.missing_cells.assign(plan.size(), 0);
  data.unseen_categories.assign(plan.size(), 0);
  std::vector<LabelSchema> labels;
  std::vector<std::map<std::string, int64_t, std::less<>>> class_index;  // per label, found by string_view
  for (size_t j = 0; j < label_columns.size(); ++j) {
    labels.push_back(schema.label_schema(j));
    class_index.emplace_back();
    for (size_t i = 0; i < labels[j].classes.size(); ++i) class_index[j][labels[j].classes[i]] = static_cast<int64_t>(i);
  }

  int64_t out = 0;
  for (int64_t r = row_begin; r < row_end; ++r) {
    if (row_missing[r] && missing == MissingValues::kDrop) continue;
    float* row = data.x.data() + out * features;
    for (size_t c = 0; c < plan.size(); ++c) {
      const ColumnPlan& column = plan[c];
      const std::string_view cell = table.cell(r, column.file_column);
      if (column.categories) {
        const auto found = column.category_index.find(cell);
        if (found != column.category_index.end()) {
          row[column.first_feature + found->second] = 1.0f;
        } else if (!is_missing_marker(cell)) {
          CITADEL_CHECK(!options.unseen_categories_are_errors, ValueError, table.source, ":", table.lines[r], ":",
                        column.file_column + 1, ": column '", table.columns[column.file_column], "': category '",
                        printable(cell), "' was not among the ", column.categories->size(),
                        " the model was trained on");
          ++data.unseen_categories[c];
        }
        continue;  // unseen or missing categories stay all-zero
      }
      if (is_missing_marker(cell)) {
        row[column.first_feature] = std::numeric_limits<float>::quiet_NaN();
        ++data.missing_cells[c];
        continue;
      }
      const auto value = parse_number(cell);
      CITADEL_CHECK(value.has_value(), IoError, table.source, ":", table.lines[r], ":", column.file_column + 1,
                    ": column '", table.columns[column.file_column], "': expected a number, got '", printable(cell),
                    "'; to one-hot encode this column, list it as categorical (CLI: --categorical ",
                    table.columns[column.file_column], ")");
      CITADEL_CHECK(std::isfinite(*value), IoError, table.source, ":", table.lines[r], ":", column.file_column + 1,
                    ": column '", table.columns[column.file_column], "': ", printable(cell),
                    " is not a finite number (or is beyond float's range)");
      row[column.first_feature] = *value;
    }
    for (size_t j = 0; j < label_columns.size(); ++j) {
      if (label_columns[j] < 0) continue;
      Tensor& y = j == 0 ? data.y : data.more_y[j - 1];
      const std::string_view cell = table.cell(r, label_columns[j]);
      if (labels[j].type == LabelType::kClasses) {
        const auto found = class_index[j].find(cell);
        CITADEL_CHECK(found != class_index[j].end(), ValueError, table.source, ":", table.lines[r], ": label '",
                      printable(cell), "' is not one of the ", labels[j].classes.size(), " classes the model knows",
                      j > 0 ? " for '" + labels[j].name + "'" : std::string());
        y[out] = static_cast<float>(found->second);
      } else {
        const auto value = parse_number(cell);
        CITADEL_CHECK(value && std::isfinite(*value), IoError, table.source, ":", table.lines[r], ":",
                      label_columns[j] + 1, ": label '", labels[j].name, "': expected a finite number, got '",
                      printable(cell), "'");
        y[out] = *value;
      }
    }
    data.lines.push_back(table.lines[r]);
    data.table_rows.push_back(r);
    ++out;
  }
  if (text_column >= 0) {
    std::vector<std::string> texts;
    for (const int64_t r : data.table_rows) texts.emplace_back(table.cell(r, text_column));
    const Tensor ids = schema.text->transform(texts);
    const int64_t T = schema.text->sequence_length();
    for (int64_t n = 0; n < out; ++n)
      std::copy(ids.data() + n * T, ids.data() + (n + 1) * T, data.x.data() + n * features + text_features);
  }
  return data;
}

// A label column's classes, from every row of the table.
std::vector<std::string> learned_classes(const CsvTable& table, int64_t label) {
  std::set<std::string> classes;
  for (int64_t r = 0; r < table.rows; ++r)
    if (!is_missing_marker(table.cell(r, label))) classes.emplace(table.cell(r, label));
  CITADEL_CHECK(int64_t(classes.size()) <= kMaxClasses, ValueError, table.source, ": the label '", table.columns[label],
                "' has ", classes.size(), " distinct values; if it is a quantity to predict, use a regression "
                "loss (mean_squared_error)");
  CITADEL_CHECK(classes.size() >= 2, ValueError, table.source, ": the label '", table.columns[label],
                "' has only one class (", classes.empty() ? "none" : printable(*classes.begin()),
                "); a classifier needs at least two");
  return sorted_names(classes);
}

}  // namespace

bool is_missing_marker(std::string_view cell) {
  for (const char* marker : {"", "?", "NA", "N/A", "NaN", "nan", "null", "NULL", "None"})
    if (cell == marker) return true;
  return false;
}

std::vector<std::string> DataSchema::feature_names() const {
  std::vector<std::string> names;
  for (size_t i = 0; i < input_columns.size(); ++i) {
    if (categories[i].empty()) names.push_back(input_columns[i]);
    for (const auto& category : categories[i]) names.push_back(input_columns[i] + "=" + category);
  }
  for (int64_t t = 0; text && t < text->sequence_length(); ++t)
    names.push_back(text_column + "[" + std::to_string(t) + "]");
  return names;
}

int64_t DataSchema::feature_count() const { return static_cast<int64_t>(feature_names().size()); }

LabelSchema DataSchema::label_schema(size_t index) const {
  if (index == 0) return {label, label_type, classes};
  CITADEL_CHECK(index <= more_labels.size(), ValueError, "label_schema: label ", index, " of ", label_count());
  return more_labels[index - 1];
}

Dataset to_dataset(const CsvTable& table, const DatasetOptions& options) {
  const auto width = static_cast<int64_t>(table.columns.size());
  CITADEL_CHECK(width >= 2, ValueError, table.source, ": the data needs at least one feature column and a label column, got ",
                width, " column(s)");
  const DeclaredSchema* declared = options.declared;
  std::string label_name = options.label;
  if (label_name.empty() && declared && declared->label) {
    CITADEL_CHECK(table.find_column(*declared->label) >= 0, ValueError, table.source, ": has no column '",
                  *declared->label, "', the label ", declared->source, " names");
    label_name = *declared->label;
  }
  const int64_t label = label_name.empty() ? width - 1 : table.column_index(label_name);
  std::vector<int64_t> label_columns{label};
  for (const auto& [name, type] : options.more_labels) {
    const int64_t column = table.column_index(name);
    CITADEL_CHECK(std::find(label_columns.begin(), label_columns.end(), column) == label_columns.end(), ValueError,
                  table.source, ": column '", table.columns[column], "' is given as a label twice");
    label_columns.push_back(column);
  }
  CITADEL_CHECK(width > int64_t(label_columns.size()), ValueError, table.source, ": the data needs at least one feature "
                "column besides its ", label_columns.size(), " label columns");
  auto is_label = [&](int64_t column) {
    return std::find(label_columns.begin(), label_columns.end(), column) != label_columns.end();
  };
  const int64_t text = options.text_column.empty() ? -1 : table.column_index(options.text_column);
  CITADEL_CHECK(text < 0 || !is_label(text), ValueError, table.source, ": '", options.text_column,
                "' is a label column; the text column is a feature");
  std::set<int64_t> categorical;
  if (declared)
    for (const auto& [name, column] : declared->columns) {
      const int64_t index = table.find_column(name);
      CITADEL_CHECK(index >= 0, ValueError, declared->source, ": declares a column '", name, "' that ", table.source,
                    " does not have");
      if (column.categorical() && !is_label(index)) categorical.insert(index);
    }
  for (const auto& name : options.categorical) {
    const int64_t column = table.column_index(name);
    CITADEL_CHECK(column != text, ValueError, table.source, ": '", table.columns[column],
                  "' is the text column; it is read as tokens, not one-hot encoded");
    CITADEL_CHECK(!is_label(column), ValueError, table.source, ": '", table.columns[column],
                  "' is a label column; only feature columns are one-hot encoded");
    categorical.insert(column);
  }

  DataSchema schema;
  schema.label = table.columns[label];
  schema.label_type = options.label_type;
  if (text >= 0) schema.text_column = table.columns[text];
  for (int64_t c = 0; c < width; ++c) {
    if (is_label(c) || c == text) continue;
    schema.input_columns.push_back(table.columns[c]);
    std::set<std::string> seen;
    const DeclaredColumn* stated = declared ? declared->column(table.columns[c]) : nullptr;
    if (categorical.count(c) && stated && stated->categorical()) {
      schema.categories.push_back(stated->categories);  // the declared order, not learned
      continue;
    }
    if (categorical.count(c)) {
      auto learn = [&](int64_t r) {
        CITADEL_CHECK(r >= 0 && r < table.rows, ValueError, table.source, ": vocabulary row ", r, " is not in the table");
        const std::string_view cell = table.cell(r, c);
        if (is_missing_marker(cell)) return;
        seen.emplace(cell);
        CITADEL_CHECK(int64_t(seen.size()) <= options.max_categories, ValueError, table.source, ": categorical column '",
                      table.columns[c], "' has more than ", options.max_categories,
                      " distinct values; one-hot encoding it would take that many inputs (raise the limit with "
                      "max_categories, CLI: --max-categories, or treat the column as a number)");
      };
      if (options.vocabulary_rows)
        for (int64_t r : *options.vocabulary_rows) learn(r);
      else
        for (int64_t r = 0; r < table.rows; ++r) learn(r);
    }
    schema.categories.push_back(sorted_names(seen));
  }
  if (options.label_type == LabelType::kClasses && declared && !declared->classes.empty())
    schema.classes = declared->classes;
  else if (options.label_type == LabelType::kClasses)
    schema.classes = learned_classes(table, label);
  for (size_t j = 0; j < options.more_labels.size(); ++j) {
    LabelSchema more{table.columns[label_columns[j + 1]], options.more_labels[j].second, {}};
    if (more.type == LabelType::kClasses) more.classes = learned_classes(table, label_columns[j + 1]);
    schema.more_labels.push_back(std::move(more));
  }
  Dataset data = encode_rows(table, schema, label_columns, {.missing = options.missing,
                                                   .max_encoded_bytes = options.max_encoded_bytes});
  if (options.label_type == LabelType::kValues && declared && declared->label_min)
    for (int64_t r = 0; r < data.y.numel(); ++r) {
      const float clamped = std::clamp(data.y[r], float(*declared->label_min), float(*declared->label_max));
      data.clamped_labels += clamped != data.y[r];
      data.y[r] = clamped;
    }
  return data;
}

Dataset encode(const CsvTable& table, const DataSchema& schema, const EncodeOptions& options) {
  std::vector<int64_t> label_columns{table.find_column(schema.label)};
  for (const LabelSchema& more : schema.more_labels) label_columns.push_back(table.find_column(more.name));
  for (const auto& column : schema.input_columns)
    CITADEL_CHECK(table.find_column(column) >= 0, ValueError, table.source, ": has no column '", column,
                  "', which the model was trained on");
  CITADEL_CHECK(!schema.text || table.find_column(schema.text_column) >= 0, ValueError, table.source,
                ": has no column '", schema.text_column, "', the text column the model was trained on");
  return encode_rows(table, schema, label_columns, options);
}

Dataset with_text_ids(const CsvTable& table, Dataset data, std::shared_ptr<const TextVectorization> text) {
  CITADEL_CHECK(text && text->sequence_length() > 0, ValueError, table.source,
                ": the text vectorizer needs a fixed output_sequence_length");
  const int64_t column = table.column_index(data.schema.text_column);
  const int64_t N = data.x.shape(0), D = data.x.numel() / std::max<int64_t>(N, 1), T = text->sequence_length();
  std::vector<std::string> texts;
  for (const int64_t r : data.table_rows) texts.emplace_back(table.cell(r, column));
  const Tensor ids = text->transform(texts);
  Tensor x(Shape{N, D + T});
  for (int64_t n = 0; n < N; ++n) {
    std::copy(data.x.data() + n * D, data.x.data() + (n + 1) * D, x.data() + n * (D + T));
    std::copy(ids.data() + n * T, ids.data() + (n + 1) * T, x.data() + n * (D + T) + D);
  }
  data.x = std::move(x);
  data.schema.text = std::move(text);
  return data;
}

Dataset encode(const CsvTable& table, const DataSchema& schema, MissingValues missing) {
  return encode(table, schema, EncodeOptions{.missing = missing});
}

}  // namespace citadel
