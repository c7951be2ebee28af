// The corpus of bad inputs under tests/data/bad/: each file gets an error that names what
// is wrong and where, a non-zero exit code, and no crash.
#include <gtest/gtest.h>

#include <algorithm>

#include "cli_runner.hpp"

namespace bad_input_test {

using namespace citadel::testkit;

namespace {

// Runs `citadel train` on a bad file and checks the one-line error.
void expect_error(const std::string& arguments, const std::string& expected) {
  const CliResult result = run_cli("train --verbose 0 --epochs 1 " + arguments);
  EXPECT_EQ(result.exit_code, 1) << arguments << ": " << result.err;  // 1: bad input, not a crash
  EXPECT_EQ(result.err.rfind("error: ", 0), 0u) << result.err;
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
  EXPECT_NE(result.err.find(expected), std::string::npos) << arguments << " gave: " << result.err;
}

std::string bad(const char* name) { return "--data " + std::string(CITADEL_TEST_DATA) + "/bad/" + name; }

}  // namespace

TEST(BadInput, EmptyFile) { expect_error(bad("empty.csv"), "empty.csv: the file is empty"); }

TEST(BadInput, HeaderOnly) { expect_error(bad("header_only.csv") + " --header", "header_only.csv: no data rows"); }

TEST(BadInput, RaggedRows) { expect_error(bad("ragged.csv"), "ragged.csv:3: expected 3 fields (as in the first row), got 2"); }

TEST(BadInput, TextInANumericColumn) {
  expect_error(bad("text_in_numeric.csv"), "text_in_numeric.csv:3:2: column 'b': expected a number, got 'four'");
}

TEST(BadInput, NaNIsAMissingValue) {
  expect_error(bad("nan.csv"), "nan.csv:3: column 'b' has a missing value ('NaN'); 1 of 3 rows");
}

TEST(BadInput, Infinity) { expect_error(bad("inf.csv"), "inf.csv:3:2: column 'b': inf is not a finite number"); }

TEST(BadInput, UnterminatedQuote) {
  expect_error(bad("unterminated_quote.csv"), "unterminated_quote.csv:3:3: a quoted field is never closed");
}

TEST(BadInput, BinaryGarbage) { expect_error(bad("binary_garbage.csv"), "binary_garbage.csv"); }

TEST(BadInput, TenMegabyteSingleField) {
  const auto path = write_scratch_file("huge_field.csv", "a,b,label\n3,4,1\n1," + std::string(10 << 20, '7') + "x,0\n");
  expect_error("--data " + path.string(), "huge_field.csv:3:2: column 'b': expected a number, got '7777");
}

TEST(BadInput, LabelColumnThatDoesNotExist) {
  expect_error(bad("good.csv") + " --label outcome", "good.csv: no column 'outcome'; columns are: a, b, label");
}

TEST(BadInput, MissingFile) { expect_error("--data /no/such/file.csv", "/no/such/file.csv: cannot open"); }

}  // namespace bad_input_test
