// Encoding CSV cells: labels of any form, one-hot columns, missing values, errors.
#include <gtest/gtest.h>

#include <cmath>

#include "citadel/core/error.hpp"
#include "citadel/data/dataset.hpp"
#include "citadel/data/scaler.hpp"

namespace dataset_test {

using namespace citadel;

namespace {

std::string error_of(const std::string& text, const DatasetOptions& options = {}) {
  try {
    to_dataset(parse_csv(text, "input.csv"), options);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Dataset, LabelColumnByNameIndexOrLast) {
  const CsvTable table = parse_csv("a,target,b\n1,0,2\n3,1,4\n", "t.csv");
  const Dataset by_name = to_dataset(table, {.label = "target"});
  EXPECT_EQ(by_name.schema.label, "target");
  EXPECT_EQ(by_name.schema.feature_names(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(by_name.x.to_vector(), (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ(by_name.y.to_vector(), (std::vector<float>{0, 1}));
  EXPECT_EQ(to_dataset(table, {.label = "1"}).schema.label, "target");
  EXPECT_EQ(to_dataset(table).schema.label, "b");
  EXPECT_EQ(to_dataset(table, {.label = "-1"}).schema.label, "b");
  const std::string unknown = error_of("a,target,b\n1,0,2\n3,1,4\n", {.label = "outcome"});
  EXPECT_NE(unknown.find("no column 'outcome'; columns are: a, target, b"), std::string::npos) << unknown;
}

TEST(Dataset, LabelsOfAnyFormBecomeClasses) {
  const Dataset text = to_dataset(parse_csv("x,answer\n1,yes\n2,no\n3,yes\n", "t.csv"));
  EXPECT_EQ(text.schema.classes, (std::vector<std::string>{"no", "yes"}));
  EXPECT_EQ(text.y.to_vector(), (std::vector<float>{1, 0, 1}));
  const Dataset numeric = to_dataset(parse_csv("x,c\n1,4\n2,2\n3,10\n", "t.csv"));
  EXPECT_EQ(numeric.schema.classes, (std::vector<std::string>{"2", "4", "10"}));  // numeric order
  EXPECT_EQ(numeric.y.to_vector(), (std::vector<float>{1, 0, 2}));
  const Dataset values = to_dataset(parse_csv("x,v\n1,0.5\n2,7\n", "t.csv"), {.label_type = LabelType::kValues});
  EXPECT_EQ(values.y.to_vector(), (std::vector<float>{0.5f, 7}));
  EXPECT_NE(error_of("x,c\n1,a\n2,a\n").find("only one class"), std::string::npos);
}

TEST(Dataset, CategoricalColumnsAreOneHotEncoded) {
  const Dataset data = to_dataset(parse_csv("colour,size,label\nred,1,0\nblue,2,1\nred,3,1\n", "t.csv"),
                                  {.categorical = {"colour"}});
  EXPECT_EQ(data.schema.feature_names(), (std::vector<std::string>{"colour=blue", "colour=red", "size"}));
  EXPECT_EQ(data.x.to_vector(), (std::vector<float>{0, 1, 1, 1, 0, 2, 0, 1, 3}));
  // New data with an unseen category gets an all-zero one-hot part.
  const Dataset later = encode(parse_csv("size,colour\n5,green\n6,blue\n", "new.csv"), data.schema, MissingValues::kError);
  EXPECT_EQ(later.x.to_vector(), (std::vector<float>{0, 0, 5, 1, 0, 6}));
  EXPECT_FALSE(later.y.defined());
}

TEST(Dataset, TextInANumericColumnNamesLineColumnAndTheFix) {
  const std::string message = error_of("x,y,label\n1,2,0\n3,abc,1\n");
  EXPECT_NE(message.find("input.csv:3:2: column 'y': expected a number, got 'abc'"), std::string::npos) << message;
  EXPECT_NE(message.find("--categorical y"), std::string::npos) << message;
}

TEST(Dataset, MissingValuesAreAnErrorByDefault) {
  const std::string message = error_of("a,b,label\n1,2,0\n?,3,1\n4,NA,0\n5,6,1\n");
  EXPECT_NE(message.find("input.csv:3: column 'a' has a missing value ('?'); 2 of 4 rows"), std::string::npos)
      << message;
  EXPECT_NE(message.find("--missing drop"), std::string::npos) << message;
}

TEST(Dataset, MissingValuesDroppedOrImputedFromTrainingRows) {
  const CsvTable table = parse_csv("a,b,label\n1,2,0\n?,3,1\n4,,0\n5,6,1\n", "t.csv");
  const Dataset dropped = to_dataset(table, {.missing = MissingValues::kDrop});
  EXPECT_EQ(dropped.x.shape(0), 2);
  EXPECT_EQ(dropped.dropped_rows, 2);
  EXPECT_EQ(dropped.lines, (std::vector<int64_t>{2, 5}));
  Dataset kept = to_dataset(table, {.missing = MissingValues::kMean});
  EXPECT_TRUE(std::isnan(kept.x.at(1, 0)));
  MeanImputer imputer;
  imputer.fit(kept.x.rows(0, 3));  // "training" rows 0..2: column a mean (1 + 4) / 2, b (2 + 3) / 2
  imputer.transform(kept.x.view());
  EXPECT_FLOAT_EQ(kept.x.at(1, 0), 2.5f);
  EXPECT_FLOAT_EQ(kept.x.at(2, 1), 2.5f);
  EXPECT_FLOAT_EQ(kept.x.at(3, 1), 6.0f);
}

TEST(Dataset, InfinityIsAlwaysAnError) {
  EXPECT_NE(error_of("a,label\ninf,0\n1,1\n", {.missing = MissingValues::kMean}).find("not a finite number"),
            std::string::npos);
  EXPECT_NE(error_of("a,label\n1e39,0\n1,1\n").find("not a finite number"), std::string::npos);
}

TEST(Dataset, MissingLabelsCannotBeImputed) {
  EXPECT_NE(error_of("a,label\n1,0\n2,\n3,1\n", {.missing = MissingValues::kMean}).find("cannot be imputed"),
            std::string::npos);
}

TEST(Dataset, CategoriesAreCappedAndCanBeLearnedFromChosenRowsOnly) {
  std::string text = "colour,label\n";
  for (int i = 0; i < 30; ++i) {
    text += 'c';
    text += std::to_string(i) + ',' + std::to_string(i % 2) + '\n';
  }
  const CsvTable table = parse_csv(text, "colours.csv");
  try {
    to_dataset(table, {.categorical = {"colour"}, .max_categories = 10});
    FAIL();
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("more than 10 distinct values"), std::string::npos) << e.what();
  }
  // Learned from rows 0..9 only: the other rows' colours encode as all-zero rows.
  std::vector<int64_t> training(10);
  for (int i = 0; i < 10; ++i) training[i] = i;
  const Dataset data = to_dataset(table, {.categorical = {"colour"}, .vocabulary_rows = training});
  ASSERT_EQ(data.schema.categories[0].size(), 10u);
  EXPECT_EQ(data.x.shape(), (Shape{30, 10}));
  float unseen = 0, seen = 0;
  for (int64_t k = 0; k < 10; ++k) seen += data.x.at(3, k), unseen += data.x.at(25, k);
  EXPECT_EQ(seen, 1.0f);
  EXPECT_EQ(unseen, 0.0f);
}

// Labels of several outputs: each read as its type says, all left out of the features; new
// rows are encoded with every label's classes, and rows may lack the labels.
TEST(Dataset, SeveralLabelColumnsAreReadEachAsItsTypeSays) {
  const std::string csv = "x,kind,amount,z\n1,cat,0.5,7\n2,dog,1.5,8\n3,cat,-2,9\n";
  const Dataset data = to_dataset(parse_csv(csv, "t.csv"),
                                  {.label = "kind", .more_labels = {{"amount", LabelType::kValues}, {"z", LabelType::kClasses}}});
  EXPECT_EQ(data.schema.feature_names(), (std::vector<std::string>{"x"}));
  EXPECT_EQ(data.x.to_vector(), (std::vector<float>{1, 2, 3}));
  EXPECT_EQ(data.y.to_vector(), (std::vector<float>{0, 1, 0}));  // cat, dog
  ASSERT_EQ(data.more_y.size(), 2u);
  EXPECT_EQ(data.more_y[0].to_vector(), (std::vector<float>{0.5f, 1.5f, -2}));
  EXPECT_EQ(data.more_y[1].to_vector(), (std::vector<float>{0, 1, 2}));  // classes 7, 8, 9
  ASSERT_EQ(data.schema.label_count(), 3u);
  EXPECT_EQ(data.schema.label_schema(1).name, "amount");
  EXPECT_EQ(data.schema.label_schema(1).type, LabelType::kValues);
  EXPECT_EQ(data.schema.label_schema(2).classes, (std::vector<std::string>{"7", "8", "9"}));
  EXPECT_THROW(data.schema.label_schema(3), ValueError);
  // New rows: the labels by name; one absent leaves its tensor empty; an unknown class names its label.
  const Dataset more = encode(parse_csv("z,x,kind\n9,5,dog\n", "n.csv"), data.schema, MissingValues::kError);
  EXPECT_EQ(more.y.to_vector(), (std::vector<float>{1}));
  EXPECT_FALSE(more.more_y[0].defined());
  EXPECT_EQ(more.more_y[1].to_vector(), (std::vector<float>{2}));
  const std::string unknown_class = [&] {
    try {
      encode(parse_csv("x,kind,amount,z\n1,cat,1,6\n", "n.csv"), data.schema, MissingValues::kError);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  }();
  EXPECT_NE(unknown_class.find("label '6' is not one of the 3 classes the model knows for 'z'"), std::string::npos)
      << unknown_class;
  // A row missing any label is dropped under --missing drop; a regression label must be a number.
  const Dataset dropped = to_dataset(parse_csv("x,kind,amount\n1,cat,\n2,dog,3\n3,cat,4\n", "t.csv"),
                                     {.label = "kind", .missing = MissingValues::kDrop,
                                      .more_labels = {{"amount", LabelType::kValues}}});
  EXPECT_EQ(dropped.x.to_vector(), (std::vector<float>{2, 3}));
  EXPECT_EQ(dropped.more_y[0].to_vector(), (std::vector<float>{3, 4}));
  const std::string text = error_of("x,kind,amount\n1,cat,lots\n2,dog,3\n",
                                    {.label = "kind", .more_labels = {{"amount", LabelType::kValues}}});
  EXPECT_NE(text.find("input.csv:2:3: label 'amount': expected a finite number, got 'lots'"), std::string::npos) << text;
  // A column named as two labels, or a label that is also categorical, is refused.
  const std::string twice = error_of(csv, {.label = "kind", .more_labels = {{"kind", LabelType::kValues}}});
  EXPECT_NE(twice.find("column 'kind' is given as a label twice"), std::string::npos) << twice;
  const std::string categorical = error_of(csv, {.label = "kind", .categorical = {"z"},
                                                 .more_labels = {{"z", LabelType::kClasses}}});
  EXPECT_NE(categorical.find("'z' is a label column"), std::string::npos) << categorical;
  const std::string nothing_left = error_of("kind,amount\ncat,1\ndog,2\n",
                                            {.label = "kind", .more_labels = {{"amount", LabelType::kValues}}});
  EXPECT_NE(nothing_left.find("at least one feature column besides its 2 label columns"), std::string::npos)
      << nothing_left;
}

}  // namespace dataset_test
