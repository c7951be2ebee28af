// TextVectorization: Keras 3's standardize, split and vocabulary rules for output_mode "int",
// and the JSON record that carries the vocabulary in model files.
#include "citadel/data/text_vectorization.hpp"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <unordered_set>

#include "citadel/core/error.hpp"
#include "citadel/core/json_limits.hpp"

namespace citadel {

namespace {

constexpr const char* kOovToken = "[UNK]";
using Limits = TextVectorizationLimits;

// Where `text` stops being UTF-8 (an overlong form, a surrogate, past U+10FFFF, a cut
// sequence), or npos when it all is.
size_t invalid_utf8_at(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto byte = static_cast<unsigned char>(text[i]);
    int length = 0;
    uint32_t code = 0, minimum = 0;
    if (byte < 0x80) {
      ++i;
      continue;
    } else if ((byte & 0xE0) == 0xC0) {
      length = 2, code = byte & 0x1F, minimum = 0x80;
    } else if ((byte & 0xF0) == 0xE0) {
      length = 3, code = byte & 0x0F, minimum = 0x800;
    } else if ((byte & 0xF8) == 0xF0) {
      length = 4, code = byte & 0x07, minimum = 0x10000;
    } else {
      return i;
    }
    if (i + length > text.size()) return i;
    for (int k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return i;
      code = (code << 6) | (next & 0x3F);
    }
    if (code < minimum || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return i;
    i += length;
  }
  return std::string_view::npos;
}

void check_utf8(std::string_view text, const char* what, size_t row) {
  const size_t at = invalid_utf8_at(text);
  CITADEL_CHECK(at == std::string_view::npos, ValueError, "TextVectorization.", what, ": row ", row,
                " is not valid UTF-8 (byte ", at, ")");
}

// Keras's punctuation class [!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~'] is exactly Python's
// string.punctuation: the 32 ASCII punctuation bytes.
bool is_punctuation(unsigned char c) {
  return (c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') || (c >= '{' && c <= '~');
}

// TensorFlow's whitespace split (tf.strings.split with no separator) splits on ASCII
// whitespace only; U+00A0 and other Unicode spaces stay inside tokens.
bool is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }

void check_options(const TextVectorizationOptions& o) {
  const std::string& s = o.standardize;
  CITADEL_CHECK(s == "lower_and_strip_punctuation" || s == "lower" || s == "strip_punctuation" || s == "none",
                ValueError,
                "TextVectorization: standardize must be lower_and_strip_punctuation, lower, strip_punctuation or "
                "none, got '",
                s, "'");
  CITADEL_CHECK(o.split == "whitespace", NotImplementedError,
                "TextVectorization: split must be whitespace (the only split citadel has), got '", o.split, "'");
  CITADEL_CHECK(o.output_mode == "int", NotImplementedError,
                "TextVectorization: output_mode must be int (the only mode citadel has), got '", o.output_mode, "'");
  // Keras accepts 2, which maps every token to [UNK]: a vectorizer that learns nothing.
  CITADEL_CHECK(!o.max_tokens || (*o.max_tokens >= 3 && *o.max_tokens <= Limits::kMaxVocabulary), ValueError,
                "TextVectorization: max_tokens must be 3 to ", Limits::kMaxVocabulary,
                " (it counts the padding and [UNK] entries), got ", *o.max_tokens);
  CITADEL_CHECK(!o.output_sequence_length ||
                    (*o.output_sequence_length >= 1 && *o.output_sequence_length <= Limits::kMaxSequenceLength),
                ValueError, "TextVectorization: output_sequence_length must be 1 to ", Limits::kMaxSequenceLength,
                ", got ", *o.output_sequence_length);
}

}  // namespace

TextVectorization::TextVectorization(const TextVectorizationOptions& options) : options_(options) {
  check_options(options_);
}

std::vector<std::string> TextVectorization::tokens(std::string_view row) const {
  const bool lower = options_.standardize == "lower_and_strip_punctuation" || options_.standardize == "lower";
  const bool strip =
      options_.standardize == "lower_and_strip_punctuation" || options_.standardize == "strip_punctuation";
  // Byte by byte is safe on UTF-8: every byte changed or removed is ASCII, and no byte of a
  // multi-byte sequence is ASCII. Lowercasing is ASCII-only, as tf.strings.lower (Keras's
  // call, with its default encoding '') is: "ÉCOLE" becomes "École".
  std::vector<std::string> out;
  std::string token;
  for (const char c : row) {
    const auto byte = static_cast<unsigned char>(c);
    if (is_space(byte)) {
      if (!token.empty()) out.push_back(std::move(token)), token.clear();
      continue;
    }
    if (strip && is_punctuation(byte)) continue;
    token.push_back(lower && byte >= 'A' && byte <= 'Z' ? static_cast<char>(byte - 'A' + 'a') : c);
  }
  if (!token.empty()) out.push_back(std::move(token));
  return out;
}

void TextVectorization::adapt(const std::vector<std::string>& rows) {
  std::unordered_map<std::string, int64_t> counts;
  for (size_t r = 0; r < rows.size(); ++r) {
    check_utf8(rows[r], "adapt", r);
    for (std::string& token : tokens(rows[r]))
      if (token != kOovToken) ++counts[std::move(token)];  // Keras drops it before the max_tokens cut
  }
  CITADEL_CHECK(!counts.empty(), ValueError, "TextVectorization.adapt: the ", rows.size(),
                " training rows hold no token, so there is no vocabulary to learn");
  std::vector<std::pair<std::string, int64_t>> sorted;
  sorted.reserve(counts.size());
  for (auto& [token, count] : counts) sorted.emplace_back(token, count);
  // Keras: np.lexsort((tokens, counts))[::-1], i.e. counts descending, ties by tokens descending.
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first > b.first;
  });
  const int64_t keep = options_.max_tokens ? *options_.max_tokens - 2 : Limits::kMaxVocabulary - 2;
  if (static_cast<int64_t>(sorted.size()) > keep) sorted.resize(static_cast<size_t>(keep));
  std::vector<std::string> learned;
  learned.reserve(sorted.size());
  for (auto& entry : sorted) {
    // A learned token over the bound would make a record no loader takes: refuse it now.
    CITADEL_CHECK(static_cast<int64_t>(entry.first.size()) <= Limits::kMaxTokenBytes, ValueError,
                  "TextVectorization.adapt: a token of ", entry.first.size(), " bytes is longer than ",
                  Limits::kMaxTokenBytes, " (it starts '", entry.first.substr(0, 40), "')");
    learned.push_back(std::move(entry.first));
  }
  adopt(std::move(learned));
}

