// DAWN-style served-answer watermarks: the keyed choice (libsodium's
// HMAC-SHA-256), the log (one checksummed JSON line per record, as the usage
// journal's lines), and the binomial test.
#include "citadel/provenance/served_watermark.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <boost/math/distributions/binomial.hpp>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unordered_set>

#include "citadel/core/atomic_file.hpp"
#include "citadel/core/error.hpp"
#include "citadel/core/sodium_init.hpp"

namespace citadel {
namespace {

constexpr const char* kTagContext = "citadel-dawn-v1";
constexpr size_t kMaxKeyFileBytes = 4096;
constexpr size_t kMaxRowElements = 1 << 20;

uint64_t big_endian_u64(const unsigned char* bytes) {
  uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value = (value << 8) | bytes[i];
  return value;
}

uint32_t checksum(std::string_view text) {
  return static_cast<uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(text.data()), static_cast<uInt>(text.size())));
}

std::string crc_text(std::string_view text) {
  char crc[9];
  std::snprintf(crc, sizeof crc, "%08x", checksum(text));
  return std::string(crc, 8);
}

std::string base64_of(const void* data, size_t size) {
  std::string text(sodium_base64_encoded_len(size, sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(text.data(), text.size(), static_cast<const unsigned char*>(data), size,
                    sodium_base64_VARIANT_ORIGINAL);
  text.resize(std::strlen(text.c_str()));
  return text;
}

std::string read_limited(const std::string& path, int64_t max_bytes, const char* what) {
  std::ifstream in(path, std::ios::binary);
  CITADEL_CHECK(in.is_open(), IoError, path, ": cannot open the ", what, " (does it exist?)");
  in.seekg(0, std::ios::end);
  const int64_t size = static_cast<int64_t>(in.tellg());
  CITADEL_CHECK(size >= 0 && size <= max_bytes, IoError, path, ": the ", what, " is ", size, " bytes, more than ",
                max_bytes);
  in.seekg(0);
  std::string bytes(static_cast<size_t>(size), '\0');
  in.read(bytes.data(), size);
  CITADEL_CHECK(in.gcount() == size, IoError, path, ": cannot read the ", what);
  return bytes;
}

}  // namespace

WatermarkKey::~WatermarkKey() {
  sodium_memzero(bytes_.data(), bytes_.size());
}

WatermarkKey WatermarkKey::load(const std::string& path) {
  ensure_sodium();
  std::string text = read_limited(path, kMaxKeyFileBytes, "watermark key");
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  const std::string prefix = std::string(kWatermarkKeyLabel) + " ";
  const bool labelled = text.rfind(prefix, 0) == 0;
  std::array<unsigned char, 32> bytes{};
  size_t decoded = 0;
  const bool ok =
      labelled &&
      sodium_base642bin(bytes.data(), bytes.size(), text.data() + prefix.size(), text.size() - prefix.size(), nullptr,
                        &decoded, nullptr, sodium_base64_VARIANT_ORIGINAL) == 0 &&
      decoded == bytes.size();
  sodium_memzero(text.data(), text.size());
  CITADEL_CHECK(labelled, IoError, path, ": not a watermark key file (it should start '", kWatermarkKeyLabel,
                " '; make one with `citadel watermark keygen --key ", path, "`)");
  CITADEL_CHECK(ok, IoError, path, ": the watermark key is not 32 bytes of base64");
  WatermarkKey key(bytes);
  sodium_memzero(bytes.data(), bytes.size());
  return key;
}

void generate_watermark_key(const std::string& path, bool overwrite) {
  ensure_sodium();
  std::array<unsigned char, 32> bytes{};
  randombytes_buf(bytes.data(), bytes.size());
  std::string line = std::string(kWatermarkKeyLabel) + " " + base64_of(bytes.data(), bytes.size()) + "\n";
  sodium_memzero(bytes.data(), bytes.size());
  write_file_atomically(path, line, 0600, overwrite);
  sodium_memzero(line.data(), line.size());
}

std::string canonical_row_bytes(const float* row, int64_t width) {
  std::string bytes(static_cast<size_t>(width) * 4, '\0');
  for (int64_t i = 0; i < width; ++i) {
    uint32_t bits = 0;
    const float value = row[i];
    if (std::isnan(value))
      bits = 0x7fc00000u;
    else if (value != 0.0f)
      std::memcpy(&bits, &value, 4);  // -0 and +0 both 0
    for (int b = 0; b < 4; ++b) bytes[size_t(i) * 4 + size_t(b)] = static_cast<char>((bits >> (8 * b)) & 0xff);
  }
  return bytes;
}

WatermarkTag served_watermark_tag(const WatermarkKey& key, std::string_view token, const float* row, int64_t width) {
  ensure_sodium();
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, key.data(), 32);
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(kTagContext),
                                std::strlen(kTagContext) + 1);
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(token.data()), token.size());
  const unsigned char zero = 0;
  crypto_auth_hmacsha256_update(&state, &zero, 1);
  const std::string bytes = canonical_row_bytes(row, width);
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  WatermarkTag tag{};
  crypto_auth_hmacsha256_final(&state, tag.data());
  return tag;
}

