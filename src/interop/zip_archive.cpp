// Zip archives through libzip, from and to memory.
#include "zip_archive.hpp"

#include <zip.h>

#include <algorithm>
#include <memory>

#include "citadel/core/error.hpp"

namespace citadel::detail {

namespace {

struct ArchiveCloser {
  void operator()(zip_t* archive) const { zip_discard(archive); }
};
struct FileCloser {
  void operator()(zip_file_t* file) const { zip_fclose(file); }
};
using Archive = std::unique_ptr<zip_t, ArchiveCloser>;

std::string libzip_message(zip_error_t* error) {
  std::string message = zip_error_strerror(error);
  zip_error_fini(error);
  return message;
}

// A name Keras could have written: no directories, no parent references, no control bytes.
bool plain_entry_name(const std::string& name) {
  if (name.empty() || name.size() > 255 || name == "." || name == "..") return false;
  for (const char c : name)
    if (c == '/' || c == '\\' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  return true;
}

Archive open_archive(std::string_view bytes, const std::string& source) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* data = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &error);
  CITADEL_CHECK(data != nullptr, IoError, source, ": cannot read the zip archive: ", libzip_message(&error));
  // ZIP_CHECKCONS: the central directory must agree with each entry's local header, where
  // readers that trust one or the other would otherwise see different archives.
  zip_t* archive = zip_open_from_source(data, ZIP_RDONLY | ZIP_CHECKCONS, &error);
  if (archive == nullptr) {
    zip_source_free(data);
    // libzip refuses an archive that names one entry twice: readers disagree on which counts.
    CITADEL_CHECK(zip_error_code_zip(&error) != ZIP_ER_EXISTS, IoError, source,
                  ": the archive holds two entries of one name; refused, since readers disagree on which one counts");
    throw IoError(source + ": not a valid zip archive (a .keras file is one): " + libzip_message(&error));
  }
  zip_error_fini(&error);
  return Archive(archive);
}

}  // namespace

ZipReader::ZipReader(std::string_view bytes, std::string source, const ZipLimits& limits)
    : source_(std::move(source)) {
  Archive archive = open_archive(bytes, source_);
  const zip_int64_t count = zip_get_num_entries(archive.get(), 0);
  CITADEL_CHECK(count >= 0 && count <= limits.max_entries, IoError, source_, ": the archive holds ", count,
                " entries; at most ", limits.max_entries, " are read");
  int64_t total = 0;
  for (zip_int64_t index = 0; index < count; ++index) {
    zip_stat_t stat;
    zip_stat_init(&stat);
    CITADEL_CHECK(zip_stat_index(archive.get(), static_cast<zip_uint64_t>(index), ZIP_FL_ENC_RAW, &stat) == 0 &&
                      (stat.valid & ZIP_STAT_NAME) && (stat.valid & ZIP_STAT_SIZE) && (stat.valid & ZIP_STAT_COMP_SIZE),
                  IoError, source_, ": entry ", index, " of the archive cannot be read");
    const std::string name = stat.name;
    CITADEL_CHECK(plain_entry_name(name), IoError, source_, ": entry '", name.substr(0, 64),
                  "' has a path or unsafe characters in its name; a .keras archive holds plain names only");
    // Two entries of one name (libzip refuses those on opening; checked again here, since
    // readers disagree on which one counts).
    CITADEL_CHECK(!entries_.count(name), IoError, source_, ": the archive holds two entries of one name ('", name,
                  "'); refused, since readers disagree on which one counts");
    CITADEL_CHECK(stat.size <= static_cast<zip_uint64_t>(limits.max_entry_bytes), IoError, source_, ": entry '",
                  name, "' declares ", stat.size, " bytes, more than the limit of ", limits.max_entry_bytes);
    total += static_cast<int64_t>(stat.size);
    CITADEL_CHECK(total <= limits.max_total_bytes, IoError, source_, ": the archive's entries declare more than ",
                  limits.max_total_bytes, " bytes in all");
    entries_.emplace(name, Entry{static_cast<uint64_t>(index), static_cast<uint64_t>(stat.size),
                                 static_cast<uint64_t>(stat.comp_size)});
  }
  max_ratio_ = limits.max_ratio;
  archive_ = archive.release();
}

ZipReader::~ZipReader() {
  if (archive_ != nullptr) zip_discard(static_cast<zip_t*>(archive_));
}

