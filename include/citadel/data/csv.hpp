// Reading numeric CSV files into one contiguous buffer, with errors that name the file,
// line and column at fault.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "citadel/core/tensor.hpp"

namespace citadel {

struct CsvOptions {
  char delimiter = ',';
  // true/false forces it; unset: the first row is a header when any of its cells is
  // not a number.
  std::optional<bool> header = std::nullopt;
};

struct CsvTable {
  std::vector<std::string> columns;  // from the header, or "column_1", "column_2", ...
  bool had_header = false;
  int64_t rows = 0;
  std::vector<float> values;  // row-major, rows × columns.size()

  // Index of a column given by name or by 0-based index ("-1" is the last); throws
  // ValueError listing the columns when there is no such column.
  int64_t column_index(const std::string& name_or_index) const;
};

// Parses CSV text; `source` names it in error messages (usually the file's path).
// RFC 4180 quoting, CRLF line ends, a UTF-8 byte-order mark and blank lines are accepted.
CsvTable parse_csv(std::string_view text, const std::string& source, const CsvOptions& options = {});
// Reads and parses a file; throws IoError when it cannot be read.
CsvTable read_csv(const std::string& path, const CsvOptions& options = {});

// Features and labels, ready for Sequential::fit.
struct Dataset {
  Tensor x;  // (rows, features)
  Tensor y;  // (rows, 1)
  std::vector<std::string> feature_names;
  std::string label_name;
};

// Splits a table into features and a label column (name or index; "" = the last).
Dataset to_dataset(const CsvTable& table, const std::string& label_column = "");

}  // namespace citadel
