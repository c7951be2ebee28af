// HDF5 in memory through libhdf5's core driver (no file is ever opened by name).
#include "hdf5_image.hpp"

#include <hdf5.h>

#include <mutex>

#include "citadel/core/error.hpp"
#include "hdf5_handle.hpp"

namespace citadel::detail {

namespace {

// libhdf5 prints its error stack to stderr by default (per thread, in its thread-safe
// build); citadel reports errors itself.
void quiet_hdf5() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

std::vector<std::string> path_parts(const std::string& path) {
  std::vector<std::string> parts;
  std::string part;
  for (const char c : path) {
    if (c == '/') {
      if (!part.empty()) parts.push_back(part);
      part.clear();
    } else {
      part += c;
    }
  }
  if (!part.empty()) parts.push_back(part);
  return parts;
}

hid_t core_access(size_t increment) {
  const hid_t access = H5Pcreate(H5P_FILE_ACCESS);
  CITADEL_CHECK(access >= 0 && H5Pset_fapl_core(access, increment, 0) >= 0, InternalError,
                "HDF5: cannot set up the in-memory driver");
  return access;
}

}  // namespace

std::mutex& hdf5_library_lock() {
  static std::mutex lock;
  return lock;
}

Hdf5Reader::Hdf5Reader(std::string_view bytes, std::string source)
    : source_(std::move(source)), image_bytes_(bytes.size()) {
  quiet_hdf5();
  // A dataset naming a filter libhdf5 does not have would make it look for a plugin on disk.
  H5PLset_loading_state(0);
  static const char kSignature[] = "\x89HDF\r\n\x1a\n";
  CITADEL_CHECK(bytes.size() >= 8 && bytes.substr(0, 8) == std::string_view(kSignature, 8), IoError, source_,
                ": not an HDF5 file (it does not start with HDF5's signature)");
  Handle access(core_access(1 << 20));
  CITADEL_CHECK(H5Pset_file_image(access.get(), const_cast<char*>(bytes.data()), bytes.size()) >= 0, IoError,
                source_, ": HDF5 cannot take the file's bytes");
  // The name is only a label: with a file image the core driver reads nothing from disk (it
  // only checks, with an open the sandbox answers "no such file", that no file of that name
  // exists). Absolute, so that libhdf5 does not ask for the working directory.
  file_ = H5Fopen("/citadel-in-memory.h5", H5F_ACC_RDONLY, access.get());
  CITADEL_CHECK(file_ >= 0, IoError, source_, ": not a readable HDF5 file (damaged or truncated)");
}

Hdf5Reader::~Hdf5Reader() {
  if (file_ >= 0) H5Fclose(file_);
}

int64_t Hdf5Reader::open_object(const std::string& path) const {
  std::string prefix;
  for (const std::string& part : path_parts(path)) {
    prefix += "/" + part;
    if (H5Lexists(file_, prefix.c_str(), H5P_DEFAULT) <= 0) return -1;
    H5L_info_t info;
    CITADEL_CHECK(H5Lget_info(file_, prefix.c_str(), &info, H5P_DEFAULT) >= 0, IoError, source_, ": cannot read the link ",
                  prefix);
    CITADEL_CHECK(info.type == H5L_TYPE_HARD, IoError, source_, ": ", prefix,
                  " is a soft or external link; only objects inside the file are read");
  }
  return H5Oopen(file_, prefix.empty() ? "/" : prefix.c_str(), H5P_DEFAULT);
}

bool Hdf5Reader::exists(const std::string& path) const {
  Handle object(open_object(path));
  return object.valid();
}

bool Hdf5Reader::is_dataset(const std::string& path) const {
  Handle object(open_object(path));
  return object.valid() && H5Iget_type(object.get()) == H5I_DATASET;
}

std::vector<std::string> Hdf5Reader::children(const std::string& group, int64_t max_count) const {
  Handle object(open_object(group));
  CITADEL_CHECK(object.valid() && H5Iget_type(object.get()) == H5I_GROUP, IoError, source_, ": has no group ", group);
  H5G_info_t info;
  CITADEL_CHECK(H5Gget_info(object.get(), &info) >= 0, IoError, source_, ": cannot list ", group);
  CITADEL_CHECK(info.nlinks <= static_cast<hsize_t>(max_count), IoError, source_, ": ", group, " holds ", info.nlinks,
                " entries, more than the ", max_count, " expected");
  std::vector<std::string> names;
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    const ssize_t length = H5Lget_name_by_idx(object.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    CITADEL_CHECK(length >= 0 && length < 4096, IoError, source_, ": an entry of ", group, " has no readable name");
    std::string name(static_cast<size_t>(length) + 1, '\0');
    H5Lget_name_by_idx(object.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(), name.size(), H5P_DEFAULT);
    name.resize(static_cast<size_t>(length));
    names.push_back(std::move(name));
  }
  return names;
}

std::vector<int64_t> Hdf5Reader::dataset_shape(const std::string& path) const {
  Handle dataset(open_object(path));
  CITADEL_CHECK(dataset.valid() && H5Iget_type(dataset.get()) == H5I_DATASET, IoError, source_, ": has no dataset ",
                path);
  Handle type(H5Dget_type(dataset.get()));
  CITADEL_CHECK(type.valid() && H5Tget_class(type.get()) == H5T_FLOAT, IoError, source_, ": dataset ", path,
                " is not floating point; weights are");
  Handle creation(H5Dget_create_plist(dataset.get()));
  CITADEL_CHECK(creation.valid() && H5Pget_external_count(creation.get()) == 0, IoError, source_, ": dataset ", path,
                " keeps its data in an external file; refused (only data inside the file is read)");
  const H5D_layout_t layout = H5Pget_layout(creation.get());
  CITADEL_CHECK(layout == H5D_COMPACT || layout == H5D_CONTIGUOUS || layout == H5D_CHUNKED, IoError, source_,
                ": dataset ", path, " is virtual (made of other files' data); refused");
  Handle space(H5Dget_space(dataset.get()));
  const int rank = space.valid() ? H5Sget_simple_extent_ndims(space.get()) : -1;
  CITADEL_CHECK(rank >= 0 && rank <= 8, IoError, source_, ": dataset ", path, " has an unreadable or too deep shape");
  hsize_t dims[8] = {};
  H5Sget_simple_extent_dims(space.get(), dims, nullptr);
  std::vector<int64_t> shape;
  for (int i = 0; i < rank; ++i) {
    CITADEL_CHECK(dims[i] <= (hsize_t{1} << 40), IoError, source_, ": dataset ", path, " declares a dimension of ",
                  dims[i]);
    shape.push_back(static_cast<int64_t>(dims[i]));
  }
  return shape;
}

std::optional<std::vector<std::string>> Hdf5Reader::string_attribute(const std::string& path, const std::string& name,
                                                                     int64_t max_bytes) const {
  Handle object(open_object(path));
  CITADEL_CHECK(object.valid(), IoError, source_, ": has no object ", path);
  if (H5Aexists(object.get(), name.c_str()) <= 0) return std::nullopt;
  const std::string where = source_ + ": attribute '" + name + "' of " + path;
  Handle attribute(H5Aopen(object.get(), name.c_str(), H5P_DEFAULT));
  Handle type(attribute.valid() ? H5Aget_type(attribute.get()) : -1);
  Handle space(attribute.valid() ? H5Aget_space(attribute.get()) : -1);
  CITADEL_CHECK(type.valid() && space.valid(), IoError, where, " cannot be read");
  const int rank = H5Sget_simple_extent_ndims(space.get());
  const hssize_t count = H5Sget_simple_extent_npoints(space.get());
  // An empty list is written by h5py as a float array: it names nothing.
  if (count == 0) return std::vector<std::string>{};
  CITADEL_CHECK(H5Tget_class(type.get()) == H5T_STRING, IoError, where, " is not text");
  CITADEL_CHECK(rank <= 1 && count > 0 && count <= max_bytes, IoError, where, " has an unexpected shape");
  std::vector<std::string> strings;
  if (H5Tis_variable_str(type.get()) > 0) {
    Handle memory(H5Tcopy(H5T_C_S1));
    H5Tset_size(memory.get(), H5T_VARIABLE);
    H5Tset_cset(memory.get(), H5Tget_cset(type.get()));
    std::vector<char*> pointers(static_cast<size_t>(count), nullptr);
    CITADEL_CHECK(H5Aread(attribute.get(), memory.get(), pointers.data()) >= 0, IoError, where, " cannot be read");
    int64_t total = 0;
    for (char* text : pointers) {
      const std::string value = text == nullptr ? "" : text;
      total += static_cast<int64_t>(value.size());
      strings.push_back(value);
    }
    H5Dvlen_reclaim(memory.get(), space.get(), H5P_DEFAULT, pointers.data());
    CITADEL_CHECK(total <= max_bytes, IoError, where, " holds more than ", max_bytes, " bytes");
  } else {
    const size_t size = H5Tget_size(type.get());
    CITADEL_CHECK(size > 0 && static_cast<int64_t>(size) * count <= max_bytes, IoError, where, " holds more than ",
                  max_bytes, " bytes");
    std::string raw(size * static_cast<size_t>(count), '\0');
    Handle memory(H5Tcopy(type.get()));
    CITADEL_CHECK(H5Aread(attribute.get(), memory.get(), raw.data()) >= 0, IoError, where, " cannot be read");
    for (hssize_t i = 0; i < count; ++i) {
      std::string value = raw.substr(static_cast<size_t>(i) * size, size);
      value.resize(value.find('\0') == std::string::npos ? value.size() : value.find('\0'));  // null-padded
      strings.push_back(std::move(value));
    }
  }
  return strings;
}

Hdf5Writer::Hdf5Writer() : lock_(hdf5_library_lock()) {
  quiet_hdf5();
  Handle access(core_access(1 << 20));
  // backing_store 0: the file lives in memory only; bytes() takes its image.
  file_ = H5Fcreate("citadel-in-memory.h5", H5F_ACC_TRUNC, H5P_DEFAULT, access.get());
  CITADEL_CHECK(file_ >= 0, InternalError, "HDF5: cannot create a file in memory");
}

Hdf5Writer::~Hdf5Writer() {
  if (file_ >= 0) H5Fclose(file_);
}

void Hdf5Writer::create_group(const std::string& path) {
  std::string prefix;
  for (const std::string& part : path_parts(path)) {
    prefix += "/" + part;
    if (H5Lexists(file_, prefix.c_str(), H5P_DEFAULT) > 0) continue;
    Handle group(H5Gcreate2(file_, prefix.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    CITADEL_CHECK(group.valid(), InternalError, "HDF5: cannot create the group ", prefix);
  }
}

void Hdf5Writer::write_floats(const std::string& path, const std::vector<int64_t>& shape,
                              std::span<const float> values) {
  const size_t slash = path.rfind('/');
  if (slash != std::string::npos) create_group(path.substr(0, slash));
  std::vector<hsize_t> dims(shape.begin(), shape.end());
  Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr));
  Handle dataset(H5Dcreate2(file_, ("/" + path).c_str(), H5T_IEEE_F32LE, space.get(), H5P_DEFAULT, H5P_DEFAULT,
                            H5P_DEFAULT));
  CITADEL_CHECK(dataset.valid() &&
                    H5Dwrite(dataset.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) >= 0,
                InternalError, "HDF5: cannot write the dataset ", path);
}

void Hdf5Writer::set_string_attribute(const std::string& path, const std::string& name, const std::string& value) {
  Handle object(H5Oopen(file_, path.empty() ? "/" : ("/" + path).c_str(), H5P_DEFAULT));
  Handle type(H5Tcopy(H5T_C_S1));
  H5Tset_size(type.get(), H5T_VARIABLE);
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  Handle space(H5Screate(H5S_SCALAR));
  Handle attribute(H5Acreate2(object.get(), name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT));
  const char* text = value.c_str();
  CITADEL_CHECK(attribute.valid() && H5Awrite(attribute.get(), type.get(), &text) >= 0, InternalError,
                "HDF5: cannot write the attribute ", name, " of ", path);
}

std::string Hdf5Writer::bytes() {
  CITADEL_CHECK(H5Fflush(file_, H5F_SCOPE_GLOBAL) >= 0, InternalError, "HDF5: cannot flush the file");
  const ssize_t size = H5Fget_file_image(file_, nullptr, 0);
  CITADEL_CHECK(size > 0, InternalError, "HDF5: cannot size the file image");
  std::string image(static_cast<size_t>(size), '\0');
  CITADEL_CHECK(H5Fget_file_image(file_, image.data(), image.size()) == size, InternalError,
                "HDF5: cannot copy the file image");
  return image;
}

}  // namespace citadel::detail
