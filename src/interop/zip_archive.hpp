// Zip archives (.keras files) read from and written to memory with libzip. Reading treats
// the archive as hostile: entry counts and sizes are bounded before anything is inflated,
// names may not hold path components or repeat, each entry is read against a cap of its
// own, and an entry that inflates past what it declares, or past a bounded ratio to its
// compressed size (a bomb), is refused.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace citadel::detail {

struct ZipLimits {
  int64_t max_entries = 16;
  int64_t max_entry_bytes = int64_t{4} << 30;  // any one entry, inflated
  int64_t max_total_bytes = int64_t{4} << 30;  // all entries, inflated
  int64_t max_ratio = 1000;                    // inflated / compressed, for entries over 1 MiB
};

// A zip archive opened from memory: on opening, every entry is checked (the count, plain
// names without repeats, each declared size against the limits); nothing is inflated until
// read() is asked for one entry, which checks its declared size against a cap of its own
// that the plan for it sets, and its ratio to the compressed size. IoError naming `source` and the entry for anything
// refused.
class ZipReader {
 public:
  ZipReader(std::string_view bytes, std::string source, const ZipLimits& limits);
  ~ZipReader();
  ZipReader(const ZipReader&) = delete;
  ZipReader& operator=(const ZipReader&) = delete;

  bool contains(const std::string& name) const { return entries_.count(name) > 0; }
  // The entry inflated. Refused before a byte is inflated when it declares more than
  // `max_bytes` (`cap_reason` says where that cap comes from), and stopped at the first byte
  // past what it declares, whatever its data holds.
  std::string read(const std::string& name, int64_t max_bytes, const std::string& cap_reason = "");

 private:
  struct Entry {
    uint64_t index, size, compressed;
  };
  std::string source_;
  int64_t max_ratio_ = 0;
  void* archive_ = nullptr;  // zip_t
  std::map<std::string, Entry> entries_;
};

// An archive of `entries` (stored, not compressed: what Keras writes), in this order.
std::string write_zip_archive(const std::vector<std::pair<std::string, std::string>>& entries);

}  // namespace citadel::detail