void TextVectorization::set_vocabulary(const std::vector<std::string>& tokens) {
  size_t start = 0;  // Keras takes the vocabulary with or without its two reserved entries
  if (tokens.size() >= 2 && tokens[0].empty() && tokens[1] == kOovToken) start = 2;
  CITADEL_CHECK(tokens.size() > start, ValueError, "TextVectorization.set_vocabulary: the vocabulary is empty");
  const int64_t total = static_cast<int64_t>(tokens.size() - start) + 2;
  const int64_t bound = options_.max_tokens.value_or(Limits::kMaxVocabulary);
  CITADEL_CHECK(total <= bound, ValueError, "TextVectorization.set_vocabulary: ", total,
                " entries with the padding and [UNK] ones, more than ", options_.max_tokens ? "max_tokens " : "",
                bound);
  std::vector<std::string> learned(tokens.begin() + static_cast<std::ptrdiff_t>(start), tokens.end());
  for (size_t i = 0; i < learned.size(); ++i) {
    const std::string& token = learned[i];
    CITADEL_CHECK(!token.empty() && token != kOovToken, ValueError, "TextVectorization.set_vocabulary: the reserved '",
                  token, "' at index ", i + start, "; \"\" and \"[UNK]\" may only be the first two entries");
    CITADEL_CHECK(static_cast<int64_t>(token.size()) <= Limits::kMaxTokenBytes, ValueError,
                  "TextVectorization.set_vocabulary: the token at index ", i + start, " has ", token.size(),
                  " bytes, more than ", Limits::kMaxTokenBytes);
    check_utf8(token, "set_vocabulary", i + start);
  }
  adopt(std::move(learned));
}

