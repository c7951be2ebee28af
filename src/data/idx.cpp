// IDX reading (http://yann.lecun.com/exdb/mnist/, "file formats"): magic 0, 0, type,
// rank; big-endian 32-bit dimensions; then the data. Hostile files are expected: the
// header is validated and the dimensions must account for exactly the bytes present,
// before the tensor they declare is allocated.
#include "citadel/data/idx.hpp"

#include <zlib.h>

#include <filesystem>
#include <memory>

#include "citadel/core/error.hpp"

namespace citadel {
namespace {

using GzFile = std::unique_ptr<gzFile_s, int (*)(gzFile)>;

// Reads exactly `size` bytes (or fewer at the end of the data); errors name the file.
size_t read_some(gzFile file, unsigned char* out, size_t size, const std::string& path) {
  size_t got = 0;
  while (got < size) {
    const int n = gzread(file, out + got, static_cast<unsigned>(std::min<size_t>(size - got, 1 << 20)));
    if (n < 0) {
      int code = 0;
      const char* message = gzerror(file, &code);
      throw IoError(path + ": not a readable gzip or IDX file (" + message + ")");
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  return got;
}

uint32_t big_endian(const unsigned char* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

}  // namespace

Tensor read_idx(const std::string& path, int64_t max_values) {
  CITADEL_CHECK(std::filesystem::is_regular_file(path), IoError, path, ": cannot open the file (does it exist?)");
  GzFile file(gzopen(path.c_str(), "rb"), gzclose);  // zlib reads plain files as they are
  CITADEL_CHECK(file != nullptr, IoError, path, ": cannot open the file");
  unsigned char header[4 + 4 * 4];
  CITADEL_CHECK(read_some(file.get(), header, 4, path) == 4 && header[0] == 0 && header[1] == 0, IoError, path,
                ": not an IDX file (it must start with two zero bytes, a type and a rank)");
  CITADEL_CHECK(header[2] == 0x08, IoError, path, ": IDX data type 0x", std::hex, int(header[2]),
                " is not supported; only unsigned bytes (0x08) are");
  const int rank = header[3];
  CITADEL_CHECK(rank >= 1 && rank <= 4, IoError, path, ": IDX rank ", rank, " is not between 1 and 4");
  CITADEL_CHECK(read_some(file.get(), header + 4, 4 * size_t(rank), path) == 4 * size_t(rank), IoError, path,
                ": truncated IDX header");
  // The declared size is checked before a byte of data is decompressed, so a small gzip
  // that promises gigabytes costs nothing.
  std::vector<int64_t> dims;
  int64_t count = 1;
  for (int i = 0; i < rank; ++i) {
    dims.push_back(big_endian(&header[4 + 4 * i]));
    CITADEL_CHECK(!__builtin_mul_overflow(count, dims.back(), &count), IoError, path, ": IDX dimensions overflow");
  }
  CITADEL_CHECK(count <= max_values, IoError, path, ": the IDX dimensions declare ", count,
                " values, more than the limit of ", max_values, "; refusing it");
  // The data is kept as bytes that grow with what really arrives (the vector's capacity
  // doubles, never touched ahead of the data), and the tensor is allocated only once all the
  // promised bytes are there: a 28-byte gzip promising 2^28 values costs nothing.
  std::vector<unsigned char> data;
  std::vector<unsigned char> chunk(1 << 16);
  while (static_cast<int64_t>(data.size()) < count) {
    const size_t want = static_cast<size_t>(std::min<int64_t>(count - static_cast<int64_t>(data.size()),
                                                              static_cast<int64_t>(chunk.size())));
    const size_t got = read_some(file.get(), chunk.data(), want, path);
    data.insert(data.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(got));
    CITADEL_CHECK(got == want, IoError, path, ": the IDX dimensions promise ", count,
                  " bytes of data but the file holds ", data.size());
  }
  unsigned char extra = 0;
  CITADEL_CHECK(read_some(file.get(), &extra, 1, path) == 0, IoError, path, ": the IDX dimensions promise ", count,
                " bytes of data but the file holds more");
  Tensor tensor{Shape(dims)};
  for (int64_t i = 0; i < count; ++i) tensor[i] = data[static_cast<size_t>(i)];
  return tensor;
}

ImageDataset load_fashion_mnist(const std::string& directory) {
  const std::filesystem::path root(directory);
  CITADEL_CHECK(std::filesystem::exists(root / "train-images-idx3-ubyte.gz"), IoError, directory,
                ": Fashion-MNIST is not there; install Debian's package dataset-fashion-mnist "
                "(scripts/setup does)");
  auto images = [&](const char* name) {
    Tensor x = read_idx((root / name).string());
    CITADEL_CHECK(x.rank() == 3, IoError, (root / name).string(), ": expected images (N, rows, columns), got ",
                  x.shape());
    x.reshape(Shape{x.shape(0), x.shape(1), x.shape(2), 1});  // channels-last, as Keras
    return x;
  };
  auto labels = [&](const char* name, int64_t rows) {
    Tensor y = read_idx((root / name).string());
    CITADEL_CHECK(y.rank() == 1 && y.shape(0) == rows, IoError, (root / name).string(), ": expected ", rows,
                  " labels, got shape ", y.shape());
    return y;
  };
  ImageDataset data;
  data.x_train = images("train-images-idx3-ubyte.gz");
  data.y_train = labels("train-labels-idx1-ubyte.gz", data.x_train.shape(0));
  data.x_test = images("t10k-images-idx3-ubyte.gz");
  data.y_test = labels("t10k-labels-idx1-ubyte.gz", data.x_test.shape(0));
  data.classes = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                  "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return data;
}

}  // namespace citadel
