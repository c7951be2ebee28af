// The CSV reader: the forms real files take, and errors that say where they are wrong.
#include <gtest/gtest.h>

#include <cmath>

#include "citadel/core/error.hpp"
#include "citadel/data/csv.hpp"
#include "citadel/data/csv_field.hpp"

namespace csv_test {

using namespace citadel;

namespace {

std::string error_of(const std::string& text) {
  try {
    parse_csv(text, "input.csv");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Csv, ReadsHeaderAndCells) {
  const CsvTable table = parse_csv("a,b,label\n1,2.5,0\n-3,4e2,1\n", "t.csv");
  EXPECT_TRUE(table.had_header);
  EXPECT_EQ(table.columns, (std::vector<std::string>{"a", "b", "label"}));
  EXPECT_EQ(table.rows, 2);
  EXPECT_EQ(table.cells.to_vector(), (std::vector<std::string>{"1", "2.5", "0", "-3", "4e2", "1"}));
  EXPECT_EQ(table.lines, (std::vector<int64_t>{2, 3}));
  EXPECT_NE(table.header_decision.find("detected a header"), std::string::npos);
}

TEST(Csv, DetectsAMissingHeaderAndSaysSo) {
  const CsvTable table = parse_csv("1,2\n3,4\n", "t.csv");
  EXPECT_FALSE(table.had_header);
  EXPECT_EQ(table.rows, 2);
  EXPECT_EQ(table.columns, (std::vector<std::string>{"column_1", "column_2"}));
  EXPECT_NE(table.header_decision.find("no header"), std::string::npos);
  // Text labels under text names: still a header when the rows differ from it.
  EXPECT_TRUE(parse_csv("colour,label\nred,yes\nblue,no\n", "t.csv").had_header);
  // Forced either way.
  EXPECT_FALSE(parse_csv("a,b\n1,2\n", "t.csv", {.header = false}).had_header);
  EXPECT_TRUE(parse_csv("1,2\n3,4\n", "t.csv", {.header = true}).had_header);
}

TEST(Csv, DetectsSemicolonAndTabDelimiters) {
  const CsvTable semicolon = parse_csv("a;b;c\n1,5;2;3\n", "t.csv");
  EXPECT_EQ(semicolon.delimiter, ';');
  EXPECT_EQ(semicolon.cells[0], "1,5");
  const CsvTable tab = parse_csv("a\tb\n1\t2\n", "t.csv");
  EXPECT_EQ(tab.delimiter, '\t');
  EXPECT_EQ(tab.cells.to_vector(), (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(parse_csv("a;b\n1;2\n", "t.csv", {.delimiter = ','}).columns.size(), 1u);
}

TEST(Csv, AcceptsCrlfBomQuotesSpacesAndBlankLines) {
  const CsvTable table =
      parse_csv("\xEF\xBB\xBF\"first, name\",\"b\"\r\n 1 ,\"2 \"\"q\"\"\"\r\n\r\n3,\"multi\nline\"\r\n\n\n", "t.csv");
  EXPECT_EQ(table.columns, (std::vector<std::string>{"first, name", "b"}));
  EXPECT_EQ(table.cells.to_vector(), (std::vector<std::string>{"1", "2 \"q\"", "3", "multi\nline"}));
}

TEST(Csv, RaggedRowsAndUnclosedQuotesNameTheLine) {
  const std::string ragged = error_of("a,b\n1,2\n3\n");
  EXPECT_NE(ragged.find("input.csv:3: expected 2 fields"), std::string::npos) << ragged;
  const std::string quote = error_of("a,b\n1,\"2\n");
  EXPECT_NE(quote.find("input.csv:2:3: a quoted field is never closed"), std::string::npos) << quote;
  EXPECT_NE(error_of("a,b\n1,\"2\"x\n").find("after a closing quote"), std::string::npos);
}

TEST(Csv, EmptyFileAndHeaderOnlyAreErrors) {
  EXPECT_NE(error_of("").find("empty"), std::string::npos);
  EXPECT_NE(error_of("\n\n").find("empty"), std::string::npos);
  EXPECT_NE(error_of("a,b\n").find("no data rows"), std::string::npos);
}

TEST(Csv, OversizedFieldsAreRefused) {
  const std::string big(1000, 'x');
  try {
    parse_csv("a,b\n1," + big + "\n", "t.csv", {.max_field_bytes = 100});
    FAIL();
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("longer than 100 bytes"), std::string::npos) << e.what();
  }
}

TEST(Csv, MissingFileNamesThePath) {
  try {
    read_csv("/no/such/dir/data.csv");
    FAIL();
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("/no/such/dir/data.csv"), std::string::npos);
  }
}

TEST(Csv, NumbersParseStrictly) {
  EXPECT_EQ(parse_number(" 2.5 "), 2.5f);
  EXPECT_EQ(parse_number("+3"), 3.0f);
  EXPECT_FALSE(parse_number("3 4"));
  EXPECT_FALSE(parse_number("abc"));
  EXPECT_TRUE(std::isinf(*parse_number("1e39")));
  EXPECT_EQ(parse_number("1e-50"), 0.0f);
  EXPECT_EQ(printable(std::string("a\x01\xFF", 3)), "a\\x01\\xFF");
}

// A file of empty fields (",,,,,\n") used to cost ~32 bytes of memory per byte read (a
// std::string per cell); cells are now 4 bytes each plus their text.
TEST(Csv, EmptyFieldsCostAFewBytesPerByteAndTheSizeCapHolds) {
  std::string text;
  for (int i = 0; i < 200'000; ++i) text += ",,,,,\n";
  const CsvTable table = parse_csv(text, "empty.csv", {.header = false});
  EXPECT_EQ(table.rows, 200'000);
  EXPECT_EQ(table.cells.size(), 1'200'000u);
  const double per_byte = double(table.cells.memory_bytes() + int64_t(table.lines.capacity() * sizeof(int64_t))) /
                          double(text.size());
  EXPECT_LT(per_byte, 6.5) << per_byte;
  try {
    parse_csv(text, "big.csv", {.max_file_bytes = 1000});
    FAIL();
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("exceed the limit of 1000"), std::string::npos) << e.what();
  }
}

TEST(Csv, ColumnsAreFoundByHashInWideFiles) {
  std::string header, row;
  for (int c = 0; c < 50'000; ++c) {
    if (c > 0) header += ',', row += ',';
    header += 'c';
    header += std::to_string(c);
    row += '1';
  }
  const CsvTable table = parse_csv(header + "\n" + row + "\n", "wide.csv");
  ASSERT_EQ(table.columns.size(), 50'000u);
  for (int c = 0; c < 50'000; c += 997) {
    std::string name = "c";
    name += std::to_string(c);
    EXPECT_EQ(table.column_index(name), c);
  }
  EXPECT_EQ(table.find_column("nope"), -1);
}

// A field written by csv_field reads back as itself through citadel's own parser.
TEST(Csv, WrittenFieldsReadBackAsThemselves) {
  EXPECT_EQ(csv_field("plain"), "plain");
  EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  const std::vector<std::string> fields = {"plain", "a,b", "say \"hi\"", "two\nlines", "cr\rhere", ""};
  std::string text = "name,other\n";
  for (const std::string& field : fields) text += csv_field(field) + ",x\n";
  const CsvTable table = parse_csv(text, "written.csv");
  ASSERT_EQ(table.rows, int64_t(fields.size()));
  for (size_t r = 0; r < fields.size(); ++r) EXPECT_EQ(table.cell(int64_t(r), 0), fields[r]) << r;
}

}  // namespace csv_test