void TextVectorization::adopt(std::vector<std::string> learned) {
  std::vector<std::string> vocabulary{"", kOovToken};
  vocabulary.insert(vocabulary.end(), std::make_move_iterator(learned.begin()), std::make_move_iterator(learned.end()));
  std::unordered_map<std::string, int64_t> ids;
  ids.reserve(vocabulary.size());
  for (size_t i = 0; i < vocabulary.size(); ++i) {
    const bool fresh = ids.emplace(vocabulary[i], static_cast<int64_t>(i)).second;
    CITADEL_CHECK(fresh, ValueError, "TextVectorization: the vocabulary repeats the token '", vocabulary[i],
                  "' (index ", i, ")");
  }
  vocabulary_ = std::move(vocabulary);
  ids_ = std::move(ids);
}

int64_t TextVectorization::index(std::string_view token) const {
  const auto found = ids_.find(std::string(token));
  return found == ids_.end() || found->second == kPaddingIndex ? kOovIndex : found->second;
}

Tensor TextVectorization::transform(const std::vector<std::string>& rows) const {
  CITADEL_CHECK(has_vocabulary(), ValueError,
                "TextVectorization.transform: no vocabulary yet (call adapt on the training rows, or set_vocabulary)");
  std::vector<std::vector<int64_t>> ids(rows.size());
  int64_t longest = 0;
  for (size_t r = 0; r < rows.size(); ++r) {
    check_utf8(rows[r], "transform", r);
    for (const std::string& token : tokens(rows[r])) {
      ids[r].push_back(index(token));
      // Keras keeps the first output_sequence_length tokens; the rest need no lookup.
      if (options_.output_sequence_length && int64_t(ids[r].size()) == *options_.output_sequence_length) break;
    }
    longest = std::max(longest, static_cast<int64_t>(ids[r].size()));
  }
  const int64_t length = options_.output_sequence_length.value_or(longest);
  Tensor out(Shape{static_cast<int64_t>(rows.size()), length});  // zeros: the padding id
  for (size_t r = 0; r < rows.size(); ++r)
    for (size_t t = 0; t < ids[r].size(); ++t)
      out.at(static_cast<int64_t>(r), static_cast<int64_t>(t)) = float(ids[r][t]);
  return out;
}

std::string TextVectorization::to_json() const {
  nlohmann::json record{{"standardize", options_.standardize}, {"split", options_.split},
                        {"output_mode", options_.output_mode}, {"max_tokens", nullptr},
                        {"output_sequence_length", nullptr},   {"vocabulary", vocabulary_}};
  if (options_.max_tokens) record["max_tokens"] = *options_.max_tokens;
  if (options_.output_sequence_length) record["output_sequence_length"] = *options_.output_sequence_length;
  return record.dump();
}

