// Runs citadel's TextVectorization for text_vectorization_keras_check.py: reads
// {"options": {...}, "adapt": [rows], "inputs": [rows]} on stdin and prints
// {"vocabulary": [...], "outputs": [[ids]]} (ids as integers).
#include <iostream>
#include <nlohmann/json.hpp>

#include "citadel/core/error.hpp"
#include "citadel/data/text_vectorization.hpp"

int main() {
  try {
    const nlohmann::json task = nlohmann::json::parse(std::cin);
    const nlohmann::json& o = task.at("options");
    citadel::TextVectorizationOptions options;
    if (!o.at("max_tokens").is_null()) options.max_tokens = o.at("max_tokens").get<int64_t>();
    if (!o.at("output_sequence_length").is_null())
      options.output_sequence_length = o.at("output_sequence_length").get<int64_t>();
    options.standardize = o.at("standardize").get<std::string>();
    citadel::TextVectorization vectorizer(options);
    vectorizer.adapt(task.at("adapt").get<std::vector<std::string>>());
    const citadel::Tensor ids = vectorizer.transform(task.at("inputs").get<std::vector<std::string>>());
    nlohmann::json outputs = nlohmann::json::array();
    for (int64_t r = 0; r < ids.shape(0); ++r) {
      nlohmann::json row = nlohmann::json::array();
      for (int64_t t = 0; t < ids.shape(1); ++t) row.push_back(static_cast<int64_t>(ids.at(r, t)));
      outputs.push_back(row);
    }
    std::cout << nlohmann::json{{"vocabulary", vectorizer.vocabulary()}, {"outputs", outputs}}.dump() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
