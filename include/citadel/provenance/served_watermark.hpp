// Ownership watermarks on served answers (DAWN, Szyller et al. 2021): a keyed
// choice of a small share of each client's queries is answered with a keyed
// wrong label and recorded, so that the owner can later show that a suspect
// model learnt from those answers (a binomial test).
//
// Canonical bytes of a row: its values as float32 (the row as parsed from the
// request, before the model's preprocessing), little-endian IEEE-754, with -0
// written as +0 and every NaN as the one quiet NaN 0x7fc00000. The tag of a row
// is
//   HMAC-SHA-256(key, "citadel-dawn-v1" 0x00 || token || 0x00 || canonical
//   bytes)
// its first 8 bytes (big-endian) below rate · 2^64 select the row, and its next
// 8 bytes modulo C − 1 pick the served label among the C − 1 labels other than
// the model's top one.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace citadel {

inline constexpr const char* kWatermarkKeyLabel = "citadel-watermark-key";

// 32 secret bytes, from a one-line file "citadel-watermark-key <base64>" (mode
// 0600).
class WatermarkKey {
 public:
  WatermarkKey() = default;
  explicit WatermarkKey(const std::array<unsigned char, 32>& bytes) : bytes_(bytes) {}
  ~WatermarkKey();
  WatermarkKey(const WatermarkKey&) = default;
  WatermarkKey& operator=(const WatermarkKey&) = default;
  // IoError naming the file when it is not a watermark key file (a signing or
  // encryption key included: each key has one use).
  static WatermarkKey load(const std::string& path);
  const unsigned char* data() const { return bytes_.data(); }

 private:
  std::array<unsigned char, 32> bytes_{};
};

// Writes a new random key (0600); an existing file is refused unless
// `overwrite`.
void generate_watermark_key(const std::string& path, bool overwrite = false);

using WatermarkTag = std::array<unsigned char, 32>;

// The canonical bytes of a row (see the top of this file).
std::string canonical_row_bytes(const float* row, int64_t width);
// HMAC-SHA-256 of the token and the row's canonical bytes.
WatermarkTag served_watermark_tag(const WatermarkKey& key, std::string_view token, const float* row, int64_t width);
// The hex of the tag's first 16 bytes: a record's "tag", one record per tag.
std::string watermark_tag_hex(const WatermarkTag& tag);
// Whether the tag selects its row at `rate` (0 ≤ rate ≤ 1).
bool watermark_selects(const WatermarkTag& tag, double rate);
// The served label for a selected row: uniform (to 2^-60) among the `classes` −
// 1 labels other than `top`. ValueError unless classes ≥ 3 (with two, the other
// label is no secret).
int64_t watermark_label(const WatermarkTag& tag, int64_t top, int64_t classes);
// Moves the probability mass of one row so that `label` is its top answer: the
// probabilities of `label` and the row's top class are swapped, so the row
// stays a distribution (the same values, permuted) and any coarsening (top-k,
// rounding, label only) keeps `label` first.
void watermark_probabilities(float* row, int64_t classes, int64_t label);

// How a server watermarks one model's answers.
struct ServedWatermarkOptions {
  std::string key_file;             // --watermark
  double rate = 0.005;              // --watermark-rate: the share of rows answered with a keyed label
  std::string log_file;             // --watermark-log
  int64_t max_records = 1'000'000;  // the log's bound: past it, no row is
                                    // watermarked (and none changed)
};

// One recorded answer: a line of the log.
struct WatermarkRecord {
  std::string model, token;
  std::string input;           // the request input that held the row: "image" or "features"
  std::vector<int64_t> shape;  // the row's shape, without the batch
  std::vector<float> row;      // the row as parsed, float32
  int64_t label = 0;           // the served (watermark) class index
  std::string class_name;      // and its name, as answered
  int64_t classes = 0;         // C
  std::string tag;             // hex of the first 16 bytes of the tag: one record per tag
  std::string time;            // UTC, RFC 3339
};

// One log line: compact JSON, a space, the CRC-32 of the JSON in 8 lower-case
// hex digits, "\n".
std::string encode_watermark_record(const WatermarkRecord& record);
// The record of one line (without its newline); ValueError naming `where`
// (FILE:LINE) for a line that fails its checksum or is not a record.
WatermarkRecord decode_watermark_record(std::string_view line, const std::string& where);

// A whole log. A last line without its newline is a record torn by a crash (its
// answer was never sent: the server answers after the line is on disk) and is
// counted, not read; any other bad line is a ValueError naming FILE:LINE.
// Records of one tag after the first are dropped (one query asked twice is one
// trial, not two).
struct WatermarkLog {
  std::vector<WatermarkRecord> records;
  int64_t torn = 0, duplicates = 0;
};
WatermarkLog read_watermark_log(const std::string& path, int64_t max_bytes = int64_t{1} << 32);

// The log a server appends to (0600, locked against a second server). Opening
// it cuts a torn last line; the tags it holds are remembered, so that a query
// asked again is not recorded again.
class WatermarkLogFile {
 public:
  WatermarkLogFile(std::string path, int64_t max_records);
  ~WatermarkLogFile();
  WatermarkLogFile(const WatermarkLogFile&) = delete;
  WatermarkLogFile& operator=(const WatermarkLogFile&) = delete;
  enum class Append { kWritten, kKnown, kFull, kFailed };
  // Appends the record and syncs it to disk (kWritten); kKnown when its tag is
  // recorded already, kFull at the bound, kFailed (errno's text in `error`)
  // when it may not be on disk. Thread-safe.
  Append append(const WatermarkRecord& record, std::string& error);
  int64_t records() const;
  const std::string& path() const { return path_; }

 private:
  struct State;
  std::string path_;
  int64_t max_records_;
  int fd_ = -1;
  State* state_;
};

// P(X ≥ successes) for X ~ Binomial(trials, p): the one-sided p-value.
double binomial_tail(int64_t successes, int64_t trials, double p);

// The test of a suspect against a log: the suspect's answers on the recorded
// rows (at most max_queries of them, in log order), how many equal the recorded
// label, and the p-value of that many or more under the null that the suspect
// is independent of the key, where each match has probability at most 1/(C −
// 1).
struct WatermarkVerdict {
  int64_t queries = 0, matches = 0, classes = 0;
  double null_probability = 0, p_value = 1, alpha = 1e-3;
  bool claimed = false;  // p_value < alpha
};
// `answer` gets records (a slice of the log) and returns the suspect's label
// name for each.
using SuspectAnswers = std::function<std::vector<std::string>(const std::vector<WatermarkRecord>&)>;
WatermarkVerdict verify_served_watermark(const std::vector<WatermarkRecord>& records, const SuspectAnswers& answer,
                                         int64_t max_queries = 1000, double alpha = 1e-3);

}  // namespace citadel
