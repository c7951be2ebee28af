// TextVectorization: Keras's standardize, split and vocabulary rules on small corpora whose
// vocabularies and ids are worked out by hand; the JSON record round-trips and hostile
// records are refused naming the field.
#include "citadel/data/text_vectorization.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "citadel/core/error.hpp"

namespace text_vectorization_test {

using namespace citadel;
using Strings = std::vector<std::string>;

namespace {

// Counts by hand: the 3, dog 2 (twice in one row: counts are occurrences, not rows), cat 2,
// then sat, ran, a, zebra once each. Ties go in descending byte order (Keras's reversed
// np.lexsort), so dog before cat and zebra, sat, ran, a — not the order of first appearance.
const Strings kCorpus = {"The cat sat.", "the CAT! ran", "A dog? The dog.", "Zebra"};
const Strings kVocabulary = {"", "[UNK]", "the", "dog", "cat", "zebra", "sat", "ran", "a"};

std::vector<float> row(const Tensor& t, int64_t r) {
  std::vector<float> out;
  for (int64_t c = 0; c < t.shape(1); ++c) out.push_back(t.at(r, c));
  return out;
}

}  // namespace

TEST(TextVectorization, VocabularyByCountThenDescendingBytes) {
  TextVectorization vectorizer;
  vectorizer.adapt(kCorpus);
  EXPECT_EQ(vectorizer.vocabulary(), kVocabulary);
}

TEST(TextVectorization, TransformPadsToTheLongestRowAndMapsUnknownWordsToOne) {
  TextVectorization vectorizer;
  vectorizer.adapt(kCorpus);
  const Tensor ids = vectorizer.transform({"the dog ran away", "CAT", ""});
  ASSERT_EQ(ids.shape(0), 3);
  ASSERT_EQ(ids.shape(1), 4);
  EXPECT_EQ(row(ids, 0), (std::vector<float>{2, 3, 7, 1}));  // "away" was never seen
  EXPECT_EQ(row(ids, 1), (std::vector<float>{4, 0, 0, 0}));
  EXPECT_EQ(row(ids, 2), (std::vector<float>{0, 0, 0, 0}));
  EXPECT_EQ(vectorizer.index("[UNK]"), TextVectorization::kOovIndex);
  EXPECT_EQ(vectorizer.index(""), TextVectorization::kOovIndex);  // no token is the padding
}

TEST(TextVectorization, MaxTokensCountsPaddingAndOovAndKeepsTheMostFrequent) {
  TextVectorization vectorizer({.max_tokens = 5});
  vectorizer.adapt(kCorpus);
  EXPECT_EQ(vectorizer.vocabulary(), (Strings{"", "[UNK]", "the", "dog", "cat"}));
  const Tensor ids = vectorizer.transform({"zebra cat"});
  EXPECT_EQ(row(ids, 0), (std::vector<float>{1, 4}));
}

TEST(TextVectorization, OutputSequenceLengthTruncatesAndPadsWithZero) {
  TextVectorization vectorizer({.output_sequence_length = 2});
  vectorizer.adapt(kCorpus);
  const Tensor ids = vectorizer.transform({"the dog ran away", "CAT", ""});
  ASSERT_EQ(ids.shape(1), 2);
  EXPECT_EQ(row(ids, 0), (std::vector<float>{2, 3}));  // the first two tokens are kept
  EXPECT_EQ(row(ids, 1), (std::vector<float>{4, 0}));
  EXPECT_EQ(row(ids, 2), (std::vector<float>{0, 0}));
}

TEST(TextVectorization, StripsEveryAsciiPunctuationByteAndLowersAsciiOnly) {
  TextVectorization vectorizer;
  const std::string punctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";  // Python's string.punctuation
  EXPECT_TRUE(vectorizer.tokens(punctuation).empty());
  EXPECT_EQ(vectorizer.tokens("X" + punctuation + "Y"), (Strings{"xy"}));
  EXPECT_EQ(vectorizer.tokens("Don't e-mail [UNK]"), (Strings{"dont", "email", "unk"}));
  // É (C3 89) is left as it is, as tf.strings.lower leaves it; the ASCII letters are lowered.
  EXPECT_EQ(vectorizer.tokens("\xC3\x89"
                              "COLE caf\xC3\xA9!"),
            (Strings{"\xC3\x89"
                     "cole",
                     "caf\xC3\xA9"}));
  // Only ASCII whitespace splits; a no-break space (C2 A0) stays inside the token.
  EXPECT_EQ(vectorizer.tokens(" a\tb\nc\rd\ve\ff  g "), (Strings{"a", "b", "c", "d", "e", "f", "g"}));
  EXPECT_EQ(vectorizer.tokens("a\xC2\xA0"
                              "b"),
            (Strings{"a\xC2\xA0"
                     "b"}));
}

TEST(TextVectorization, OtherStandardizations) {
  EXPECT_EQ(TextVectorization({.standardize = "none"}).tokens("The Cat."), (Strings{"The", "Cat."}));
  EXPECT_EQ(TextVectorization({.standardize = "lower"}).tokens("The Cat."), (Strings{"the", "cat."}));
  EXPECT_EQ(TextVectorization({.standardize = "strip_punctuation"}).tokens("The Cat."), (Strings{"The", "Cat"}));
}

TEST(TextVectorization, AnOovTokenInTheRowsIsNotLearned) {
  // Without standardization "[UNK]" survives as a token: it is the OOV entry already, so it
  // is left out before the cut. By hand: a 2, then b and c once each (c before b).
  TextVectorization vectorizer({.max_tokens = 4, .standardize = "none"});
  vectorizer.adapt({"[UNK] [UNK] [UNK] b a a", "c"});
  EXPECT_EQ(vectorizer.vocabulary(), (Strings{"", "[UNK]", "a", "c"}));
  EXPECT_EQ(row(vectorizer.transform({"[UNK] a b c"}), 0), (std::vector<float>{1, 2, 1, 3}));
}

TEST(TextVectorization, BadOptionsAndInputsAreRefused) {
  EXPECT_THROW(TextVectorization({.max_tokens = 2}), ValueError);
  EXPECT_THROW(TextVectorization({.output_sequence_length = 0}), ValueError);
  EXPECT_THROW(TextVectorization({.standardize = "upper"}), ValueError);
  EXPECT_THROW(TextVectorization({.split = "character"}), NotImplementedError);
  EXPECT_THROW(TextVectorization({.output_mode = "multi_hot"}), NotImplementedError);
  TextVectorization vectorizer;
  EXPECT_THROW(vectorizer.transform({"a"}), ValueError);  // no vocabulary yet
  EXPECT_THROW(vectorizer.adapt({}), ValueError);
  EXPECT_THROW(vectorizer.adapt({"...", "  ", "?!"}), ValueError);  // no token once standardized
  // A cut sequence, an overlong '/', a surrogate, a byte that never starts UTF-8.
  for (const char* bad : {"caf\xC3", "\xC0\xAF", "\xED\xA0\x80", "\xFF"}) {
    EXPECT_THROW(vectorizer.adapt({"fine", bad}), ValueError) << bad;
  }
  vectorizer.adapt(kCorpus);
  try {
    vectorizer.transform({"fine", "caf\xC3"});
    FAIL() << "invalid UTF-8 accepted";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("row 1"), std::string::npos) << e.what();
  }
}

