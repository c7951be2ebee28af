// HDF5 files (Keras's weights) opened from bytes in memory with libhdf5's core driver, and
// written to bytes the same way. Reading treats the file as hostile, and runs only in the
// sandboxed child (hdf5_sandbox.hpp): only hard links are followed (an external link would
// open another file), datasets must be floating point with their data inside this file (no
// external or virtual storage), their shapes are read before their data, so callers check
// them against the architecture first, and their layout and filters are checked before
// anything is inflated, by citadel (hdf5_filters.hpp), never past the planned size.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace citadel::detail {

class Hdf5Reader {
 public:
  // IoError naming `source` when `bytes` is not an HDF5 file.
  Hdf5Reader(std::string_view bytes, std::string source);
  ~Hdf5Reader();
  Hdf5Reader(const Hdf5Reader&) = delete;
  Hdf5Reader& operator=(const Hdf5Reader&) = delete;

  const std::string& source() const { return source_; }
  // Whether `path` ("layers/dense/vars/0") names a group or dataset reached by hard links.
  bool exists(const std::string& path) const;
  bool is_dataset(const std::string& path) const;
  // The names directly inside a group (at most `max_count`, else IoError).
  std::vector<std::string> children(const std::string& group, int64_t max_count = 100'000) const;
  // A floating-point dataset's dimensions (IoError naming it otherwise).
  std::vector<int64_t> dataset_shape(const std::string& path) const;
  // A weight's storage checked before any of it is read (IoError naming the dataset): its
  // type a 32- or 64-bit IEEE float; its layout compact, contiguous with exactly its
  // elements' bytes stored, or chunked with chunks of at most its element count, every
  // chunk of the grid stored once, and only the filters deflate (once), shuffle and
  // Fletcher-32.
  void check_weight_storage(const std::string& path) const;
  // Its values as float32, into exactly as many floats as its shape holds, after
  // check_weight_storage; chunks are read raw and their filters undone by citadel.
  void read_floats(const std::string& path, std::span<float> values) const;
  // A string attribute of a group or dataset ("/" is the root): one string, or the list a
  // 1-D string attribute holds; nullopt when absent. At most `max_bytes` in all.
  std::optional<std::vector<std::string>> string_attribute(const std::string& path, const std::string& name,
                                                           int64_t max_bytes = 16 << 20) const;

 private:
  int64_t open_object(const std::string& path) const;  // an hid_t, after checking every link
  void read_chunks(int64_t dataset, const std::string& path, std::span<float> values) const;
  std::string source_;
  size_t image_bytes_ = 0;
  int64_t file_ = -1;
};

// Held by every use of libhdf5 in this process (the writer below), so that no two threads
// are inside libhdf5 at once.
std::mutex& hdf5_library_lock();

class Hdf5Writer {
 public:
  Hdf5Writer();
  ~Hdf5Writer();
  Hdf5Writer(const Hdf5Writer&) = delete;
  Hdf5Writer& operator=(const Hdf5Writer&) = delete;

  // Groups along the path are created as needed.
  void create_group(const std::string& path);
  void write_floats(const std::string& path, const std::vector<int64_t>& shape, std::span<const float> values);
  void set_string_attribute(const std::string& path, const std::string& name, const std::string& value);
  // The file as bytes (the writer stays usable).
  std::string bytes();

 private:
  std::unique_lock<std::mutex> lock_;
  int64_t file_ = -1;
};

}  // namespace citadel::detail
