// A saved text model: the schema's text column and its vectorizer's record round trip, raw
// text predicts as the ids did, and hostile text_vectorization records are refused.
#include <gtest/gtest.h>

#include <memory>

#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"
#include "citadel/data/text_vectorization.hpp"
#include "citadel/io/saved_model.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/layers/embedding.hpp"
#include "citadel/layers/global_pooling1d.hpp"

namespace saved_text_model_test {

using namespace citadel;

namespace {

// Four training rows; a vocabulary of "", "[UNK]", good (3), day, bad (2 each: descending
// bytes), news (1): good=2, day=3, bad=4, news=5.
const char* kTrain = "id,text,label\n1,good day,yes\n2,bad day,no\n3,good good,yes\n4,bad news,no\n";
constexpr int64_t kLength = 4;

struct TextModel {
  Sequential model;
  Metadata records;
  Dataset data;
};

TextModel text_model(int64_t embedding_vocabulary = 6) {
  const CsvTable table = parse_csv(kTrain, "train.csv");
  Dataset data = to_dataset(table, {.label = "label", .text_column = "text"});
  EXPECT_EQ(data.schema.input_columns, std::vector<std::string>{"id"});
  auto text = std::make_shared<TextVectorization>(TextVectorizationOptions{.output_sequence_length = kLength});
  std::vector<std::string> rows;
  for (int64_t r = 0; r < table.rows; ++r) rows.emplace_back(table.cell(r, 1));
  text->adapt(rows);
  data = with_text_ids(table, std::move(data), text);
  Preprocessor preprocessor({.scaling = "none"});
  preprocessor.fit(data.x);
  random::set_seed(5);
  TextModel made;
  made.model.add(Embedding(embedding_vocabulary, 3, {.input_shape = {1 + kLength}}));
  made.model.add(GlobalAveragePooling1D());
  made.model.add(Dense(1, {.activation = "sigmoid"}));
  made.model.build(Shape{1 + kLength});
  made.records = saved_model_records(data.schema, false, "binary_crossentropy", preprocessor, "train.csv");
  made.data = std::move(data);
  return made;
}

SavedModel reload(TextModel& made) {
  return saved_model_from_bytes(model_file_bytes(made.model, made.records), "text.safetensors");
}

// The load is refused with an IoError whose message holds `expected`.
void expect_refused(TextModel& made, const std::string& expected) {
  try {
    reload(made);
    ADD_FAILURE() << "loaded; expected an error with: " << expected;
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
  }
}

}  // namespace

TEST(SavedTextModel, IdsFollowTheNumericFeatures) {
  const TextModel made = text_model();
  const std::vector<float> expected = {1, 2, 3, 0, 0, 2, 4, 3, 0, 0, 3, 2, 2, 0, 0, 4, 4, 5, 0, 0};
  ASSERT_EQ(made.data.x.shape(), (Shape{4, 1 + kLength}));
  for (int64_t i = 0; i < 20; ++i) EXPECT_EQ(made.data.x[i], expected[size_t(i)]) << i;
  EXPECT_EQ(made.data.schema.feature_names().back(), "text[3]");
}

TEST(SavedTextModel, RawTextPredictsAsItsIds) {
  TextModel made = text_model();
  const SavedModel saved = reload(made);
  ASSERT_TRUE(saved.schema.text);
  EXPECT_EQ(saved.schema.text_column, "text");
  EXPECT_EQ(saved.schema.text->vocabulary(), made.data.schema.text->vocabulary());
  // Fresh rows, in another column order, with a word never seen ("[UNK]", id 1).
  const CsvTable fresh = parse_csv("text,id\n\"Good, unknown day!\",1\nnews,2\n", "fresh.csv");
  const Dataset encoded = saved.encode(fresh);
  const std::vector<float> ids = {1, 2, 1, 3, 0, 2, 5, 0, 0, 0};
  for (int64_t i = 0; i < 10; ++i) EXPECT_EQ(encoded.x[i], ids[size_t(i)]) << i;
  const Tensor direct = made.model.predict(encoded.x);
  const RowPredictions predictions = saved.predict_rows(fresh);
  for (int64_t r = 0; r < 2; ++r) EXPECT_FLOAT_EQ(predictions.probabilities.at(r, 1), direct[r]);
  // Rows without the text column name it.
  try {
    saved.predict_rows(parse_csv("id\n1\n", "no_text.csv"));
    ADD_FAILURE() << "predicted without the text column";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("no_text.csv: has no column 'text'"), std::string::npos) << e.what();
  }
}

TEST(SavedTextModel, HostileRecordsAreRefused) {
  {
    TextModel made = text_model();
    made.records.erase(kTextVectorizationRecord);
    expect_refused(made, "has no 'text_vectorization' record");
  }
  {
    TextModel made = text_model();
    made.records[kTextVectorizationRecord] = "{\"vocabulary\": [";
    expect_refused(made, "the 'text_vectorization' record");
  }
  {
    TextModel made = text_model();
    made.records[kTextVectorizationRecord] = "[1, 2, 3]";
    expect_refused(made, "the 'text_vectorization' record");
  }
  {  // a sequence length over the limit
    TextModel made = text_model();
    auto record = nlohmann::json::parse(made.records[kTextVectorizationRecord]);
    record["output_sequence_length"] = int64_t{1} << 40;
    made.records[kTextVectorizationRecord] = record.dump();
    expect_refused(made, "output_sequence_length");
  }
  {  // a length the model's input does not have
    TextModel made = text_model();
    auto record = nlohmann::json::parse(made.records[kTextVectorizationRecord]);
    record["output_sequence_length"] = kLength + 1;
    made.records[kTextVectorizationRecord] = record.dump();
    expect_refused(made, "text column 'text' 5 token ids but the model takes 5");
  }
  {  // no fixed length
    TextModel made = text_model();
    auto record = nlohmann::json::parse(made.records[kTextVectorizationRecord]);
    record["output_sequence_length"] = nullptr;
    made.records[kTextVectorizationRecord] = record.dump();
    expect_refused(made, "no output_sequence_length");
  }
  {  // ids the Embedding does not have
    TextModel made = text_model(5);
    expect_refused(made, "vocabulary has 6 entries but the model's Embedding takes ids below 5");
  }
  {  // a text column that is also a numeric one
    TextModel made = text_model();
    auto schema = nlohmann::json::parse(made.records["schema"]);
    schema["text_column"] = "id";
    made.records["schema"] = schema.dump();
    expect_refused(made, "text_column 'id' is also an input or label column");
  }
  {  // the schema without its text column: the ids are not features of it
    TextModel made = text_model();
    auto schema = nlohmann::json::parse(made.records["schema"]);
    schema.erase("text_column");
    made.records["schema"] = schema.dump();
    expect_refused(made, "the schema's columns make 1 features but the model takes 5");
  }
}

}  // namespace saved_text_model_test