TEST(TextVectorization, SetVocabularyTakesKerasBothForms) {
  TextVectorization plain, reserved;
  plain.set_vocabulary({"b", "a"});
  reserved.set_vocabulary({"", "[UNK]", "b", "a"});
  EXPECT_EQ(plain.vocabulary(), (Strings{"", "[UNK]", "b", "a"}));
  EXPECT_EQ(reserved.vocabulary(), plain.vocabulary());
  EXPECT_EQ(row(plain.transform({"A b c"}), 0), (std::vector<float>{3, 2, 1}));
  EXPECT_THROW(plain.set_vocabulary({}), ValueError);
  EXPECT_THROW(plain.set_vocabulary({"", "[UNK]"}), ValueError);
  EXPECT_THROW(plain.set_vocabulary({"a", "b", "a"}), ValueError);
  EXPECT_THROW(plain.set_vocabulary({"a", "[UNK]"}), ValueError);
  EXPECT_THROW(plain.set_vocabulary({"a", ""}), ValueError);
  EXPECT_THROW(plain.set_vocabulary({std::string(TextVectorizationLimits::kMaxTokenBytes + 1, 'x')}), ValueError);
  EXPECT_THROW(TextVectorization({.max_tokens = 3}).set_vocabulary({"a", "b"}), ValueError);
  EXPECT_EQ(plain.vocabulary(), (Strings{"", "[UNK]", "b", "a"})) << "a refused vocabulary changes nothing";
}