std::string watermark_tag_hex(const WatermarkTag& tag) {
  char hex[33];
  sodium_bin2hex(hex, sizeof hex, tag.data(), 16);
  return hex;
}

bool watermark_selects(const WatermarkTag& tag, double rate) {
  if (!(rate > 0)) return false;
  if (rate >= 1) return true;
  // rate · 2^64, exactly as a long double holds it; the comparison is then
  // exact to 2^-64.
  const long double threshold = static_cast<long double>(rate) * 18446744073709551616.0L;
  return static_cast<long double>(big_endian_u64(tag.data())) < threshold;
}

int64_t watermark_label(const WatermarkTag& tag, int64_t top, int64_t classes) {
  CITADEL_CHECK(classes >= 3, ValueError, "a served watermark needs a classifier of 3 or more classes, not ", classes,
                " (with two, the other class is no secret)");
  CITADEL_CHECK(top >= 0 && top < classes, ValueError, "watermark_label: top class ", top, " outside [0, ", classes,
                ")");
  const int64_t pick = static_cast<int64_t>(big_endian_u64(tag.data() + 8) % uint64_t(classes - 1));
  return pick < top ? pick : pick + 1;
}

void watermark_probabilities(float* row, int64_t classes, int64_t label) {
  CITADEL_CHECK(label >= 0 && label < classes, ValueError, "watermark_probabilities: label ", label, " outside [0, ",
                classes, ")");
  const int64_t top = std::max_element(row, row + classes) - row;
  std::swap(row[top], row[label]);
}

std::string encode_watermark_record(const WatermarkRecord& r) {
  const nlohmann::json json{{"model", r.model},
                            {"token", r.token},
                            {"input", r.input},
                            {"shape", r.shape},
                            {"row", base64_of(r.row.data(), r.row.size() * 4)},
                            {"label", r.label},
                            {"class", r.class_name},
                            {"classes", r.classes},
                            {"tag", r.tag},
                            {"time", r.time}};
  const std::string text = json.dump(-1, ' ', true,
                                     nlohmann::json::error_handler_t::replace);  // ASCII: no spaces
  return text + " " + crc_text(text) + "\n";
}

