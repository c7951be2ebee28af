// Declared schemas: parsing and its errors, the encoding they fix (categories, classes,
// label range), the preprocessing taken from them (clamp, fill, scaling) with its record,
// and the split by each row's own hash.
#include "citadel/data/declared_schema.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "citadel/core/error.hpp"
#include "citadel/data/dataset.hpp"
#include "citadel/data/preprocessor.hpp"
#include "citadel/data/split.hpp"

namespace declared_schema_test {

using namespace citadel;

namespace {

const char* kSchema = R"({
  "label": {"name": "y", "classes": ["no", "yes"]},
  "columns": {"age": {"min": 0, "max": 100, "mean": 40, "std": 20, "fill": 35},
              "colour": {"categories": ["red", "green"]}}})";

}  // namespace

TEST(DeclaredSchema, ParsesColumnsCategoriesAndClasses) {
  const DeclaredSchema schema = parse_declared_schema(kSchema, "s.json");
  ASSERT_TRUE(schema.label.has_value());
  EXPECT_EQ(*schema.label, "y");
  EXPECT_EQ(schema.classes, (std::vector<std::string>{"no", "yes"}));
  const DeclaredColumn* age = schema.column("age");
  ASSERT_NE(age, nullptr);
  EXPECT_EQ(*age->min, 0);
  EXPECT_EQ(*age->max, 100);
  EXPECT_EQ(*age->fill, 35);
  EXPECT_TRUE(schema.column("colour")->categorical());
  EXPECT_EQ(schema.column("height"), nullptr);
  // Integer classes are their text.
  EXPECT_EQ(parse_declared_schema(R"({"label": {"classes": [0, 1]}})", "s").classes,
            (std::vector<std::string>{"0", "1"}));
}