TEST(TextVectorization, JsonRecordRoundTrips) {
  TextVectorization fitted({.max_tokens = 7, .output_sequence_length = 3, .standardize = "lower"});
  fitted.adapt(kCorpus);
  const TextVectorization restored = TextVectorization::from_json(fitted.to_json());
  EXPECT_EQ(restored.vocabulary(), fitted.vocabulary());
  EXPECT_EQ(restored.options().max_tokens, 7);
  EXPECT_EQ(restored.options().output_sequence_length, 3);
  EXPECT_EQ(restored.options().standardize, "lower");
  const Strings rows = {"The dog. the cat", "unseen"};
  EXPECT_EQ(restored.transform(rows).to_vector(), fitted.transform(rows).to_vector());
  EXPECT_EQ(restored.to_json(), fitted.to_json());
  TextVectorization unbounded;  // unset options are written as null and read back unset
  unbounded.adapt(kCorpus);
  const TextVectorization back = TextVectorization::from_json(unbounded.to_json());
  EXPECT_FALSE(back.options().max_tokens.has_value());
  EXPECT_FALSE(back.options().output_sequence_length.has_value());
}

TEST(TextVectorization, HostileRecordsAreRefusedNamingTheField) {
  const std::string good_head =
      R"({"standardize":"lower_and_strip_punctuation","split":"whitespace","output_mode":"int",)";
  const std::string long_token(TextVectorizationLimits::kMaxTokenBytes + 1, 'x');
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{", "not JSON"},
      {"[]", "not a JSON object"},
      {"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]", "nested too deep"},
      {good_head + R"("max_tokens":null,"output_sequence_length":null})", "'vocabulary'"},
      {good_head + R"("max_tokens":null,"output_sequence_length":null,"vocabulary":["","[UNK]","a"],"x":1})", "'x'"},
      {good_head + R"("max_tokens":null,"output_sequence_length":null,"vocabulary":"a"})", "'vocabulary'"},
      {good_head + R"("max_tokens":null,"output_sequence_length":null,"vocabulary":["","[UNK]"]})", "'vocabulary'"},
      {good_head + R"("max_tokens":null,"output_sequence_length":null,"vocabulary":["a","[UNK]","b"]})",
       "must start with"},
      {good_head + R"("max_tokens":null,"output_sequence_length":null,"vocabulary":["","[UNK]","a",1]})", "entry 3"},
      {good_head + R"("max_tokens":null,"output_sequence_length":null,"vocabulary":["","[UNK]","a","a"]})", "repeats"},
      {good_head + R"("max_tokens":null,"output_sequence_length":null,"vocabulary":["","[UNK]",")" + long_token +
           R"("]})",
       "bytes"},
      {good_head + R"("max_tokens":"5","output_sequence_length":null,"vocabulary":["","[UNK]","a"]})", "'max_tokens'"},
      {good_head + R"("max_tokens":99999999999,"output_sequence_length":null,"vocabulary":["","[UNK]","a"]})",
       "'max_tokens'"},
      {good_head + R"("max_tokens":3,"output_sequence_length":null,"vocabulary":["","[UNK]","a","b"]})",
       "max_tokens 3"},
      {good_head + R"("max_tokens":null,"output_sequence_length":1099511627776,"vocabulary":["","[UNK]","a"]})",
       "'output_sequence_length'"},
      {R"({"standardize":"rot13","split":"whitespace","output_mode":"int","max_tokens":null,)"
       R"("output_sequence_length":null,"vocabulary":["","[UNK]","a"]})",
       "standardize"},
      {R"({"split":"whitespace","output_mode":"int","max_tokens":null,)"
       R"("output_sequence_length":null,"vocabulary":["","[UNK]","a"]})",
       "'standardize'"},
  };
  for (const auto& [record, named] : cases) {
    try {
      TextVectorization::from_json(record);
      ADD_FAILURE() << "accepted: " << record.substr(0, 200);
    } catch (const IoError& e) {
      EXPECT_NE(std::string(e.what()).find(named), std::string::npos) << e.what();
    }
  }
}

}  // namespace text_vectorization_test
