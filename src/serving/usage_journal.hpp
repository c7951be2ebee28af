// The budgets' files: a snapshot (`FILE.usage`, rows used per token and the journal
// generation it covers) and a write-ahead journal (`FILE.usage.log`) of reservations made
// since, one checksummed line each. Usage is the snapshot plus the journal's records of its
// generation or later; a line torn by a crash fails its checksum and is not counted (its
// answer was never sent: answers wait for their line to be on disk).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace citadel::serving {

struct UsageRecord {
  uint64_t generation = 0;
  std::string token;
  int64_t rows = 0;
};

// One journal line: "GENERATION ROWS TOKEN CRC32\n" (CRC-32 of the text before it, in hex).
std::string encode_usage_record(const UsageRecord& record);
// The record of one line (without its newline), or false when it is torn or malformed.
bool decode_usage_record(std::string_view line, UsageRecord& record);

struct RecoveredUsage {
  std::map<std::string, int64_t> rows_used;
  uint64_t generation = 0;  // of the snapshot: journal records older than this are in it
  int64_t records = 0;      // journal records counted
  int64_t unreadable = 0;   // journal lines not counted (torn by a crash, or damaged)
};

// The usage after a start or a crash: the snapshot, plus the journal's records of the
// snapshot's generation or later. Missing files count as empty. ValueError naming the file
// for a snapshot that is not what the server writes.
RecoveredUsage recover_usage(const std::string& snapshot_path, const std::string& journal_path);

// Writes the snapshot atomically (0600), durable when it returns.
void write_usage_snapshot(const std::string& path, const std::map<std::string, int64_t>& rows_used,
                          uint64_t generation);

// The journal file, opened for appending (0600).
class UsageJournalFile {
 public:
  explicit UsageJournalFile(std::string path);
  ~UsageJournalFile();
  UsageJournalFile(const UsageJournalFile&) = delete;
  UsageJournalFile& operator=(const UsageJournalFile&) = delete;

  // Appends the lines in one write and syncs them to disk (one fdatasync for the batch).
  // False (and errno's text in `error`) when they may not be on disk.
  bool append(std::string_view lines, std::string& error);
  // Empties the journal (after a snapshot that holds all of it), durable when it returns.
  bool truncate(std::string& error);
  bool empty() const { return bytes_ == 0; }

 private:
  std::string path_;
  int fd_ = -1;
  uint64_t bytes_ = 0;
};

}  // namespace citadel::serving
