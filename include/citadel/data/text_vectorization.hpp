// Keras's TextVectorization (output_mode "int"): raw strings to rows of token ids, with a
// vocabulary learned from training rows (adapt) or given (set_vocabulary), and its JSON
// record for model files.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "citadel/core/tensor.hpp"

namespace citadel {

struct TextVectorizationOptions {
  // The vocabulary's size counting the padding "" and the OOV "[UNK]" entries (Keras's
  // meaning); unset keeps every token seen. At least 3: one learned token.
  std::optional<int64_t> max_tokens = std::nullopt;
  // Each row padded with 0 or truncated to this many ids; unset pads to the longest row.
  std::optional<int64_t> output_sequence_length = std::nullopt;
  // "lower_and_strip_punctuation" (Keras's default), "lower", "strip_punctuation" or "none".
  std::string standardize = "lower_and_strip_punctuation";
  std::string split = "whitespace";  // the only split there is
  std::string output_mode = "int";   // the only mode there is
};

// Bounds on a vectorizer (and on a record read from a model file): ids travel in float32,
// which holds every integer up to 2^24 exactly (docs/DESIGN.md, "Integer inputs").
struct TextVectorizationLimits {
  static constexpr int64_t kMaxVocabulary = int64_t{1} << 24;
  static constexpr int64_t kMaxTokenBytes = 1024;
  static constexpr int64_t kMaxSequenceLength = int64_t{1} << 20;
};

class TextVectorization {
 public:
  static constexpr int64_t kPaddingIndex = 0;  // the empty token ""
  static constexpr int64_t kOovIndex = 1;      // "[UNK]": every token not in the vocabulary

  explicit TextVectorization(const TextVectorizationOptions& options = {});

  // Learns the vocabulary from `rows` (training rows only): every token, by descending
  // count, ties in descending byte order of the tokens (as Keras, which sorts with
  // np.lexsort and reverses), cut to max_tokens − 2. ValueError when no row holds a token
  // or a row is not valid UTF-8.
  void adapt(const std::vector<std::string>& rows);
  // Each row's ids, (rows, length) in float32 (exact integers; Embedding's input).
  // ValueError naming the row when a row is not valid UTF-8. Needs a vocabulary.
  Tensor transform(const std::vector<std::string>& rows) const;
  // One row standardized and split: the tokens looked up by transform.
  std::vector<std::string> tokens(std::string_view row) const;
  // A token's id: its place in vocabulary(), kOovIndex when absent.
  int64_t index(std::string_view token) const;

  // "", "[UNK]", then the learned tokens in id order (Keras's get_vocabulary()).
  const std::vector<std::string>& vocabulary() const { return vocabulary_; }
  int64_t vocabulary_size() const { return static_cast<int64_t>(vocabulary_.size()); }
  bool has_vocabulary() const { return !vocabulary_.empty(); }
  // Keras's set_vocabulary: the tokens in id order, with or without "" and "[UNK]" first.
  // ValueError on an empty list, a repeated token, "" or "[UNK]" elsewhere, a token over
  // kMaxTokenBytes or not UTF-8, or more entries than max_tokens.
  void set_vocabulary(const std::vector<std::string>& tokens);
  const TextVectorizationOptions& options() const { return options_; }
  // The fixed row length, when output_sequence_length is set (0 when not).
  int64_t sequence_length() const { return options_.output_sequence_length.value_or(0); }

  // The record saved in model files: {"standardize", "split", "output_mode", "max_tokens",
  // "output_sequence_length", "vocabulary"}.
  std::string to_json() const;
  // A vectorizer from to_json's text; IoError naming the field when it is malformed or over
  // TextVectorizationLimits.
  static TextVectorization from_json(std::string_view record);

 private:
  void adopt(std::vector<std::string> learned);  // "" and "[UNK]", then `learned`
  TextVectorizationOptions options_;
  std::vector<std::string> vocabulary_;
  std::unordered_map<std::string, int64_t> ids_;
};

// A vocabulary file for set_vocabulary: one token a line (UTF-8, "\n" or "\r\n"), in id
// order, optionally starting with Keras's reserved entries (an empty line, then "[UNK]"), as
// Keras's get_vocabulary() written a line each. ValueError naming the file and line for an
// empty line, a misplaced "[UNK]", a token over kMaxTokenBytes or not UTF-8, a repeated token,
// more than kMaxVocabulary lines, or no token at all; IoError when it cannot be read.
std::vector<std::string> read_vocabulary_file(const std::string& path);

}  // namespace citadel
