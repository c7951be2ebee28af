// A weight dataset's storage checked against its shape before anything of it is inflated,
// then read: compact and contiguous data through libhdf5 (nothing to inflate), chunks raw,
// their filters undone by citadel into buffers of exactly the chunk's size.
#include <hdf5.h>

#include <algorithm>
#include <cstring>

#include "citadel/core/error.hpp"
#include "hdf5_filters.hpp"
#include "hdf5_handle.hpp"
#include "hdf5_image.hpp"

namespace citadel::detail {

namespace {

constexpr int kMaxRank = 8;

struct FloatType {
  size_t size = 4;
  bool big_endian = false;
};

// What a weight dataset stores and how, every part checked.
struct Storage {
  H5D_layout_t layout = H5D_CONTIGUOUS;
  FloatType type;
  std::vector<hsize_t> dims, chunk;
  int64_t count = 1;                  // elements of the dataset
  int64_t chunk_count = 0;            // chunks of the grid
  std::vector<FilterStep> filters;    // chunked only
};

FloatType float_type(hid_t type, const std::string& where) {
  const struct {
    hid_t type;
    FloatType layout;
  } known[] = {{H5T_IEEE_F32LE, {4, false}}, {H5T_IEEE_F32BE, {4, true}},
               {H5T_IEEE_F64LE, {8, false}}, {H5T_IEEE_F64BE, {8, true}}};
  for (const auto& candidate : known)
    if (H5Tequal(type, candidate.type) > 0) return candidate.layout;
  throw IoError(where + " holds " + std::to_string(H5Tget_size(type) * 8) +
                "-bit floats of a layout other than IEEE single or double precision; weights are read as those");
}

std::vector<FilterStep> filter_pipeline(hid_t creation, size_t element_size, const std::string& where) {
  const int count = H5Pget_nfilters(creation);
  CITADEL_CHECK(count >= 0 && count <= 3, IoError, where, " has ", count,
                " filters; at most deflate, shuffle and Fletcher-32 are read");
  std::vector<FilterStep> pipeline;
  int deflates = 0;
  for (int i = 0; i < count; ++i) {
    unsigned flags = 0, config = 0;
    size_t parameter_count = 8;
    unsigned parameters[8] = {};
    char name[64] = {};
    const H5Z_filter_t id =
        H5Pget_filter2(creation, static_cast<unsigned>(i), &flags, &parameter_count, parameters, sizeof name, name, &config);
    CITADEL_CHECK(id == kFilterDeflate || id == kFilterShuffle || id == kFilterFletcher32, IoError, where,
                  " is stored through filter ", id, (id >= 0 && name[0] ? " ('" + std::string(name) + "')" : ""),
                  "; only deflate, shuffle and Fletcher-32 are read");
    CITADEL_CHECK(id != kFilterDeflate || ++deflates == 1, IoError, where,
                  " is deflated more than once (a compression bomb?); refused");
    FilterStep step{static_cast<int>(id), {}};
    step.parameters.assign(parameters, parameters + std::min<size_t>(parameter_count, 8));
    if (id == kFilterShuffle)
      CITADEL_CHECK(!step.parameters.empty() && step.parameters[0] == element_size, IoError, where,
                    " is shuffled for elements of another size than its own ", element_size, " bytes");
    pipeline.push_back(std::move(step));
  }
  return pipeline;
}

Storage storage_of(hid_t dataset, const std::string& where) {
  Storage storage;
  Handle type(H5Dget_type(dataset));
  CITADEL_CHECK(type.valid(), IoError, where, " has no readable type");
  storage.type = float_type(type.get(), where);
  Handle space(H5Dget_space(dataset));
  const int rank = space.valid() ? H5Sget_simple_extent_ndims(space.get()) : -1;
  CITADEL_CHECK(rank >= 0 && rank <= kMaxRank, IoError, where, " has an unreadable or too deep shape");
  storage.dims.assign(static_cast<size_t>(rank), 0);
  H5Sget_simple_extent_dims(space.get(), storage.dims.data(), nullptr);
  for (const hsize_t dim : storage.dims)
    CITADEL_CHECK(dim <= (hsize_t{1} << 40) &&
                      !__builtin_mul_overflow(storage.count, static_cast<int64_t>(dim), &storage.count),
                  IoError, where, " declares a dimension of ", dim);
  const int64_t bytes = storage.count * static_cast<int64_t>(storage.type.size);
  Handle creation(H5Dget_create_plist(dataset));
  CITADEL_CHECK(creation.valid(), IoError, where, " has no readable storage properties");
  storage.layout = H5Pget_layout(creation.get());
  if (storage.layout == H5D_COMPACT || storage.layout == H5D_CONTIGUOUS) {
    CITADEL_CHECK(H5Pget_nfilters(creation.get()) == 0, IoError, where, " is filtered without chunks; refused");
    const hsize_t stored = H5Dget_storage_size(dataset);
    CITADEL_CHECK(static_cast<int64_t>(stored) == bytes, IoError, where, " stores ", stored, " bytes where its ",
                  storage.count, " values take ", bytes);
    return storage;
  }
  CITADEL_CHECK(storage.layout == H5D_CHUNKED, IoError, where, " has a storage layout that is not read (",
                static_cast<int>(storage.layout), ")");
  storage.chunk.assign(static_cast<size_t>(rank), 0);
  CITADEL_CHECK(rank > 0 && H5Pget_chunk(creation.get(), rank, storage.chunk.data()) == rank, IoError, where,
                " has chunks of another rank than its own");
  int64_t chunk_elements = 1;
  bool overflow = false;
  storage.chunk_count = 1;
  for (int i = 0; i < rank; ++i) {
    CITADEL_CHECK(storage.chunk[i] >= 1 && storage.chunk[i] <= (hsize_t{1} << 40), IoError, where,
                  " has a chunk dimension of ", storage.chunk[i]);
    overflow = overflow || __builtin_mul_overflow(chunk_elements, static_cast<int64_t>(storage.chunk[i]), &chunk_elements);
    storage.chunk_count *= static_cast<int64_t>((storage.dims[i] + storage.chunk[i] - 1) / storage.chunk[i]);
  }
  // A chunk larger than the dataset it holds is how a small weight inflates to gigabytes.
  CITADEL_CHECK(!overflow && chunk_elements <= storage.count, IoError, where, " is stored in chunks of ",
                overflow ? "more than 2^63" : std::to_string(chunk_elements), " values, more than its ", storage.count,
                " (a compression bomb?); refused before anything is inflated");
  storage.filters = filter_pipeline(creation.get(), storage.type.size, where);
  // libhdf5 1.10 wants the dataset's own space here and in H5Dget_chunk_info, not H5S_ALL.
  hsize_t stored_chunks = 0;
  CITADEL_CHECK(H5Dget_num_chunks(dataset, space.get(), &stored_chunks) >= 0, IoError, where,
                " has an unreadable chunk index");
  CITADEL_CHECK(static_cast<int64_t>(stored_chunks) == storage.chunk_count, IoError, where, " stores ",
                stored_chunks, " chunks where its shape takes ", storage.chunk_count);
  return storage;
}

float element(const unsigned char* at, const FloatType& type) {
  unsigned char bytes[8];
  std::memcpy(bytes, at, type.size);
  if (type.big_endian) std::reverse(bytes, bytes + type.size);
  if (type.size == 4) {
    float value;
    std::memcpy(&value, bytes, 4);
    return value;
  }
  double value;
  std::memcpy(&value, bytes, 8);
  return static_cast<float>(value);
}

// Copies the part of a chunk (at `offset`, row-major over `chunk`) that lies inside the
// dataset into `values`, row-major over `dims`.
void place_chunk(const std::vector<unsigned char>& bytes, const Storage& storage, const hsize_t* offset,
                 std::span<float> values) {
  const size_t rank = storage.dims.size();
  const hsize_t row = std::min(storage.chunk[rank - 1], storage.dims[rank - 1] - offset[rank - 1]);
  std::vector<hsize_t> local(rank, 0);  // the chunk row's index over the leading dimensions
  for (;;) {
    bool inside = true;
    size_t source = 0, target = 0;
    for (size_t d = 0; d < rank; ++d) {
      inside = inside && offset[d] + local[d] < storage.dims[d];
      source = source * storage.chunk[d] + local[d];
      target = target * storage.dims[d] + (offset[d] + local[d]);
    }
    if (inside)
      for (hsize_t i = 0; i < row; ++i) values[target + i] = element(&bytes[(source + i) * storage.type.size], storage.type);
    // The next row: the leading dimensions count like an odometer.
    size_t d = rank - 1;
    while (d-- > 0) {
      if (++local[d] < storage.chunk[d]) break;
      local[d] = 0;
    }
    if (d == static_cast<size_t>(-1)) return;
  }
}

}  // namespace

void Hdf5Reader::check_weight_storage(const std::string& path) const {
  dataset_shape(path);  // a floating-point dataset, data inside the file
  Handle dataset(open_object(path));
  storage_of(dataset.get(), source_ + ": dataset " + path);
}

void Hdf5Reader::read_floats(const std::string& path, std::span<float> values) const {
  dataset_shape(path);
  Handle dataset(open_object(path));
  const std::string where = source_ + ": dataset " + path;
  const Storage storage = storage_of(dataset.get(), where);
  CITADEL_CHECK(storage.count == static_cast<int64_t>(values.size()), IoError, where, " holds ", storage.count,
                " values, expected ", values.size());
  if (storage.count == 0) return;
  if (storage.layout != H5D_CHUNKED) {
    CITADEL_CHECK(H5Dread(dataset.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) >= 0,
                  IoError, where, " cannot be read (damaged)");
    return;
  }
  read_chunks(dataset.get(), path, values);
}

void Hdf5Reader::read_chunks(int64_t dataset, const std::string& path, std::span<float> values) const {
  const std::string where = source_ + ": dataset " + path;
  const Storage storage = storage_of(dataset, where);
  Handle space(H5Dget_space(dataset));
  const size_t rank = storage.dims.size();
  size_t nominal = storage.type.size;
  for (const hsize_t dim : storage.chunk) nominal *= dim;
  std::vector<bool> seen(static_cast<size_t>(storage.chunk_count), false);
  for (int64_t index = 0; index < storage.chunk_count; ++index) {
    hsize_t offset[kMaxRank] = {}, size = 0;
    unsigned mask = 0;
    haddr_t address = 0;
    CITADEL_CHECK(H5Dget_chunk_info(dataset, space.get(), static_cast<hsize_t>(index), offset, &mask, &address, &size) >= 0,
                  IoError, where, ": chunk ", index, " cannot be found");
    size_t cell = 0;
    for (size_t d = 0; d < rank; ++d) {
      CITADEL_CHECK(offset[d] % storage.chunk[d] == 0 && offset[d] < storage.dims[d], IoError, where, ": chunk ",
                    index, " lies off the dataset's chunk grid");
      cell = cell * static_cast<size_t>((storage.dims[d] + storage.chunk[d] - 1) / storage.chunk[d]) +
             static_cast<size_t>(offset[d] / storage.chunk[d]);
    }
    CITADEL_CHECK(!seen[cell], IoError, where, ": two chunks claim one place; refused");
    seen[cell] = true;
    // The size the raw read will fill, found by the same lookup H5Dread_chunk makes.
    hsize_t stored = 0;
    CITADEL_CHECK(H5Dget_chunk_storage_size(dataset, offset, &stored) >= 0 && stored > 0 && stored <= image_bytes_,
                  IoError, where, ": chunk ", index, " claims ", stored, " stored bytes in a file of ", image_bytes_);
    std::vector<unsigned char> raw(static_cast<size_t>(stored));
    uint32_t skipped = 0;
    CITADEL_CHECK(H5Dread_chunk(dataset, H5P_DEFAULT, offset, &skipped, raw.data()) >= 0, IoError, where, ": chunk ",
                  index, " cannot be read (damaged)");
    const std::vector<unsigned char> bytes =
        undo_filters(std::move(raw), storage.filters, skipped, nominal, storage.type.size, where);
    place_chunk(bytes, storage, offset, values);
  }
}

}  // namespace citadel::detail