TEST(DeclaredSchema, MalformedFilesNameTheField) {
  struct Case {
    const char* json;
    const char* expected;
  };
  for (const Case& c : std::vector<Case>{
           {"[1, 2]", "must be a JSON object"},
           {"{\"columns\": {\"a\": {\"min\": 3, \"max\": 1}}}", "columns.a: min 3 must be below max 1"},
           {"{\"columns\": {\"a\": {\"min\": 3}}}", "only one of min and max"},
           {"{\"columns\": {\"a\": {\"maximum\": 3}}}", "unknown field 'maximum'"},
           {"{\"columns\": {\"a\": {\"std\": 0}}}", "std must be positive"},
           {"{\"columns\": {\"a\": {\"min\": 0, \"max\": 1, \"fill\": 2}}}", "fill 2 lies outside"},
           {"{\"columns\": {\"a\": {\"categories\": [\"x\", \"x\"]}}}", "lists 'x' twice"},
           {"{\"columns\": {\"a\": {\"categories\": [\"x\"], \"mean\": 1}}}", "one or the other"},
           {"{\"label\": {\"classes\": [\"x\"]}}", "at least two classes"},
           {"{\"label\": {\"classes\": [\"a\", \"b\"], \"min\": 0, \"max\": 1}}", "classes and a range"},
           {"{\"columns\": {\"a\": {\"mean\": \"1\"}}}", "mean must be a finite number"},
           {"{\"columns\": ", "not valid JSON"},
           {"[[[[[[[[[[[[1]]]]]]]]]]]]", "nested too deep"},
       }) {
    try {
      parse_declared_schema(c.json, "s.json");
      ADD_FAILURE() << c.json << " was accepted";
    } catch (const IoError& e) {
      EXPECT_NE(std::string(e.what()).find(c.expected), std::string::npos) << c.json << ": " << e.what();
      EXPECT_NE(std::string(e.what()).find("s.json"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(read_declared_schema("/nonexistent/schema.json"), IoError);
}

// The encoding comes from the declaration: one-hot order as declared, a value it does not
// list encodes as zeros (counted), classes in the declared order (a row with another
// label is an error), and the label column found by the declared name.
TEST(DeclaredSchema, FixesTheEncodingWhateverTheRows) {
  const DeclaredSchema declared = parse_declared_schema(kSchema, "s.json");
  const CsvTable table = parse_csv("y,age,colour\nyes,30,green\nno,150,blue\nyes,?,red\n", "t.csv");
  const Dataset data = to_dataset(table, {.missing = MissingValues::kMean, .declared = &declared});
  EXPECT_EQ(data.schema.label, "y");
  EXPECT_EQ(data.schema.classes, (std::vector<std::string>{"no", "yes"}));
  EXPECT_EQ(data.schema.categories[1], (std::vector<std::string>{"red", "green"}));
  ASSERT_EQ(data.x.shape(1), 3);
  EXPECT_EQ(data.x.at(0, 2), 1.0f);  // green is the second declared category
  EXPECT_EQ(data.x.at(1, 1) + data.x.at(1, 2), 0.0f);  // blue: not declared
  EXPECT_EQ(data.unseen_categories, (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(data.missing_cells, (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(data.y[0], 1.0f);
  EXPECT_THROW(to_dataset(parse_csv("y,age,colour\nmaybe,3,red\nno,4,red\n", "t.csv"), {.declared = &declared}),
               ValueError);
  // A regression label is clamped into its declared range.
  const DeclaredSchema range = parse_declared_schema(R"({"label": {"min": -1, "max": 1}})", "r.json");
  const Dataset values = to_dataset(parse_csv("x,y\n1,0.5\n2,3e38\n3,-7\n", "v.csv"),
                                    {.label_type = LabelType::kValues, .declared = &range});
  EXPECT_EQ(values.y[0], 0.5f);
  EXPECT_EQ(values.y[1], 1.0f);
  EXPECT_EQ(values.y[2], -1.0f);
  EXPECT_EQ(values.clamped_labels, 2);
}

// The preprocessing from a declaration, worked out by hand: clamp to [0, 100], fill 35,
// then (x − 40) / 20; one-hot features untouched; the record restores it exactly.
TEST(DeclaredSchema, PreprocessingComesFromTheDeclarationAlone) {
  const DeclaredSchema declared = parse_declared_schema(kSchema, "s.json");
  const CsvTable table = parse_csv("y,age,colour\nyes,30,green\nno,150,blue\nyes,?,red\nno,-5,red\n", "t.csv");
  const Dataset data = to_dataset(table, {.missing = MissingValues::kMean, .declared = &declared});
  Preprocessor preprocessor({.impute_missing = true, .scaling = "standard"});
  preprocessor.fit_declared(declared, data.schema);
  EXPECT_TRUE(preprocessor.declared());
  Tensor x = data.x;
  preprocessor.apply(x);
  EXPECT_FLOAT_EQ(x.at(0, 0), (30 - 40) / 20.0f);
  EXPECT_FLOAT_EQ(x.at(1, 0), (100 - 40) / 20.0f);  // clamped
  EXPECT_FLOAT_EQ(x.at(2, 0), (35 - 40) / 20.0f);   // filled
  EXPECT_FLOAT_EQ(x.at(3, 0), (0 - 40) / 20.0f);    // clamped
  EXPECT_EQ(x.at(0, 2), 1.0f);
  Tensor again = data.x;
  Preprocessor::restore(preprocessor.describe(), false).apply(again);
  for (int64_t i = 0; i < x.numel(); ++i) EXPECT_EQ(x[i], again[i]);
  EXPECT_NE(preprocessor.describe().find("\"statistics_from\":\"declared schema\""), std::string::npos);
  // Min-max from the declared range.
  Preprocessor minmax({.scaling = "minmax"});
  minmax.fit_declared(declared, data.schema);
  Tensor scaled = data.x;
  scaled.at(2, 0) = 50;
  minmax.apply(scaled);
  EXPECT_FLOAT_EQ(scaled.at(0, 0), 0.3f);
  EXPECT_FLOAT_EQ(scaled.at(2, 0), 0.5f);
  EXPECT_FLOAT_EQ(scaled.at(1, 0), 1.0f);
  // A statistic the options need but the file lacks names the column and the file.
  const DeclaredSchema bounds_only = parse_declared_schema(R"({"columns": {"age": {"min": 0, "max": 1}}})", "b.json");
  Preprocessor standard({.scaling = "standard"});
  try {
    standard.fit_declared(bounds_only, data.schema);
    ADD_FAILURE() << "standard scaling without a declared mean was accepted";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("b.json: column 'age' declares no mean"), std::string::npos) << e.what();
  }
}

// Each row's side depends on that row alone: removing or changing row k leaves every other
// row on its side; the held-out share is near the fraction.
TEST(SplitByRowHash, NoRowMovesWhenAnotherChanges) {
  std::vector<uint64_t> hashes;
  for (int i = 0; i < 2000; ++i) hashes.push_back(row_hash("row " + std::to_string(i), 11));
  const SplitIndices all = split_by_row_hash(hashes, 0.2);
  EXPECT_EQ(all.train.size() + all.test.size(), 2000u);
  EXPECT_NEAR(double(all.test.size()) / 2000, 0.2, 0.03);
  std::vector<bool> held_out(2000, false);
  for (const int64_t i : all.test) held_out[size_t(i)] = true;
  auto without = hashes;
  without.erase(without.begin() + 700);
  const SplitIndices after = split_by_row_hash(without, 0.2);
  for (const int64_t i : after.test) EXPECT_TRUE(held_out[size_t(i < 700 ? i : i + 1)]) << i;
  // Another seed gives another split; the same seed the same.
  EXPECT_EQ(row_hash("abc", 1), row_hash("abc", 1));
  EXPECT_NE(row_hash("abc", 1), row_hash("abc", 2));
  EXPECT_NE(row_hash("", 1), row_hash(std::string(1, '\0'), 1));
  EXPECT_THROW(split_by_row_hash(hashes, 1.0), ValueError);
}

}  // namespace declared_schema_test
