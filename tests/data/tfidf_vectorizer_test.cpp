// The tf-idf vectorizer: values worked out by hand on a tiny corpus, a naive recomputation
// on a random one, the options, and its errors.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"
#include "citadel/data/tfidf_vectorizer.hpp"

namespace tfidf_vectorizer_test {

using namespace citadel;

namespace {

const std::vector<std::string> kCorpus = {"the cat sat", "The dog.", "Cat cat!"};

}  // namespace

// Tokens: {the, cat, sat}, {the, dog}, {cat, cat}. Counts cat 3, the 2, sat 1, dog 1, so the
// columns are cat, the, then the ties in descending byte order: sat, dog. n = 3 rows;
// df: cat 2, the 2, sat 1, dog 1. Smoothed idf = ln((1+n)/(1+df)) + 1:
//   cat, the: ln(4/3) + 1 = 1.2876821;  sat, dog: ln(2) + 1 = 1.6931472.
// Row 0 = (1.28768, 1.28768, 1.69315, 0) / ‖·‖, ‖·‖ = sqrt(2·1.28768² + 1.69315²) = 2.4865633
//       = (0.517856, 0.517856, 0.680919, 0).
// Row 1 = (0, 1.28768, 0, 1.69315) / 2.1272 = (0, 0.605349, 0, 0.795961).
// Row 2 = (2·1.28768, 0, 0, 0) / 2.57536 = (1, 0, 0, 0).
// (scikit-learn's TfidfVectorizer gives these numbers on the same tokens.)
TEST(TfidfVectorizer, MatchesHandComputedValues) {
  TfidfVectorizer vectorizer;
  const Tensor x = vectorizer.fit_transform(kCorpus);
  EXPECT_EQ(vectorizer.features(), (std::vector<std::string>{"cat", "the", "sat", "dog"}));
  ASSERT_EQ(x.shape(), (Shape{3, 4}));
  EXPECT_NEAR(vectorizer.idf()[0], 1.2876821, 1e-6);
  EXPECT_NEAR(vectorizer.idf()[2], 1.6931472, 1e-6);
  const std::vector<float> expected = {0.517856f, 0.517856f, 0.680919f, 0, 0, 0.605349f, 0, 0.795961f, 1, 0, 0, 0};
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(x.data()[i], expected[i], 1e-5) << "element " << i;
}

// sublinear_tf, smooth_idf off, no normalization: row 2's cat = (1 + ln 2)·(ln(3/2) + 1)
// = 1.6931472 · 1.4054651 = 2.3796593; row 0's sat = 1·(ln 3 + 1) = 2.0986123.
TEST(TfidfVectorizer, OptionsChangeTheFormulas) {
  TfidfVectorizer vectorizer({.sublinear_tf = true, .smooth_idf = false, .l2_normalize = false});
  const Tensor x = vectorizer.fit_transform(kCorpus);
  EXPECT_NEAR(x.at(2, 0), 2.3796593, 1e-5);
  EXPECT_NEAR(x.at(0, 2), 2.0986123, 1e-5);
  EXPECT_NEAR(x.at(0, 0), 1.4054651, 1e-5);
}

TEST(TfidfVectorizer, MaxFeaturesKeepsTheMostFrequentAndUnknownTokensAreIgnored) {
  TfidfVectorizer vectorizer({.max_features = 2});
  vectorizer.fit(kCorpus);
  EXPECT_EQ(vectorizer.features(), (std::vector<std::string>{"cat", "the"}));
  const Tensor x = vectorizer.transform({"sat dog", "the zebra"});
  EXPECT_EQ(x.at(0, 0), 0.0f);  // no known token: the row stays zero
  EXPECT_EQ(x.at(0, 1), 0.0f);
  EXPECT_NEAR(x.at(1, 1), 1.0f, 1e-6);  // "zebra" is ignored, "the" alone has norm 1
}

// A random corpus against a plain recomputation of the same formulas.
TEST(TfidfVectorizer, MatchesNaiveRecomputation) {
  Rng rng(7);
  const std::vector<std::string> words = {"alpha", "beta", "gamma", "delta", "eps", "zeta", "eta"};
  std::vector<std::string> rows;
  for (int r = 0; r < 40; ++r) {
    std::string row;
    const int length = 1 + int(rng.below(8));
    for (int i = 0; i < length; ++i) row += words[size_t(rng.below(words.size()))] + " ";
    rows.push_back(row);
  }
  TfidfVectorizer vectorizer;
  const Tensor x = vectorizer.fit_transform(rows);
  const std::vector<std::string> features = vectorizer.features();
  std::map<std::string, int> df;
  for (const auto& row : rows) {
    std::set<std::string> seen;
    size_t at = 0;
    while ((at = row.find_first_not_of(' ', at)) != std::string::npos) {
      const size_t end = row.find(' ', at);
      seen.insert(row.substr(at, end - at));
      at = end;
    }
    for (const auto& w : seen) ++df[w];
  }
  for (size_t r = 0; r < rows.size(); ++r) {
    std::vector<double> weights(features.size());
    double norm = 0;
    for (size_t c = 0; c < features.size(); ++c) {
      int count = 0;
      for (size_t at = 0; (at = rows[r].find(features[c] + " ", at)) != std::string::npos; at += features[c].size())
        if (at == 0 || rows[r][at - 1] == ' ') ++count;
      weights[c] = count * (std::log((1.0 + double(rows.size())) / (1.0 + df[features[c]])) + 1.0);
      norm += weights[c] * weights[c];
    }
    for (size_t c = 0; c < features.size(); ++c)
      EXPECT_NEAR(x.at(int64_t(r), int64_t(c)), weights[c] / std::sqrt(norm), 1e-6)
          << "row " << r << " " << features[c];
  }
}

TEST(TfidfVectorizer, Errors) {
  EXPECT_THROW(TfidfVectorizer({.max_features = 0}), ValueError);
  TfidfVectorizer vectorizer;
  EXPECT_THROW(vectorizer.transform({"a"}), ValueError);                  // not fitted
  EXPECT_THROW(vectorizer.fit({"...", " "}), ValueError);                 // no token
  EXPECT_THROW(vectorizer.fit({"ok", std::string("\xff")}), ValueError);  // not UTF-8
}

}  // namespace tfidf_vectorizer_test
