// The saved model through the library: save with schema and preprocessing, load back
// (plain, encrypted and signed), encode raw rows and predict as before saving.
#include "citadel/io/saved_model.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"
#include "citadel/io/signing.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/layers/merge.hpp"
#include "scratch_folder.hpp"

namespace saved_model_test {

using namespace citadel;
namespace fs = std::filesystem;

namespace {

fs::path scratch(const std::string& name) { return citadel::testing::scratch_folder() / name; }

}  // namespace

// As Keras 3's save: a path without the .safetensors extension is refused, nothing written
// (`citadel train --save model` included: the tool saves through this).
TEST(SavedModel, SavingWithoutTheExtensionIsRefused) {
  const CsvTable table = parse_csv("a,label\n1,0\n2,1\n", "tiny.csv");
  Dataset data = to_dataset(table);
  Preprocessor preprocessor({.scaling = "standard"});
  preprocessor.fit(data.x);
  Sequential model;
  model.add(Dense(1, {.input_dim = 1, .activation = "sigmoid"}));
  model.build(Shape{1});
  const fs::path path = scratch("model");
  const Metadata records = saved_model_records(data.schema, false, "binary_crossentropy", preprocessor, "tiny.csv");
  EXPECT_THROW(save_saved_model(model, records, path.string()), ValueError);
  EXPECT_FALSE(fs::exists(path));
}

TEST(SavedModel, RoundTripWithSchemaProtectionAndPredictions) {
  const CsvTable table = parse_csv("colour,size,label\nred,1,yes\nblue,2,no\nred,3,no\ngreen,4,yes\nblue,5,yes\n",
                                   "fruit.csv");
  Dataset data = to_dataset(table, {.categorical = {"colour"}});
  Preprocessor preprocessor({.scaling = "standard"});
  preprocessor.fit(data.x);
  preprocessor.apply(data.x);
  random::set_seed(3);
  Sequential model;
  model.add(Dense(4, {.input_dim = data.x.shape(1), .activation = "relu"}));
  model.add(Dense(1, {.activation = "sigmoid"}));
  model.compile({.loss = "binary_crossentropy", .optimizer = "adam"});
  model.fit(data.x, data.y, {.epochs = 3, .verbose = 0});
  const Tensor before = model.predict(data.x);

  const fs::path pub = scratch("k.pub"), key = scratch("k.key"), enc = scratch("enc.key"), path = scratch("m.safetensors");
  for (const auto& p : {pub, key, enc}) fs::remove(p);
  generate_signing_keys(pub.string(), key.string());
  generate_encryption_key(enc.string());
  const Metadata records = saved_model_records(data.schema, false, "binary_crossentropy", preprocessor, "fruit.csv");
  ModelProtection protection;
  protection.secret_key = key.string();
  protection.key.key_file = enc.string();
  save_saved_model(model, records, path.string(), protection);

  LoadOptions options;
  options.access.public_key = pub.string();
  options.access.key.key_file = enc.string();
  const SavedModel saved = load_saved_model(path.string(), options);
  EXPECT_EQ(saved.schema.input_columns, data.schema.input_columns);
  EXPECT_EQ(saved.schema.categories, data.schema.categories);
  EXPECT_EQ(saved.schema.classes, data.schema.classes);
  EXPECT_EQ(saved.loss, "binary_crossentropy");
  const RowPredictions predictions = saved.predict_rows(table);
  ASSERT_EQ(predictions.labels.size(), 5u);
  for (int64_t r = 0; r < 5; ++r) EXPECT_FLOAT_EQ(predictions.probabilities.at(r, 1), before[r]);
  // Without the key, or with another public key, nothing loads.
  LoadOptions without_key;
  without_key.access.public_key = pub.string();
  EXPECT_THROW(load_saved_model(path.string(), without_key), SecurityError);
  const fs::path other_pub = scratch("o.pub"), other_key = scratch("o.key");
  fs::remove(other_pub), fs::remove(other_key);
  generate_signing_keys(other_pub.string(), other_key.string());
  options.access.public_key = other_pub.string();
  EXPECT_THROW(load_saved_model(path.string(), options), SecurityError);
}

TEST(SavedModel, SchemaRecordRoundTripsAndRefusesMalformedRecords) {
  SchemaRecord record;
  record.schema.input_columns = {"colour", "size, \"quoted\""};
  record.schema.categories = {{"blue", "red"}, {}};
  record.schema.label = "label";
  record.schema.classes = {"no", "yes"};
  record.images = false;
  record.loss = "binary_crossentropy";
  const SchemaRecord back = restore_schema(describe_schema(record), "m.safetensors");
  EXPECT_EQ(back.schema.input_columns, record.schema.input_columns);
  EXPECT_EQ(back.schema.categories, record.schema.categories);
  EXPECT_EQ(back.schema.label, "label");
  EXPECT_EQ(back.schema.label_type, LabelType::kClasses);
  EXPECT_EQ(back.schema.classes, record.schema.classes);
  EXPECT_EQ(back.loss, "binary_crossentropy");
  record.schema.label_type = LabelType::kValues;
  EXPECT_EQ(restore_schema(describe_schema(record), "m").schema.label_type, LabelType::kValues);
  for (const char* bad : {"{", "[]", R"({"input_columns":[1]})",
                          R"({"input_columns":[],"categories":[],"label":"y","label_type":"maybe","classes":[],"images":false,"loss":"mse"})"})
    EXPECT_THROW(restore_schema(bad, "m.safetensors"), IoError) << bad;
}

// A model of several inputs is saved with one schema: each Input must select a column group
// of it, of the group's width. A file whose Inputs do not is refused naming the file and the
// Input, before any row goes through it; one that does predicts through its groups.
TEST(SavedModel, SeveralInputsAreCheckedAgainstTheirColumnGroups) {
  const CsvTable table = parse_csv("colour,size,label\nred,1,yes\nblue,2,no\nred,3,no\ngreen,4,yes\nblue,5,yes\n",
                                   "fruit.csv");
  const Dataset data = to_dataset(table, {.categorical = {"colour"}});  // colour=blue|green|red, size
  Preprocessor preprocessor({.scaling = "none"});
  preprocessor.fit(data.x);
  const Metadata records = saved_model_records(data.schema, false, "binary_crossentropy", preprocessor, "fruit.csv");
  auto save_two_inputs = [&](const std::string& first, int64_t first_width, const std::string& file) {
    const SymbolicTensor a = Input({first_width}, {.name = first}), b = Input({1}, {.name = "numeric"});
    Model model({a, b}, {Dense(1, {.activation = "sigmoid"})(Concatenate()({a, b}))});
    model.compile({.loss = "binary_crossentropy", .optimizer = "adam"});
    const fs::path path = scratch(file);
    save_saved_model(model, records, path.string());
    return path;
  };
  auto error_of = [](const fs::path& path) {
    try {
      load_saved_model(path.string());
    } catch (const IoError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  const std::string unknown = error_of(save_two_inputs("color", 3, "unknown.safetensors"));
  EXPECT_NE(unknown.find("unknown.safetensors: the Input 'color' names no column group"), std::string::npos) << unknown;
  const std::string narrow = error_of(save_two_inputs("colour", 2, "narrow.safetensors"));
  EXPECT_NE(narrow.find("the Input 'colour' has shape (2,) but its columns make 3 features"), std::string::npos)
      << narrow;

  const fs::path good = save_two_inputs("colour", 3, "good.safetensors");
  const SavedModel saved = load_saved_model(good.string());
  const RowPredictions predictions = saved.predict_rows(table);
  // The same weights on the rows laid out as one input: Concatenate(colour, size) is the
  // encoded row itself, so a one-input Dense with those weights must agree.
  Sequential flat;
  flat.add(Dense(1, {.input_dim = 4, .activation = "sigmoid"}));
  flat.build(Shape{4});
  flat.set_weights(saved.model.get_weights());
  const Tensor expected = flat.predict(data.x);
  ASSERT_EQ(predictions.probabilities.shape(0), 5);
  for (int64_t r = 0; r < 5; ++r) EXPECT_FLOAT_EQ(predictions.probabilities[r * 2 + 1], expected[r]) << r;
  for (const char* name : {"unknown.safetensors", "narrow.safetensors", "good.safetensors"}) fs::remove(scratch(name));
}

}  // namespace saved_model_test
