// A small served model that reads raw text (what `citadel train --text` saves): a column
// "message" tokenized by a vocabulary adapted on four rows, Embedding → mean → softmax over
// two classes. The serving tests and the infer-request fuzz target predict with it.
#pragma once

#include <memory>
#include <string>

#include "citadel/data/csv.hpp"
#include "citadel/data/dataset.hpp"
#include "citadel/data/text_vectorization.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/layers/embedding.hpp"
#include "citadel/layers/global_pooling1d.hpp"
#include "citadel/serving/inference_protocol.hpp"

inline citadel::serving::ServedModel text_served_model(const std::string& name, const std::string& policy) {
  using namespace citadel;
  const CsvTable table =
      parse_csv("message,label\nfree lunch now,spam\nteam notes,ham\nfree free offer,spam\nlunch tomorrow,ham\n",
                "seed.csv");
  Dataset data = to_dataset(table, {.text_column = "message"});
  std::vector<std::string> rows;
  for (int64_t r = 0; r < table.rows; ++r) rows.emplace_back(table.cell(r, table.column_index("message")));
  auto text = std::make_shared<TextVectorization>(TextVectorizationOptions{.output_sequence_length = 6});
  text->adapt(rows);
  data = with_text_ids(table, std::move(data), text);
  Sequential model;
  model.add(Embedding(text->vocabulary_size(), 4));
  model.add(GlobalAveragePooling1D());
  model.add(Dense(2, {.activation = "softmax"}));
  model.build(data.x.shape().without_batch());
  SavedModel saved;
  saved.model = std::move(model);
  saved.schema = data.schema;
  saved.preprocessor = Preprocessor({.scaling = "none"});
  saved.preprocessor.fit(data.x);
  return {name, name, std::move(saved), serving::OutputPolicy::parse(policy, "test")};
}
