// Tf-idf features of raw strings, the bag-of-words baseline beside text networks: tokens by
// TextVectorization's standardize and split, a vocabulary and idf learned from training rows,
// each row's term counts weighted by idf and scaled to unit L2 norm (scikit-learn's
// TfidfVectorizer defaults; docs/API.md, "Text").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "citadel/core/tensor.hpp"
#include "citadel/data/text_vectorization.hpp"

namespace citadel {

struct TfidfOptions {
  // Columns: the training rows' most frequent tokens (by total count, ties as
  // TextVectorization's vocabulary), at most this many (scikit-learn's max_features).
  int64_t max_features = 20'000;
  std::string standardize = "lower_and_strip_punctuation";  // as TextVectorizationOptions
  // tf = 1 + ln(count) in place of the count (scikit-learn's sublinear_tf; default off).
  bool sublinear_tf = false;
  // idf = ln((1 + n) / (1 + df)) + 1, as if one more row held every token (scikit-learn's
  // default); false: ln(n / df) + 1. n: training rows, df: training rows holding the token.
  bool smooth_idf = true;
  bool l2_normalize = true;  // each row scaled to unit L2 norm (a row of no known token stays 0)
};

class TfidfVectorizer {
 public:
  explicit TfidfVectorizer(const TfidfOptions& options = {});

  // Learns the columns and their idf from `rows` (training rows only). ValueError when no row
  // holds a token or a row is not valid UTF-8 (TextVectorization::adapt's checks).
  void fit(const std::vector<std::string>& rows);
  // (rows, feature_count()) float32; tokens that are not columns are ignored. Needs fit().
  Tensor transform(const std::vector<std::string>& rows) const;
  Tensor fit_transform(const std::vector<std::string>& rows);

  int64_t feature_count() const { return static_cast<int64_t>(idf_.size()); }
  // The token of each column, in column order.
  std::vector<std::string> features() const;
  // Each column's idf, in column order.
  const std::vector<double>& idf() const { return idf_; }
  const TfidfOptions& options() const { return options_; }

 private:
  TfidfOptions options_;
  TextVectorization tokenizer_;  // vocabulary: "", "[UNK]", then one token per column
  std::vector<double> idf_;
};

}  // namespace citadel
