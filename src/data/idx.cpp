// IDX reading (http://yann.lecun.com/exdb/mnist/, "file formats"): magic 0, 0, type,
// rank; big-endian 32-bit dimensions; then the data. Hostile files are expected: the
// header is validated and the dimensions must account for exactly the bytes present.
#include "citadel/data/idx.hpp"

#include <zlib.h>

#include <filesystem>
#include <memory>

#include "citadel/core/error.hpp"

namespace citadel {
namespace {

// The whole file, gunzipped when it is gzip (zlib reads plain files as they are).
std::vector<unsigned char> read_bytes(const std::string& path, int64_t max_bytes) {
  CITADEL_CHECK(std::filesystem::is_regular_file(path), IoError, path, ": cannot open the file (does it exist?)");
  std::unique_ptr<gzFile_s, int (*)(gzFile)> file(gzopen(path.c_str(), "rb"), gzclose);
  CITADEL_CHECK(file != nullptr, IoError, path, ": cannot open the file");
  std::vector<unsigned char> bytes;
  unsigned char buffer[1 << 16];
  while (true) {
    const int n = gzread(file.get(), buffer, sizeof buffer);
    if (n < 0) {
      int code = 0;
      const char* message = gzerror(file.get(), &code);
      throw IoError(path + ": not a readable gzip or IDX file (" + message + ")");
    }
    if (n == 0) break;
    CITADEL_CHECK(int64_t(bytes.size()) + n <= max_bytes, IoError, path, ": expands to more than ", max_bytes,
                  " bytes; refusing it");
    bytes.insert(bytes.end(), buffer, buffer + n);
  }
  return bytes;
}

uint32_t big_endian(const unsigned char* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

}  // namespace

Tensor read_idx(const std::string& path, int64_t max_bytes) {
  const std::vector<unsigned char> bytes = read_bytes(path, max_bytes);
  CITADEL_CHECK(bytes.size() >= 4 && bytes[0] == 0 && bytes[1] == 0, IoError, path,
                ": not an IDX file (it must start with two zero bytes, a type and a rank)");
  CITADEL_CHECK(bytes[2] == 0x08, IoError, path, ": IDX data type 0x", std::hex, int(bytes[2]),
                " is not supported; only unsigned bytes (0x08) are");
  const int rank = bytes[3];
  CITADEL_CHECK(rank >= 1 && rank <= 4, IoError, path, ": IDX rank ", rank, " is not between 1 and 4");
  const size_t header = 4 + 4 * size_t(rank);
  CITADEL_CHECK(bytes.size() >= header, IoError, path, ": truncated IDX header");
  std::vector<int64_t> dims;
  int64_t count = 1;
  for (int i = 0; i < rank; ++i) {
    dims.push_back(big_endian(&bytes[4 + 4 * i]));
    CITADEL_CHECK(!__builtin_mul_overflow(count, dims.back(), &count), IoError, path, ": IDX dimensions overflow");
  }
  CITADEL_CHECK(count == int64_t(bytes.size() - header), IoError, path, ": the IDX dimensions promise ", count,
                " bytes of data but the file holds ", bytes.size() - header);
  Tensor tensor{Shape(dims)};
  for (int64_t i = 0; i < count; ++i) tensor[i] = bytes[header + i];
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
