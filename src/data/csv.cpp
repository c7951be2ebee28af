// A small, strict CSV reader. Every cell must be a finite number (a header row aside);
// anything else is an IoError naming source:line:column and the column's name.
#include "citadel/data/csv.hpp"

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <cmath>
#include <fstream>
#include <sstream>

#include "citadel/core/error.hpp"

namespace citadel {
namespace {

struct Cell {
  std::string text;
  int64_t column;  // 1-based character position of the cell's start, for messages
};

struct Row {
  std::vector<Cell> cells;
  int64_t line;  // 1-based line where the row starts
};

// Splits the text into rows of cells, honouring quotes (a quoted cell may hold the
// delimiter, doubled quotes and line breaks).
class Tokenizer {
 public:
  Tokenizer(std::string_view text, const std::string& source, char delimiter)
      : text_(text), source_(source), delimiter_(delimiter) {
    if (text_.substr(0, 3) == "\xEF\xBB\xBF") text_.remove_prefix(3);  // UTF-8 BOM
  }

  bool next(Row& row) {
    row.cells.clear();
    while (position_ < text_.size() && is_blank_line()) skip_line();
    if (position_ >= text_.size()) return false;
    row.line = line_;
    while (true) {
      row.cells.push_back(read_cell());
      if (position_ >= text_.size()) return true;
      const char c = text_[position_];
      if (c == delimiter_) {
        ++position_;
        continue;
      }
      skip_line_end();
      return true;
    }
  }

 private:
  bool is_blank_line() const {
    size_t i = position_;
    while (i < text_.size() && (text_[i] == ' ' || text_[i] == '\t' || text_[i] == '\r')) ++i;
    return i >= text_.size() || text_[i] == '\n';
  }
  void skip_line() {
    while (position_ < text_.size() && text_[position_] != '\n') ++position_;
    if (position_ < text_.size()) ++position_;
    ++line_;
    line_start_ = position_;
  }
  void skip_line_end() {
    if (text_[position_] == '\r') ++position_;
    if (position_ < text_.size() && text_[position_] == '\n') ++position_;
    ++line_;
    line_start_ = position_;
  }

  Cell read_cell() {
    Cell cell{{}, static_cast<int64_t>(position_ - line_start_) + 1};
    const int64_t start_line = line_;
    size_t i = position_;
    while (i < text_.size() && text_[i] == ' ') ++i;
    if (i < text_.size() && text_[i] == '"') {
      position_ = i + 1;
      while (true) {
        CITADEL_CHECK(position_ < text_.size(), IoError, source_, ":", start_line, ":", cell.column,
                      ": a quoted field is never closed (missing '\"')");
        const char c = text_[position_++];
        if (c == '"') {
          if (position_ < text_.size() && text_[position_] == '"') {
            cell.text += '"';
            ++position_;
            continue;
          }
          break;
        }
        if (c == '\n') {
          ++line_;
          line_start_ = position_;
        }
        cell.text += c;
      }
      while (position_ < text_.size() && text_[position_] == ' ') ++position_;
      CITADEL_CHECK(position_ >= text_.size() || text_[position_] == delimiter_ ||
                        text_[position_] == '\r' || text_[position_] == '\n',
                    IoError, source_, ":", line_, ":", position_ - line_start_ + 1,
                    ": unexpected text after a closing quote");
      return cell;
    }
    while (position_ < text_.size() && text_[position_] != delimiter_ && text_[position_] != '\n' &&
           !(text_[position_] == '\r' &&
             (position_ + 1 >= text_.size() || text_[position_ + 1] == '\n')))
      cell.text += text_[position_++];
    return cell;
  }

