// The CSV reader: the forms real files take, and errors that say where they are wrong.
#include <gtest/gtest.h>

#include "citadel/core/error.hpp"
#include "citadel/data/csv.hpp"

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

TEST(Csv, ReadsHeaderAndValues) {
  const CsvTable table = parse_csv("a,b,label\n1,2.5,0\n-3,4e2,1\n", "t.csv");
  EXPECT_TRUE(table.had_header);
  EXPECT_EQ(table.columns, (std::vector<std::string>{"a", "b", "label"}));
  EXPECT_EQ(table.rows, 2);
  EXPECT_EQ(table.values, (std::vector<float>{1, 2.5f, 0, -3, 400, 1}));
}

TEST(Csv, DetectsAMissingHeader) {
  const CsvTable table = parse_csv("1,2\n3,4\n", "t.csv");
  EXPECT_FALSE(table.had_header);
  EXPECT_EQ(table.rows, 2);
  EXPECT_EQ(table.columns, (std::vector<std::string>{"column_1", "column_2"}));
}

TEST(Csv, AcceptsCrlfBomQuotesSpacesAndBlankLines) {
  const CsvTable table =
      parse_csv("\xEF\xBB\xBF\"first, name\",\"b\"\r\n 1 ,\"2\"\r\n\r\n3,4\r\n\n\n", "t.csv");
  EXPECT_EQ(table.columns, (std::vector<std::string>{"first, name", "b"}));
  EXPECT_EQ(table.values, (std::vector<float>{1, 2, 3, 4}));
}

TEST(Csv, TextInANumericColumnNamesLineColumnAndField) {
  const std::string message = error_of("x,y,label\n1,2,0\n3,abc,1\n");
  EXPECT_NE(message.find("input.csv:3:3"), std::string::npos) << message;
  EXPECT_NE(message.find("'y'"), std::string::npos) << message;
  EXPECT_NE(message.find("'abc'"), std::string::npos) << message;
}

TEST(Csv, RaggedRowsEmptyCellsAndNonFiniteValuesAreErrors) {
  const std::string ragged = error_of("a,b\n1,2\n3\n");
  EXPECT_NE(ragged.find("input.csv:3: expected 2 fields"), std::string::npos) << ragged;
  const std::string empty_cell = error_of("a,b\n1,\n");
  EXPECT_NE(empty_cell.find("missing value"), std::string::npos) << empty_cell;
  EXPECT_NE(error_of("a,b\n1,nan\n").find("not a finite number"), std::string::npos);
  EXPECT_NE(error_of("a,b\n1,inf\n").find("not a finite number"), std::string::npos);
  EXPECT_NE(error_of("a,b\n1,\"2\n").find("never closed"), std::string::npos);
  EXPECT_NE(error_of("a,b\n1,1e39\n").find("beyond float's range"), std::string::npos);
  EXPECT_EQ(parse_csv("a,b\n1,1e-50\n", "t.csv").values[1], 0.0f);  // underflow is zero
}

TEST(Csv, BinaryGarbageIsQuotedPrintably) {
  const std::string message = error_of(std::string("a,b\n1,\x01\xFF\x7F\n", 10));
  EXPECT_NE(message.find("\\x01\\xFF\\x7F"), std::string::npos) << message;
}

TEST(Csv, EmptyFileAndHeaderOnlyAreErrors) {
  EXPECT_NE(error_of("").find("empty"), std::string::npos);
  EXPECT_NE(error_of("\n\n").find("empty"), std::string::npos);
  EXPECT_NE(error_of("a,b\n").find("no data rows"), std::string::npos);
}

TEST(Csv, MissingFileNamesThePath) {
  try {
    read_csv("/no/such/dir/data.csv");
    FAIL();
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("/no/such/dir/data.csv"), std::string::npos);
  }
}

TEST(Csv, LabelColumnByNameIndexOrLast) {
  const CsvTable table = parse_csv("a,target,b\n1,0,2\n3,1,4\n", "t.csv");
  const Dataset by_name = to_dataset(table, "target");
  EXPECT_EQ(by_name.label_name, "target");
  EXPECT_EQ(by_name.feature_names, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(by_name.x.to_vector(), (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ(by_name.y.to_vector(), (std::vector<float>{0, 1}));
  EXPECT_EQ(to_dataset(table, "1").label_name, "target");
  EXPECT_EQ(to_dataset(table).label_name, "b");
  EXPECT_EQ(to_dataset(table, "-1").label_name, "b");
  try {
    to_dataset(table, "outcome");
    FAIL();
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("a, target, b"), std::string::npos) << e.what();
  }
}