WatermarkRecord decode_watermark_record(std::string_view line, const std::string& where) {
  const size_t space = line.rfind(' ');
  CITADEL_CHECK(space != std::string_view::npos, ValueError, where, ": not a watermark record (no checksum)");
  const std::string_view text = line.substr(0, space);
  CITADEL_CHECK(line.substr(space + 1) == crc_text(text), ValueError, where,
                ": the record fails its checksum (damaged or edited)");
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw ValueError(where + ": not valid JSON: " + e.what());
  }
  auto field = [&](const char* name) -> const nlohmann::json& {
    CITADEL_CHECK(json.is_object() && json.contains(name), ValueError, where, ": the record has no '", name, "'");
    return json[name];
  };
  auto text_field = [&](const char* name) {
    const nlohmann::json& value = field(name);
    CITADEL_CHECK(value.is_string(), ValueError, where, ": '", name, "' must be a string");
    return value.get<std::string>();
  };
  auto whole = [&](const char* name, int64_t low, int64_t high) {
    const nlohmann::json& value = field(name);
    CITADEL_CHECK(value.is_number_integer() && value.get<int64_t>() >= low && value.get<int64_t>() <= high, ValueError,
                  where, ": '", name, "' must be a whole number from ", low, " to ", high);
    return value.get<int64_t>();
  };
  WatermarkRecord r;
  r.model = text_field("model"), r.token = text_field("token"), r.input = text_field("input");
  r.class_name = text_field("class"), r.tag = text_field("tag"), r.time = text_field("time");
  r.classes = whole("classes", 3, 1 << 20);
  r.label = whole("label", 0, r.classes - 1);
  const nlohmann::json& shape = field("shape");
  CITADEL_CHECK(shape.is_array() && !shape.empty() && shape.size() <= 8, ValueError, where,
                ": 'shape' must be a list of 1 to 8 dimensions");
  uint64_t elements = 1;
  for (const nlohmann::json& d : shape) {
    CITADEL_CHECK(d.is_number_integer() && d.get<int64_t>() >= 1 && d.get<int64_t>() <= int64_t(kMaxRowElements),
                  ValueError, where, ": 'shape' entries must be whole numbers from 1 to ", kMaxRowElements);
    elements *= uint64_t(d.get<int64_t>());
    CITADEL_CHECK(elements <= kMaxRowElements, ValueError, where, ": the row holds more than ", kMaxRowElements,
                  " values");
    r.shape.push_back(d.get<int64_t>());
  }
  const std::string row = text_field("row");
  std::vector<unsigned char> bytes(row.size());
  size_t decoded = 0;
  CITADEL_CHECK(sodium_base642bin(bytes.data(), bytes.size(), row.data(), row.size(), nullptr, &decoded, nullptr,
                                  sodium_base64_VARIANT_ORIGINAL) == 0 &&
                    decoded == elements * 4,
                ValueError, where, ": 'row' must be ", elements, " float32 values in base64 (the shape's)");
  r.row.resize(elements);
  for (size_t i = 0; i < elements; ++i) {
    uint32_t bits = 0;
    for (int b = 0; b < 4; ++b) bits |= uint32_t(bytes[i * 4 + size_t(b)]) << (8 * b);
    std::memcpy(&r.row[i], &bits, 4);
  }
  return r;
}

WatermarkLog read_watermark_log(const std::string& path, int64_t max_bytes) {
  const std::string text = read_limited(path, max_bytes, "watermark log");
  WatermarkLog log;
  std::unordered_set<std::string> tags;
  size_t start = 0;
  int64_t line = 0;
  while (start < text.size()) {
    ++line;
    const size_t end = text.find('\n', start);
    if (end == std::string::npos) {  // cut by a crash before its newline: never
                                     // answered
      ++log.torn;
      break;
    }
    WatermarkRecord record =
        decode_watermark_record(std::string_view(text).substr(start, end - start), path + ":" + std::to_string(line));
    if (tags.insert(record.tag).second)
      log.records.push_back(std::move(record));
    else
      ++log.duplicates;
    start = end + 1;
  }
  return log;
}

struct WatermarkLogFile::State {
  std::mutex mutex;
  std::unordered_set<std::string> tags;
};

WatermarkLogFile::WatermarkLogFile(std::string path, int64_t max_records)
    : path_(std::move(path)), max_records_(max_records), state_(new State) {
  fd_ = ::open(path_.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ < 0) {
    delete state_;
    throw IoError(path_ + ": cannot open the watermark log: " + std::strerror(errno));
  }
  try {
    CITADEL_CHECK(::flock(fd_, LOCK_EX | LOCK_NB) == 0, IoError, path_,
                  ": the watermark log is in use by another process (another "
                  "citadel serve with this log?)");
    // A torn last line (a crash mid-write; its answer was never sent) is cut,
    // so that the next record starts on a line of its own.
    const std::string text = read_limited(path_, int64_t{1} << 34, "watermark log");
    const size_t last = text.rfind('\n');
    const size_t keep = last == std::string::npos ? 0 : last + 1;
    if (keep < text.size())
      CITADEL_CHECK(::ftruncate(fd_, off_t(keep)) == 0 && ::fsync(fd_) == 0, IoError, path_,
                    ": cannot cut the torn last line: ", std::strerror(errno));
    const WatermarkLog log = read_watermark_log(path_, int64_t{1} << 34);
    for (const WatermarkRecord& r : log.records) state_->tags.insert(r.tag);
  } catch (...) {
    ::close(fd_);
    delete state_;
    throw;
  }
}

