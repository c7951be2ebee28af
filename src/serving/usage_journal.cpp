// Journal lines, recovery, the snapshot and the journal file. Counting a torn line would
// only over-count; not counting it is exact, because its answer was never sent.
#include "usage_journal.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "citadel/core/atomic_file.hpp"
#include "citadel/core/error.hpp"

namespace citadel::serving {
namespace {

uint32_t checksum(std::string_view text) {
  return static_cast<uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(text.data()), static_cast<uInt>(text.size())));
}

template <class Number>
bool parse_number(std::string_view text, Number& value) {
  if (text.empty()) return false;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc() && end == text.data() + text.size();
}

std::string read_whole(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

}  // namespace

std::string encode_usage_record(const UsageRecord& record) {
  const std::string text = std::to_string(record.generation) + " " + std::to_string(record.rows) + " " + record.token;
  char crc[9];
  std::snprintf(crc, sizeof crc, "%08x", checksum(text));
  return text + " " + crc + "\n";
}

bool decode_usage_record(std::string_view line, UsageRecord& record) {
  const size_t last_space = line.rfind(' ');
  if (last_space == std::string_view::npos) return false;
  const std::string_view text = line.substr(0, last_space), crc_text = line.substr(last_space + 1);
  char crc[9];
  std::snprintf(crc, sizeof crc, "%08x", checksum(text));
  if (crc_text != std::string_view(crc, 8)) return false;  // exactly as written: 8 lower-case digits
  const size_t first = text.find(' '), second = first == std::string_view::npos ? first : text.find(' ', first + 1);
  if (second == std::string_view::npos) return false;
  UsageRecord decoded;
  decoded.token = std::string(text.substr(second + 1));
  if (!parse_number(text.substr(0, first), decoded.generation) ||
      !parse_number(text.substr(first + 1, second - first - 1), decoded.rows) || decoded.rows < 0 ||
      decoded.token.empty())
    return false;
  record = std::move(decoded);
  return true;
}

RecoveredUsage recover_usage(const std::string& snapshot_path, const std::string& journal_path) {
  RecoveredUsage usage;
  if (std::filesystem::exists(snapshot_path)) {
    nlohmann::json root;
    try {
      root = nlohmann::json::parse(read_whole(snapshot_path));
    } catch (const nlohmann::json::exception& e) {
      throw ValueError(snapshot_path + ": not valid JSON: " + e.what());
    }
    CITADEL_CHECK(root.is_object() && root.contains("rows_used") && root["rows_used"].is_object(), ValueError,
                  snapshot_path, ": expected {\"rows_used\": {...}}");
    for (const auto& [name, rows] : root["rows_used"].items()) {
      CITADEL_CHECK(rows.is_number_integer() && rows.get<int64_t>() >= 0, ValueError, snapshot_path,
                    ": rows_used of '", name, "' must be a whole number >= 0");
      usage.rows_used[name] = rows.get<int64_t>();
    }
    if (root.contains("journal_generation")) {
      CITADEL_CHECK(root["journal_generation"].is_number_unsigned(), ValueError, snapshot_path,
                    ": journal_generation must be a whole number >= 0");
      usage.generation = root["journal_generation"].get<uint64_t>();
    }
  }
  if (!std::filesystem::exists(journal_path)) return usage;
  const std::string journal = read_whole(journal_path);
  size_t start = 0;
  while (start < journal.size()) {
    const size_t end = journal.find('\n', start);
    if (end == std::string::npos) {  // the last line, cut by a crash before its newline
      ++usage.unreadable;
      break;
    }
    UsageRecord record;
    if (!decode_usage_record(std::string_view(journal).substr(start, end - start), record)) {
      ++usage.unreadable;
    } else if (record.generation >= usage.generation) {
      usage.rows_used[record.token] += record.rows;
      ++usage.records;
    }
    start = end + 1;
  }
  return usage;
}

void write_usage_snapshot(const std::string& path, const std::map<std::string, int64_t>& rows_used,
                          uint64_t generation) {
  const nlohmann::json root{{"rows_used", rows_used}, {"journal_generation", generation}};
  write_file_atomically(path, root.dump(2) + "\n", 0600);
}

UsageJournalFile::UsageJournalFile(std::string path) : path_(std::move(path)) {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  CITADEL_CHECK(fd_ >= 0, IoError, path_, ": cannot open the usage journal: ", std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {  // two servers counting one budget would each allow all of it
    ::close(fd_);
    throw IoError(path_ + ": the usage journal is in use by another process (another citadel serve with these tokens?)");
  }
  const off_t size = ::lseek(fd_, 0, SEEK_END);
  bytes_ = size > 0 ? static_cast<uint64_t>(size) : 0;
}

UsageJournalFile::~UsageJournalFile() {
  if (fd_ >= 0) ::close(fd_);
}

bool UsageJournalFile::append(std::string_view lines, std::string& error) {
  while (!lines.empty()) {
    const ssize_t written = ::write(fd_, lines.data(), lines.size());
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) {
      error = path_ + ": cannot write: " + std::strerror(errno);
      return false;
    }
    lines.remove_prefix(static_cast<size_t>(written));
    bytes_ += static_cast<uint64_t>(written);
  }
  if (::fdatasync(fd_) != 0) {
    error = path_ + ": cannot sync: " + std::strerror(errno);
    return false;
  }
  return true;
}

bool UsageJournalFile::truncate(std::string& error) {
  if (::ftruncate(fd_, 0) != 0 || ::fsync(fd_) != 0) {
    error = path_ + ": cannot empty: " + std::strerror(errno);
    return false;
  }
  bytes_ = 0;
  return true;
}

}  // namespace citadel::serving
