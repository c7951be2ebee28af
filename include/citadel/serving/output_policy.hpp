// What a served model may reveal, set by the operator per model; no request can widen it.
//   full      probabilities and label
//   topk:K    the K largest probabilities of each row (the others answered as 0) and label
//   round:D   probabilities rounded to D decimals, and label
//   label     the class label only (regression: not allowed)
// Coarser answers make model extraction and membership inference need more queries.
#pragma once

#include <string>

namespace citadel::serving {

struct OutputPolicy {
  enum class Kind { kFull, kTopK, kRound, kLabel };
  Kind kind = Kind::kFull;
  int parameter = 0;  // K or D

  // "full", "topk:3", "round:2", "label"; ValueError naming `where` otherwise.
  static OutputPolicy parse(const std::string& text, const std::string& where);
  std::string text() const;
  bool reveals_probabilities() const { return kind != Kind::kLabel; }
  // Coarsens one row of probabilities (or a regression value) in place.
  void apply(float* row, int64_t count) const;
};

}  // namespace citadel::serving
