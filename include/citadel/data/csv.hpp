// Reading CSV files as text cells, with the forms real files take: a header or none,
// ',' ';' or tab delimiters, RFC 4180 quotes, CRLF, a UTF-8 BOM, blank lines. Turning
// the cells into numbers is data/dataset.hpp's job.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace citadel {

struct CsvOptions {
  // Unset: detected from the first line (the most frequent of ',', ';', tab outside quotes).
  std::optional<char> delimiter = std::nullopt;
  // Unset: the first row is a header when some cell of it is not a number while the cell
  // below it is (a column of numbers under a name).
  std::optional<bool> header = std::nullopt;
  // Limits that keep a hostile file from exhausting memory: a file above max_file_bytes
  // is refused before it is read (cells are then stored in about 4 bytes each plus their text).
  int64_t max_file_bytes = int64_t{1} << 30;
  int64_t max_columns = 100'000;
  int64_t max_field_bytes = 64 << 20;
};

// Cells stored compactly: one text buffer and the end offset of each cell (4 bytes a cell,
// not a std::string's 32), so a file of empty fields costs a few bytes per byte read.
class CsvCells {
 public:
  void push_back(std::string_view cell);
  std::string_view operator[](size_t index) const {
    const uint32_t begin = index == 0 ? 0 : ends_[index - 1];
    return std::string_view(text_).substr(begin, ends_[index] - begin);
  }
  size_t size() const { return ends_.size(); }
  int64_t memory_bytes() const { return int64_t(text_.capacity() + ends_.capacity() * sizeof(uint32_t)); }
  std::vector<std::string> to_vector() const;
  void shrink_to_fit() { text_.shrink_to_fit(), ends_.shrink_to_fit(); }

 private:
  std::string text_;
  std::vector<uint32_t> ends_;
};

struct CsvTable {
  std::string source;                // the file's path, for messages
  std::vector<std::string> columns;  // from the header, or "column_1", "column_2", ...
  bool had_header = false;
  char delimiter = ',';
  std::string header_decision;  // how the header and delimiter were decided, in words
  int64_t rows = 0;
  CsvCells cells;              // row-major, rows × columns.size(), trimmed
  std::vector<int64_t> lines;  // source line where each row starts
  std::unordered_map<std::string, int64_t> column_by_name;  // the first column of each name

  std::string_view cell(int64_t row, int64_t column) const { return cells[size_t(row) * columns.size() + size_t(column)]; }
  // Index of a column given by name or by 0-based index ("-1" is the last); throws
  // ValueError listing the columns when there is no such column.
  int64_t column_index(const std::string& name_or_index) const;
  // The column of that name, or -1.
  int64_t find_column(const std::string& name) const;
};

// Parses CSV text; `source` names it in error messages (usually the file's path).
CsvTable parse_csv(std::string_view text, const std::string& source, const CsvOptions& options = {});
// Reads and parses a file; throws IoError when it cannot be read or exceeds max_file_bytes.
CsvTable read_csv(const std::string& path, const CsvOptions& options = {});

// Parses a whole cell as a float: nullopt when it is not exactly one number; ±infinity
// beyond float's range; 0 on underflow.
std::optional<float> parse_number(std::string_view text);
// A cell as it may appear in a one-line message: at most 40 characters, bytes that are
// not printable ASCII escaped as \xHH.
std::string printable(std::string_view text);

}  // namespace citadel