  std::string_view text_;
  const std::string& source_;
  char delimiter_;
  size_t position_ = 0, line_start_ = 0;
  int64_t line_ = 1;
};

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// Parses a whole cell as a float; nullopt when it is not exactly one number. A number
// beyond float's range parses as ±infinity, which the caller rejects as not finite.
std::optional<float> parse_number(std::string_view text) {
  text = trim(text);
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  if (text.empty()) return std::nullopt;
  float value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (end != text.data() + text.size()) return std::nullopt;
  if (error == std::errc::result_out_of_range) {  // `value` is untouched then
    const double wide = std::strtod(std::string(text).c_str(), nullptr);
    if (std::fabs(wide) < 1.0) return 0.0f;  // underflow: as good as zero
    return wide < 0 ? -std::numeric_limits<float>::infinity() : std::numeric_limits<float>::infinity();
  }
  if (error != std::errc()) return std::nullopt;
  return value;
}

// A cell as it may appear in a one-line message: at most 40 characters, and bytes that
// are not printable ASCII (binary garbage, line breaks in quotes) escaped as \xHH.
std::string printable(const std::string& text) {
  std::string result;
  for (unsigned char c : text.substr(0, 40)) {
    if (c >= 0x20 && c < 0x7F) {
      result += static_cast<char>(c);
    } else {
      char escaped[5];
      std::snprintf(escaped, sizeof escaped, "\\x%02X", c);
      result += escaped;
    }
  }
  return text.size() > 40 ? result + "..." : result;
}

}  // namespace

CsvTable parse_csv(std::string_view text, const std::string& source, const CsvOptions& options) {
  Tokenizer tokenizer(text, source, options.delimiter);
  CsvTable table;
  Row row;
  CITADEL_CHECK(tokenizer.next(row), IoError, source, ": the file is empty (no rows)");

  bool header = false;
  if (options.header) header = *options.header;
  else
    for (const auto& cell : row.cells) header = header || !parse_number(cell.text);
  table.had_header = header;
  const size_t width = row.cells.size();
  if (header) {
    for (const auto& cell : row.cells) table.columns.emplace_back(trim(cell.text));
  } else {
    for (size_t c = 0; c < width; ++c) table.columns.push_back("column_" + std::to_string(c + 1));
  }

  bool have_row = header ? tokenizer.next(row) : true;
  while (have_row) {
    CITADEL_CHECK(row.cells.size() == width, IoError, source, ":", row.line, ": expected ", width,
                  " fields (as in the first row), got ", row.cells.size());
    for (size_t c = 0; c < width; ++c) {
      const Cell& cell = row.cells[c];
      const auto value = parse_number(cell.text);
      CITADEL_CHECK(!trim(cell.text).empty(), IoError, source, ":", row.line, ":", cell.column,
                    ": column '", table.columns[c], "' is empty (missing value)");
      CITADEL_CHECK(value.has_value(), IoError, source, ":", row.line, ":", cell.column,
                    ": column '", table.columns[c], "': expected a number, got '",
                    printable(cell.text), "'");
      CITADEL_CHECK(std::isfinite(*value), IoError, source, ":", row.line, ":", cell.column,
                    ": column '", table.columns[c], "': ", printable(cell.text),
                    " is not a finite number (or is beyond float's range)");
      table.values.push_back(*value);
    }
    ++table.rows;
    have_row = tokenizer.next(row);
  }
  CITADEL_CHECK(table.rows > 0, IoError, source, ": no data rows after the header");
  return table;
}

CsvTable read_csv(const std::string& path, const CsvOptions& options) {
  std::ifstream file(path, std::ios::binary);
  CITADEL_CHECK(file.is_open(), IoError, path, ": cannot open the data file (does it exist?)");
  std::ostringstream contents;
  contents << file.rdbuf();
  CITADEL_CHECK(!file.bad(), IoError, path, ": read error");
  return parse_csv(contents.str(), path, options);
}

int64_t CsvTable::column_index(const std::string& name_or_index) const {
  const auto width = static_cast<int64_t>(columns.size());
  for (int64_t c = 0; c < width; ++c)
    if (columns[c] == name_or_index) return c;
  int64_t index = 0;
  const char* begin = name_or_index.data();
  const char* end = begin + name_or_index.size();
  const auto [stop, error] = std::from_chars(begin, end, index);
  if (error == std::errc() && stop == end && !name_or_index.empty()) {
    if (index < 0) index += width;
    if (index >= 0 && index < width) return index;
  }
  std::string list;
  for (const auto& column : columns) list += (list.empty() ? "" : ", ") + column;
  throw ValueError("no column '" + name_or_index + "'; columns are: " + list +
                   " (or give a 0-based index; -1 is the last)");
}

Dataset to_dataset(const CsvTable& table, const std::string& label_column) {
  const auto width = static_cast<int64_t>(table.columns.size());
  CITADEL_CHECK(width >= 2, ValueError, "the data needs at least one feature column and a label column, got ",
                width, " column(s)");
  const int64_t label = label_column.empty() ? width - 1 : table.column_index(label_column);
  Dataset data{Tensor(Shape{table.rows, width - 1}), Tensor(Shape{table.rows, 1}), {}, table.columns[label]};
  for (int64_t c = 0; c < width; ++c)
    if (c != label) data.feature_names.push_back(table.columns[c]);
  for (int64_t r = 0; r < table.rows; ++r) {
    int64_t feature = 0;
    for (int64_t c = 0; c < width; ++c) {
      const float value = table.values[r * width + c];
      if (c == label) data.y[r] = value;
      else data.x.at(r, feature++) = value;
    }
  }
  return data;
}

}  // namespace citadel