WatermarkLogFile::~WatermarkLogFile() {
  if (fd_ >= 0) ::close(fd_);
  delete state_;
}

int64_t WatermarkLogFile::records() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return static_cast<int64_t>(state_->tags.size());
}

WatermarkLogFile::Append WatermarkLogFile::append(const WatermarkRecord& record, std::string& error) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  if (state_->tags.count(record.tag)) return Append::kKnown;
  if (static_cast<int64_t>(state_->tags.size()) >= max_records_) return Append::kFull;
  const std::string line = encode_watermark_record(record);
  std::string_view rest = line;
  while (!rest.empty()) {  // one write() in practice; O_APPEND keeps each at the
                           // end
    const ssize_t written = ::write(fd_, rest.data(), rest.size());
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) {
      error = path_ + ": cannot write: " + std::strerror(errno);
      return Append::kFailed;
    }
    rest.remove_prefix(static_cast<size_t>(written));
  }
  if (::fdatasync(fd_) != 0) {
    error = path_ + ": cannot sync: " + std::strerror(errno);
    return Append::kFailed;
  }
  state_->tags.insert(record.tag);
  return Append::kWritten;
}

double binomial_tail(int64_t successes, int64_t trials, double p) {
  CITADEL_CHECK(trials >= 0 && successes >= 0 && successes <= trials && p >= 0 && p <= 1, ValueError,
                "binomial_tail: need 0 <= successes <= trials and 0 <= p <= 1, got ", successes, " of ", trials,
                " at p ", p);
  if (successes == 0) return 1.0;
  if (p == 0) return 0.0;
  if (p == 1) return 1.0;
  const boost::math::binomial_distribution<double> binomial(double(trials), p);
  return boost::math::cdf(boost::math::complement(binomial, double(successes - 1)));
}

WatermarkVerdict verify_served_watermark(const std::vector<WatermarkRecord>& records, const SuspectAnswers& answer,
                                         int64_t max_queries, double alpha) {
  CITADEL_CHECK(!records.empty(), ValueError, "the watermark log holds no records: nothing to test the suspect on");
  CITADEL_CHECK(max_queries >= 1, ValueError, "--max-queries must be at least 1, not ", max_queries);
  CITADEL_CHECK(alpha > 0 && alpha < 1, ValueError, "--alpha must be in (0, 1), not ", alpha);
  WatermarkVerdict verdict;
  verdict.alpha = alpha;
  verdict.classes = records.front().classes;
  for (const WatermarkRecord& r : records)  // the null's probability is 1/(C − 1) for one C
    CITADEL_CHECK(r.classes == verdict.classes, ValueError, "the watermark log mixes models of ", verdict.classes,
                  " and ", r.classes, " classes; test one model's records at a time");
  const size_t used = std::min(records.size(), static_cast<size_t>(max_queries));
  constexpr size_t kSlice = 256;
  for (size_t start = 0; start < used; start += kSlice) {
    const std::vector<WatermarkRecord> slice(records.begin() + long(start),
                                             records.begin() + long(std::min(used, start + kSlice)));
    const std::vector<std::string> labels = answer(slice);
    CITADEL_ASSERT(labels.size() == slice.size(), "the suspect answered ", labels.size(), " of ", slice.size(),
                   " rows");
    for (size_t i = 0; i < slice.size(); ++i) verdict.matches += labels[i] == slice[i].class_name;
  }
  verdict.queries = static_cast<int64_t>(used);
  verdict.null_probability = 1.0 / double(verdict.classes - 1);
  verdict.p_value = binomial_tail(verdict.matches, verdict.queries, verdict.null_probability);
  verdict.claimed = verdict.p_value < alpha;
  return verdict;
}

}  // namespace citadel