TextVectorization TextVectorization::from_json(std::string_view text) {
  CITADEL_CHECK(json_nesting_depth(text) <= 4, IoError, "the text vectorization record is nested too deep");
  nlohmann::json record;
  try {
    record = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw IoError(std::string("the text vectorization record is not JSON: ") + e.what());
  }
  CITADEL_CHECK(record.is_object(), IoError, "the text vectorization record is not a JSON object");
  auto field = [&](const char* name) -> const nlohmann::json& {
    CITADEL_CHECK(record.contains(name), IoError, "the text vectorization record has no '", name, "'");
    return record.at(name);
  };
  auto text_field = [&](const char* name) {
    const nlohmann::json& value = field(name);
    CITADEL_CHECK(value.is_string(), IoError, "the text vectorization record's '", name, "' is not a string");
    return value.get<std::string>();
  };
  auto count_field = [&](const char* name, int64_t bound) -> std::optional<int64_t> {
    const nlohmann::json& value = field(name);
    if (value.is_null()) return std::nullopt;
    CITADEL_CHECK(value.is_number_integer() && value.get<int64_t>() >= 1 && value.get<int64_t>() <= bound, IoError,
                  "the text vectorization record's '", name, "' must be null or an integer from 1 to ", bound, ", got ",
                  value.dump());
    return value.get<int64_t>();
  };
  for (const auto& [key, value] : record.items())
    CITADEL_CHECK(key == "standardize" || key == "split" || key == "output_mode" || key == "max_tokens" ||
                      key == "output_sequence_length" || key == "vocabulary",
                  IoError, "the text vectorization record has an unknown field '", key, "'");
  TextVectorizationOptions options;
  options.standardize = text_field("standardize");
  options.split = text_field("split");
  options.output_mode = text_field("output_mode");
  options.max_tokens = count_field("max_tokens", Limits::kMaxVocabulary);
  options.output_sequence_length = count_field("output_sequence_length", Limits::kMaxSequenceLength);
  const nlohmann::json& vocabulary = field("vocabulary");
  CITADEL_CHECK(vocabulary.is_array(), IoError, "the text vectorization record's 'vocabulary' is not a list");
  CITADEL_CHECK(vocabulary.size() >= 3 && static_cast<int64_t>(vocabulary.size()) <= Limits::kMaxVocabulary, IoError,
                "the text vectorization record's 'vocabulary' must hold 3 to ", Limits::kMaxVocabulary,
                " entries (\"\", \"[UNK]\" and at least one token), got ", vocabulary.size());
  std::vector<std::string> tokens;
  tokens.reserve(vocabulary.size());
  for (size_t i = 0; i < vocabulary.size(); ++i) {
    CITADEL_CHECK(vocabulary[i].is_string(), IoError, "the text vectorization record's 'vocabulary' entry ", i,
                  " is not a string");
    tokens.push_back(vocabulary[i].get<std::string>());
  }
  CITADEL_CHECK(tokens[0].empty() && tokens[1] == kOovToken, IoError,
                "the text vectorization record's 'vocabulary' must start with \"\" and \"[UNK]\"");
  try {
    TextVectorization out(options);
    out.set_vocabulary(tokens);
    return out;
  } catch (const Error& e) {  // ValueError or NotImplementedError: a bad record, said as such
    throw IoError(std::string("the text vectorization record is invalid: ") + e.what());
  }
}

std::vector<std::string> read_vocabulary_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  CITADEL_CHECK(in, IoError, path, ": cannot open the vocabulary file");
  std::vector<std::string> tokens;
  std::unordered_set<std::string> seen;
  std::string line;
  int64_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    // Keras's own file may begin with its two reserved entries: "" (an empty first line), "[UNK]".
    const bool reserved =
        (number == 1 && line.empty()) || (number == 2 && line == kOovToken && tokens.size() == 1 && tokens[0].empty());
    CITADEL_CHECK(reserved || !line.empty(), ValueError, path, ": line ", number,
                  " is empty; a vocabulary holds one token a line (an empty first line, then [UNK], are Keras's "
                  "reserved entries)");
    CITADEL_CHECK(reserved || line != kOovToken, ValueError, path, ": line ", number,
                  ": [UNK] is reserved; it may only be line 2, after an empty line 1");
    CITADEL_CHECK(int64_t(line.size()) <= Limits::kMaxTokenBytes, ValueError, path, ": line ", number, " has ",
                  line.size(), " bytes, more than a token's ", Limits::kMaxTokenBytes);
    const size_t bad = invalid_utf8_at(line);
    CITADEL_CHECK(bad == std::string_view::npos, ValueError, path, ": line ", number, " is not valid UTF-8 (byte ", bad,
                  ")");
    CITADEL_CHECK(reserved || seen.insert(line).second, ValueError, path, ": line ", number, " repeats the token '",
                  line, "'");
    CITADEL_CHECK(number <= Limits::kMaxVocabulary, ValueError, path, ": more than ", Limits::kMaxVocabulary,
                  " lines, more than a vocabulary may hold");
    tokens.push_back(std::move(line));
  }
  CITADEL_CHECK(!in.bad(), IoError, path, ": could not be read to the end");
  const size_t reserved = tokens.size() >= 2 && tokens[0].empty() && tokens[1] == kOovToken ? 2 : 0;
  CITADEL_CHECK(tokens.size() > reserved, ValueError, path, ": the vocabulary file holds no token");
  return tokens;
}

}  // namespace citadel
