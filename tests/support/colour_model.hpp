// The small served model the serving tests and fuzz targets predict with: two numeric
// columns and a categorical one, softmax over two classes, the given output policy.
#pragma once

#include <string>

#include "citadel/data/csv.hpp"
#include "citadel/data/dataset.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/serving/inference_protocol.hpp"

inline citadel::serving::ServedModel colour_model(const std::string& name, const std::string& policy,
                                                  bool impute_missing = false) {
  using namespace citadel;
  const CsvTable table = parse_csv("a,b,colour,label\n1,2,red,yes\n3,4,blue,no\n5,6,red,no\n", "seed.csv");
  const Dataset data = to_dataset(table, {.categorical = {"colour"}});
  SavedModel saved;
  Sequential model;
  model.add(Dense(2, {.input_dim = data.x.shape(1), .activation = "softmax"}));
  model.build(data.x.shape().without_batch());
  saved.model = std::move(model);
  saved.schema = data.schema;
  saved.preprocessor = Preprocessor({.impute_missing = impute_missing, .scaling = "none"});
  saved.preprocessor.fit(data.x);
  return {name, name, std::move(saved), serving::OutputPolicy::parse(policy, "test")};
}
