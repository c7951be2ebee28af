// Zip archives (.keras files) read from and written to memory with libzip. Reading treats
// the archive as hostile: entry counts and sizes are bounded before anything is inflated,
// names may not hold path components or repeat, and an entry that inflates past what it
// declares, or past a bounded ratio to its compressed size (a bomb), is refused.
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

// The entries to inflate, each with the most bytes it may declare (below the limits' own).
using WantedEntries = std::vector<std::pair<std::string, int64_t>>;

// The wanted entries by name (the others are checked but not read); an entry's declared
// size is checked against its own cap before a byte of it is inflated. IoError naming
// `source` and the entry for anything refused.
std::map<std::string, std::string> read_zip_archive(std::string_view bytes, const std::string& source,
                                                    const WantedEntries& wanted, const ZipLimits& limits);

// An archive of `entries` (stored, not compressed: what Keras writes), in this order.
std::string write_zip_archive(const std::vector<std::pair<std::string, std::string>>& entries);

}  // namespace citadel::detail
