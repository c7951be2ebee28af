// IDX files, the format of MNIST and Fashion-MNIST (gzip-compressed or plain), and the
// Fashion-MNIST data set as Debian's dataset-fashion-mnist package installs it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "citadel/core/tensor.hpp"

namespace citadel {

// Reads an IDX file of unsigned bytes; the tensor has the file's dimensions and the
// values 0..255. The declared dimensions are checked against `max_values` before anything
// is decompressed, and against the data actually present before the tensor is allocated
// (memory grows with the bytes that arrive, not with what the header promises).
Tensor read_idx(const std::string& path, int64_t max_values = int64_t{1} << 28);

struct ImageDataset {
  Tensor x_train, y_train;  // (60000, 28, 28, 1) pixels 0..255, (60000) class indices
  Tensor x_test, y_test;    // the official test split: (10000, 28, 28, 1), (10000)
  std::vector<std::string> classes;
};

inline constexpr const char* kFashionMnistDirectory = "/usr/share/datasets/fashion-mnist";

// Loads Fashion-MNIST from `directory` (train-images-idx3-ubyte.gz and its three
// siblings); throws IoError saying to install dataset-fashion-mnist when absent.
ImageDataset load_fashion_mnist(const std::string& directory = kFashionMnistDirectory);

}  // namespace citadel