std::string ZipReader::read(const std::string& name, int64_t max_bytes, const std::string& cap_reason) {
  const auto found = entries_.find(name);
  CITADEL_CHECK(found != entries_.end(), IoError, source_, ": the archive has no ", name);
  const Entry entry = found->second;
  CITADEL_CHECK(entry.size <= static_cast<uint64_t>(std::max<int64_t>(max_bytes, 0)), IoError, source_, ": entry '",
                name, "' declares ", entry.size, " bytes, more than the limit of ", max_bytes,
                cap_reason.empty() ? " for it" : " " + cap_reason, "; refused before inflating it");
  CITADEL_CHECK(entry.size < (uint64_t{1} << 20) ||
                    entry.size / std::max<uint64_t>(entry.compressed, 1) <= static_cast<uint64_t>(max_ratio_),
                IoError, source_, ": entry '", name, "' inflates ", entry.compressed, " bytes to ", entry.size,
                " (a compression bomb?); refused");
  zip_t* archive = static_cast<zip_t*>(archive_);
  std::unique_ptr<zip_file_t, FileCloser> file(zip_fopen_index(archive, entry.index, 0));
  CITADEL_CHECK(file != nullptr, IoError, source_, ": entry '", name, "' cannot be opened: ", zip_strerror(archive));
  // One byte more than declared is read, so an entry longer than it says is caught at the
  // first byte past it: the buffer never grows beyond the declared size, itself capped.
  std::string content(static_cast<size_t>(entry.size) + 1, '\0');
  zip_int64_t got = 0;
  while (got < static_cast<zip_int64_t>(content.size())) {
    const zip_int64_t read = zip_fread(file.get(), content.data() + got, content.size() - static_cast<size_t>(got));
    CITADEL_CHECK(read >= 0, IoError, source_, ": entry '", name, "' is damaged: ", zip_file_strerror(file.get()));
    if (read == 0) break;
    got += read;
  }
  CITADEL_CHECK(got == static_cast<zip_int64_t>(entry.size), IoError, source_, ": entry '", name, "' holds ",
                got > static_cast<zip_int64_t>(entry.size) ? "more" : "fewer", " bytes than the ", entry.size,
                " it declares");
  content.resize(static_cast<size_t>(entry.size));
  return content;
}

std::string write_zip_archive(const std::vector<std::pair<std::string, std::string>>& entries) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* buffer = zip_source_buffer_create(nullptr, 0, 0, &error);
  CITADEL_CHECK(buffer != nullptr, InternalError, "zip: ", libzip_message(&error));
  zip_t* archive = zip_open_from_source(buffer, ZIP_TRUNCATE, &error);
  if (archive == nullptr) {
    zip_source_free(buffer);
    throw InternalError("zip: " + libzip_message(&error));
  }
  zip_error_fini(&error);
  zip_source_keep(buffer);  // read back after zip_close
  std::unique_ptr<zip_source_t, decltype(&zip_source_free)> kept(buffer, &zip_source_free);
  for (const auto& [name, content] : entries) {
    zip_source_t* data = zip_source_buffer(archive, content.data(), content.size(), 0);
    const zip_int64_t index = data == nullptr ? -1 : zip_file_add(archive, name.c_str(), data, ZIP_FL_ENC_UTF_8);
    if (index < 0) {
      if (data != nullptr) zip_source_free(data);
      const std::string message = zip_strerror(archive);
      zip_discard(archive);
      throw InternalError("zip: cannot add " + name + ": " + message);
    }
    zip_set_file_compression(archive, static_cast<zip_uint64_t>(index), ZIP_CM_STORE, 0);
  }
  if (zip_close(archive) != 0) {
    const std::string message = zip_strerror(archive);
    zip_discard(archive);
    throw InternalError("zip: cannot write the archive: " + message);
  }
  zip_stat_t stat;
  CITADEL_CHECK(zip_source_stat(buffer, &stat) == 0 && (stat.valid & ZIP_STAT_SIZE), InternalError,
                "zip: cannot size the archive");
  std::string bytes(static_cast<size_t>(stat.size), '\0');
  CITADEL_CHECK(zip_source_open(buffer) == 0, InternalError, "zip: cannot read the archive back");
  const zip_int64_t read = zip_source_read(buffer, bytes.data(), bytes.size());
  zip_source_close(buffer);
  CITADEL_CHECK(read == static_cast<zip_int64_t>(bytes.size()), InternalError, "zip: short read of the archive");
  return bytes;
}

}  // namespace citadel::detail
