// Tf-idf features: counts from TextVectorization's tokens, idf from the training rows'
// document frequencies (scikit-learn's TfidfVectorizer formulas).
#include "citadel/data/tfidf_vectorizer.hpp"

#include <cmath>
#include <unordered_map>

#include "citadel/core/error.hpp"

namespace citadel {

namespace {

// Column of a vocabulary id: the ids of "" and "[UNK]" come first and are no column.
constexpr int64_t kFirstColumnId = TextVectorization::kOovIndex + 1;

TextVectorizationOptions tokenizer_options(const TfidfOptions& options) {
  CITADEL_CHECK(
      options.max_features >= 1 && options.max_features <= TextVectorizationLimits::kMaxVocabulary - kFirstColumnId,
      ValueError, "TfidfVectorizer: max_features must be in [1, ",
      TextVectorizationLimits::kMaxVocabulary - kFirstColumnId, "], got ", options.max_features);
  return {.max_tokens = options.max_features + kFirstColumnId, .standardize = options.standardize};
}

}  // namespace

TfidfVectorizer::TfidfVectorizer(const TfidfOptions& options)
    : options_(options), tokenizer_(tokenizer_options(options)) {}

void TfidfVectorizer::fit(const std::vector<std::string>& rows) {
  tokenizer_.adapt(rows);
  const int64_t columns = tokenizer_.vocabulary_size() - kFirstColumnId;
  std::vector<int64_t> document_frequency(static_cast<size_t>(columns), 0);
  std::vector<int64_t> last_row(static_cast<size_t>(columns), -1);  // counts each row once
  for (size_t r = 0; r < rows.size(); ++r) {
    for (const std::string& token : tokenizer_.tokens(rows[r])) {
      const int64_t column = tokenizer_.index(token) - kFirstColumnId;
      if (column < 0 || last_row[size_t(column)] == int64_t(r)) continue;
      last_row[size_t(column)] = int64_t(r);
      ++document_frequency[size_t(column)];
    }
  }
  const double n = static_cast<double>(rows.size());
  idf_.assign(static_cast<size_t>(columns), 0.0);
  for (size_t c = 0; c < idf_.size(); ++c) {
    const double df = static_cast<double>(document_frequency[c]);  // >= 1: every column was seen
    idf_[c] = (options_.smooth_idf ? std::log((1.0 + n) / (1.0 + df)) : std::log(n / df)) + 1.0;
  }
}

Tensor TfidfVectorizer::transform(const std::vector<std::string>& rows) const {
  CITADEL_CHECK(!idf_.empty(), ValueError, "TfidfVectorizer.transform: call fit() on training rows first");
  const int64_t columns = feature_count();
  Tensor out({static_cast<int64_t>(rows.size()), columns});
  float* data = out.data();
  std::unordered_map<int64_t, int64_t> counts;
  for (size_t r = 0; r < rows.size(); ++r) {
    counts.clear();
    for (const std::string& token : tokenizer_.tokens(rows[r])) {
      const int64_t column = tokenizer_.index(token) - kFirstColumnId;
      if (column >= 0) ++counts[column];
    }
    double squared_norm = 0;
    for (auto& [column, count] : counts) {
      const double tf = options_.sublinear_tf ? 1.0 + std::log(double(count)) : double(count);
      const double weight = tf * idf_[size_t(column)];
      squared_norm += weight * weight;
    }
    const double scale = options_.l2_normalize && squared_norm > 0 ? 1.0 / std::sqrt(squared_norm) : 1.0;
    float* row = data + int64_t(r) * columns;
    for (auto& [column, count] : counts) {
      const double tf = options_.sublinear_tf ? 1.0 + std::log(double(count)) : double(count);
      row[column] = static_cast<float>(tf * idf_[size_t(column)] * scale);
    }
  }
  return out;
}

Tensor TfidfVectorizer::fit_transform(const std::vector<std::string>& rows) {
  fit(rows);
  return transform(rows);
}

std::vector<std::string> TfidfVectorizer::features() const {
  const auto& vocabulary = tokenizer_.vocabulary();
  if (vocabulary.empty()) return {};
  return {vocabulary.begin() + kFirstColumnId, vocabulary.end()};
}

}  // namespace citadel
