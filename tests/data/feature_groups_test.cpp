// Feature groups: the encoded features each Input of a model of several inputs receives,
// checked against columns laid out by hand.
#include "citadel/data/feature_groups.hpp"

#include <gtest/gtest.h>

#include "citadel/core/error.hpp"

namespace feature_groups_test {

using namespace citadel;

namespace {

// weight (numeric), colour (3 categories), size (2 categories), sweetness (numeric):
// encoded as weight | colour=a colour=b colour=c | size=l size=s | sweetness.
DataSchema fruit_schema() {
  DataSchema schema;
  schema.input_columns = {"weight", "colour", "size", "sweetness"};
  schema.categories = {{}, {"a", "b", "c"}, {"l", "s"}, {}};
  schema.label = "fruit";
  schema.classes = {"apple", "pear"};
  return schema;
}

std::string error_of(const std::vector<std::string>& names) {
  try {
    feature_groups(fruit_schema(), names);
  } catch (const ValueError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(FeatureGroups, NamesSelectColumnsAndNumericTakesTheNumberColumns) {
  const auto groups = feature_groups(fruit_schema(), {"size", "numeric", "colour", "sweetness"});
  ASSERT_EQ(groups.size(), 4u);
  EXPECT_EQ(groups[0].features, (std::vector<int64_t>{4, 5}));
  EXPECT_EQ(groups[1].features, (std::vector<int64_t>{0, 6}));
  EXPECT_EQ(groups[1].columns, (std::vector<std::string>{"weight", "sweetness"}));
  EXPECT_EQ(groups[2].features, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(groups[3].features, (std::vector<int64_t>{6}));
  EXPECT_TRUE(unused_columns(fruit_schema(), groups).empty());
  EXPECT_EQ(unused_columns(fruit_schema(), feature_groups(fruit_schema(), {"colour", "weight"})),
            (std::vector<std::string>{"size", "sweetness"}));
}

TEST(FeatureGroups, AColumnNamedNumericWinsOverTheGroup) {
  DataSchema schema = fruit_schema();
  schema.input_columns[3] = "numeric";
  EXPECT_EQ(feature_groups(schema, {"numeric"})[0].features, (std::vector<int64_t>{6}));
}

TEST(FeatureGroups, SplitCopiesEachGroupsFeaturesInItsOrder) {
  Tensor x(Shape{2, 7});
  for (int64_t i = 0; i < 14; ++i) x[i] = float(i);
  const auto parts = split_features(x, feature_groups(fruit_schema(), {"numeric", "size"}));
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].shape(), Shape({2, 2}));
  EXPECT_EQ(parts[0].to_vector(), (std::vector<float>{0, 6, 7, 13}));
  EXPECT_EQ(parts[1].to_vector(), (std::vector<float>{4, 5, 11, 12}));
  EXPECT_THROW(split_features(Tensor(Shape{2, 3}), feature_groups(fruit_schema(), {"size"})), ShapeError);
}

TEST(FeatureGroups, AnInputThatNamesNoGroupIsNamedWithTheGroupsThereAre) {
  const std::string error = error_of({"colour", "color"});
  EXPECT_NE(error.find("the Input 'color' names no column group"), std::string::npos) << error;
  EXPECT_NE(error.find("'numeric' (the numeric columns), 'weight', 'colour', 'size', 'sweetness'"), std::string::npos)
      << error;
  DataSchema categorical = fruit_schema();
  categorical.input_columns = {"colour"};
  categorical.categories = {{"a", "b"}};
  EXPECT_THROW(feature_groups(categorical, {"numeric"}), ValueError);
}

}  // namespace feature_groups_test
