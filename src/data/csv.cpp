// CSV tokenizing: rows of trimmed text cells with their line numbers, errors naming
// source:line:column. No cell is interpreted here beyond header detection.
#include "citadel/data/csv.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>

#include "citadel/core/error.hpp"

namespace citadel {
namespace {

struct Row {
  std::vector<std::string> cells;
  std::vector<int64_t> columns;  // 1-based character position where each cell starts
  int64_t line = 0;
};

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) text.remove_suffix(1);
  return text;
}

class Tokenizer {
 public:
  Tokenizer(std::string_view text, const std::string& source, char delimiter, const CsvOptions& options)
      : text_(text), source_(source), delimiter_(delimiter), options_(options) {}

  bool next(Row& row) {
    row.cells.clear();
    row.columns.clear();
    while (position_ < text_.size() && is_blank_line()) skip_line();
    if (position_ >= text_.size()) return false;
    row.line = line_;
    while (true) {
      CITADEL_CHECK(int64_t(row.cells.size()) < options_.max_columns, IoError, source_, ":", row.line,
                    ": more than ", options_.max_columns, " fields in one row");
      row.columns.push_back(static_cast<int64_t>(position_ - line_start_) + 1);
      row.cells.push_back(read_cell());
      if (position_ >= text_.size()) return true;
      if (text_[position_] == delimiter_) {
        ++position_;
        continue;
      }
      if (text_[position_] == '\r') ++position_;
      if (position_ < text_.size() && text_[position_] == '\n') ++position_;
      ++line_;
      line_start_ = position_;
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
  bool at_line_end(size_t i) const {
    return text_[i] == '\n' || (text_[i] == '\r' && (i + 1 >= text_.size() || text_[i + 1] == '\n'));
  }
  void check_size(size_t size, int64_t line, int64_t column) const {
    CITADEL_CHECK(int64_t(size) <= options_.max_field_bytes, IoError, source_, ":", line, ":", column,
                  ": a field longer than ", options_.max_field_bytes, " bytes");
  }

  std::string read_cell() {
    const int64_t start_line = line_, start_column = int64_t(position_ - line_start_) + 1;
    size_t i = position_;
    while (i < text_.size() && (text_[i] == ' ' || text_[i] == '\t') && text_[i] != delimiter_) ++i;
    if (i < text_.size() && text_[i] == '"') {
      std::string cell;
      position_ = i + 1;
      while (true) {
        CITADEL_CHECK(position_ < text_.size(), IoError, source_, ":", start_line, ":", start_column,
                      ": a quoted field is never closed (missing '\"')");
        const char c = text_[position_++];
        if (c == '"') {
          if (position_ < text_.size() && text_[position_] == '"') {
            cell += '"';
            ++position_;
            continue;
          }
          break;
        }
        if (c == '\n') {
          ++line_;
          line_start_ = position_;
        }
        cell += c;
        if ((cell.size() & 0xFFFF) == 0) check_size(cell.size(), start_line, start_column);
      }
      check_size(cell.size(), start_line, start_column);
      while (position_ < text_.size() && (text_[position_] == ' ' || text_[position_] == '\t') &&
             text_[position_] != delimiter_)
        ++position_;
      CITADEL_CHECK(position_ >= text_.size() || text_[position_] == delimiter_ || at_line_end(position_), IoError,
                    source_, ":", line_, ":", position_ - line_start_ + 1, ": unexpected text after a closing quote");
      return cell;
    }
    const size_t begin = position_;
    while (position_ < text_.size() && text_[position_] != delimiter_ && !at_line_end(position_)) ++position_;
    check_size(position_ - begin, start_line, start_column);
    return std::string(trim(text_.substr(begin, position_ - begin)));
  }

  std::string_view text_;
  const std::string& source_;
  char delimiter_;
  const CsvOptions& options_;
  size_t position_ = 0, line_start_ = 0;
  int64_t line_ = 1;
};

// The delimiter used most often outside quotes on the first non-blank line.
char detect_delimiter(std::string_view text) {
  const std::array<char, 3> candidates{',', ';', '\t'};
  std::array<int, 3> counts{};
  bool quoted = false;
  size_t i = 0;
  while (i < text.size() && (text[i] == '\n' || text[i] == '\r' || text[i] == ' ')) ++i;
  for (; i < text.size() && (quoted || text[i] != '\n'); ++i) {
    if (text[i] == '"') quoted = !quoted;
    if (quoted) continue;
    for (size_t c = 0; c < candidates.size(); ++c) counts[c] += text[i] == candidates[c];
  }
  size_t best = 0;
  for (size_t c = 1; c < candidates.size(); ++c)
    if (counts[c] > counts[best]) best = c;
  return candidates[best];
}

const char* delimiter_name(char delimiter) {
  return delimiter == ',' ? "','" : delimiter == ';' ? "';'" : "tab";
}

}  // namespace

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

std::string printable(std::string_view text) {
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

CsvTable parse_csv(std::string_view text, const std::string& source, const CsvOptions& options) {
  CITADEL_CHECK(int64_t(text.size()) <= options.max_file_bytes, IoError, source, ": ", text.size(),
                " bytes exceed the limit of ", options.max_file_bytes, " (CLI: --max-data-bytes)");
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // UTF-8 byte-order mark
  CsvTable table;
  table.source = source;
  table.delimiter = options.delimiter.value_or(detect_delimiter(text));
  Tokenizer tokenizer(text, source, table.delimiter, options);
  Row first, row;
  CITADEL_CHECK(tokenizer.next(first), IoError, source, ": the file is empty (no rows)");
  const size_t width = first.cells.size();
  bool have_row = tokenizer.next(row);

  bool header = false;
  if (options.header) {
    header = *options.header;
    table.header_decision = header ? "a header row, as asked" : "no header row, as asked";
  } else {
    // A header: some first-row cell is text while the cell below it is a number; with a
    // single row, any text cell.
    for (size_t c = 0; c < width; ++c) {
      const bool text_cell = !parse_number(first.cells[c]) && !first.cells[c].empty();
      const bool number_below = !have_row || (c < row.cells.size() && parse_number(row.cells[c]));
      header = header || (text_cell && number_below);
    }
    if (!header) {  // all text, over text: names are likely when no first-row value repeats below
      bool all_text = true;
      for (const auto& cell : first.cells) all_text = all_text && !parse_number(cell);
      header = all_text && have_row && first.cells != row.cells;
    }
    table.header_decision = header ? "detected a header row (its cells are names, not values)"
                                   : "no header row detected (the first row holds values)";
  }
  table.header_decision += std::string(", delimiter ") + delimiter_name(table.delimiter);
  table.had_header = header;
  if (header) {
    table.columns = first.cells;
    for (size_t c = 0; c < width; ++c)
      if (table.columns[c].empty()) table.columns[c] = "column_" + std::to_string(c + 1);
  } else {
    for (size_t c = 0; c < width; ++c) table.columns.push_back("column_" + std::to_string(c + 1));
  }

  auto add_row = [&](const Row& r) {
    CITADEL_CHECK(r.cells.size() == width, IoError, source, ":", r.line, ": expected ", width,
                  " fields (as in the first row), got ", r.cells.size());
    for (const auto& cell : r.cells) table.cells.push_back(cell);
    table.lines.push_back(r.line);
    ++table.rows;
  };
  if (!header) add_row(first);
  while (have_row) {
    add_row(row);
    have_row = tokenizer.next(row);
  }
  CITADEL_CHECK(table.rows > 0, IoError, source, ": no data rows after the header");
  for (size_t c = table.columns.size(); c-- > 0;) table.column_by_name[table.columns[c]] = int64_t(c);
  table.cells.shrink_to_fit();
  table.lines.shrink_to_fit();
  return table;
}

CsvTable read_csv(const std::string& path, const CsvOptions& options) {
  std::ifstream file(path, std::ios::binary);
  CITADEL_CHECK(file.is_open(), IoError, path, ": cannot open the data file (does it exist?)");
  std::string contents;
  char buffer[1 << 16];
  while (file.read(buffer, sizeof buffer) || file.gcount() > 0) {  // bounded even for a pipe
    contents.append(buffer, static_cast<size_t>(file.gcount()));
    CITADEL_CHECK(int64_t(contents.size()) <= options.max_file_bytes, IoError, path, ": larger than the limit of ",
                  options.max_file_bytes, " bytes (CLI: --max-data-bytes)");
  }
  CITADEL_CHECK(!file.bad(), IoError, path, ": read error");
  return parse_csv(contents, path, options);
}

void CsvCells::push_back(std::string_view cell) {
  CITADEL_CHECK(text_.size() + cell.size() <= UINT32_MAX, IoError, "a CSV file holds more than 4 GiB of cell text");
  text_.append(cell);
  ends_.push_back(static_cast<uint32_t>(text_.size()));
}

std::vector<std::string> CsvCells::to_vector() const {
  std::vector<std::string> result;
  for (size_t i = 0; i < size(); ++i) result.emplace_back((*this)[i]);
  return result;
}

int64_t CsvTable::find_column(const std::string& name) const {
  if (const auto found = column_by_name.find(name); found != column_by_name.end()) return found->second;
  if (!column_by_name.empty()) return -1;
  for (size_t c = 0; c < columns.size(); ++c)  // a table built by hand
    if (columns[c] == name) return int64_t(c);
  return -1;
}

int64_t CsvTable::column_index(const std::string& name_or_index) const {
  const auto width = static_cast<int64_t>(columns.size());
  if (const int64_t found = find_column(name_or_index); found >= 0) return found;
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
  throw ValueError(source + ": no column '" + name_or_index + "'; columns are: " + list +
                   " (or give a 0-based index; -1 is the last)");
}

}  // namespace citadel
