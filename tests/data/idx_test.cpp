// IDX reading: plain and gzip files written here, hostile headers refused, and the
// installed Fashion-MNIST when present.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "citadel/core/error.hpp"
#include "citadel/data/idx.hpp"

namespace idx_test {

using namespace citadel;
namespace fs = std::filesystem;

namespace {

fs::path write(const std::string& name, const std::string& bytes, bool gzip) {
  const fs::path path = fs::temp_directory_path() / ("citadel_idx_" + std::to_string(::getpid()) + "_" + name);
  if (gzip) {
    gzFile file = gzopen(path.c_str(), "wb");
    gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size()));
    gzclose(file);
  } else {
    std::ofstream(path, std::ios::binary) << bytes;
  }
  return path;
}

std::string idx(const std::string& dims, const std::string& data, char type = 0x08) {
  return std::string("\0\0", 2) + type + char(dims.size() / 4) + dims + data;
}

std::string error_of(const std::string& bytes) {
  try {
    read_idx(write("bad.idx", bytes, false).string());
  } catch (const IoError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Idx, ReadsPlainAndGzipFiles) {
  const std::string bytes = idx(std::string("\0\0\0\2\0\0\0\3", 8), std::string("\0\1\2\3\4\xFF", 6));
  for (bool gzip : {false, true}) {
    const Tensor t = read_idx(write(gzip ? "a.gz" : "a.idx", bytes, gzip).string());
    EXPECT_EQ(t.shape(), (Shape{2, 3}));
    EXPECT_EQ(t.to_vector(), (std::vector<float>{0, 1, 2, 3, 4, 255}));
  }
}

TEST(Idx, RefusesHostileHeaders) {
  EXPECT_NE(error_of("PK\3\4").find("not an IDX file"), std::string::npos);
  EXPECT_NE(error_of(idx(std::string("\0\0\0\2", 4), "ab", 0x0D)).find("not supported"), std::string::npos);
  // Dimensions that promise far more data than the file holds.
  EXPECT_NE(error_of(idx(std::string("\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF", 8), "abc")).find("IDX dimensions"),
            std::string::npos);
  EXPECT_NE(error_of(std::string("\0\0\x08\x09", 4)).find("rank 9"), std::string::npos);
  EXPECT_NE(error_of(idx(std::string("\0\0\0\3", 4), "ab")).find("promise 3 bytes"), std::string::npos);
}

TEST(Idx, RefusesGzipThatExpandsTooFar) {
  const std::string bytes = idx(std::string("\0\0\x10\0", 4), std::string(4096, '\0'));
  try {
    read_idx(write("bomb.gz", bytes, true).string(), 1000);
    FAIL();
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("more than the limit of 1000"), std::string::npos) << e.what();
  }
}

// A gzip bomb: a few kB that declare 60000 images of 1000×1000 pixels (6·10¹⁰ bytes, a
// 240 GB float tensor) and would expand to gigabytes of zeros. The declared size is refused
// from the header alone, before any data is decompressed or allocated.
TEST(Idx, DeclaredSizeIsCheckedBeforeDecompressing) {
  const std::string dims("\0\0\xEA\x60\0\0\x03\xE8\0\0\x03\xE8", 12);
  const fs::path bomb = write("declared_bomb.gz", idx(dims, std::string(1 << 20, '\0')), true);
  EXPECT_LT(fs::file_size(bomb), 10'000u);
  const auto start = std::chrono::steady_clock::now();
  try {
    read_idx(bomb.string());
    FAIL();
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("declare 60000000000 values"), std::string::npos) << e.what();
  }
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 0.5);
  // Data beyond what the dimensions declare is refused too.
  EXPECT_THROW(read_idx(write("extra.gz", idx(std::string("\0\0\0\2", 4), "abc"), true).string()), IoError);
}

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

// The peak resident memory (MB) of a child process that reads `path`, and whether it was
// refused with an IoError holding `expected`.
struct ChildRead {
  double peak_mb = 0;
  bool refused_as_expected = false;
};
ChildRead read_in_child(const fs::path& path, const std::string& expected) {
  const pid_t child = ::fork();
  if (child == 0) {
    try {
      read_idx(path.string());
    } catch (const IoError& e) {
      ::_exit(std::string(e.what()).find(expected) != std::string::npos ? 0 : 2);
    }
    ::_exit(1);
  }
  int status = 0;
  struct rusage usage {};
  ::wait4(child, &status, 0, &usage);
  return {double(usage.ru_maxrss) / 1024.0, WIFEXITED(status) && WEXITSTATUS(status) == 0};
}

// Issue 29: a 28-byte gzip whose header declares 2^28 values (within the cap) and holds no
// data made read_idx allocate and fill a 1 GiB tensor before it noticed. Memory now follows
// the bytes that arrive, and the tensor is allocated once they all have.
TEST(Idx, AHeaderPromisingDataThatIsNotThereCostsNothing) {
  const fs::path empty = write("promise.gz", idx(std::string("\x10\0\0\0", 4), ""), true);
  EXPECT_LE(fs::file_size(empty), 40u);
  const ChildRead run = read_in_child(empty, "promise 268435456 bytes of data but the file holds 0");
  EXPECT_TRUE(run.refused_as_expected);
  EXPECT_LT(run.peak_mb, 100) << "a header alone made the reader take " << run.peak_mb << " MB";
  // Half the promised data (64 MiB of 256): refused, having taken about what arrived.
  const fs::path half = write("half.gz", idx(std::string("\x10\0\0\0", 4), std::string(64 << 20, '\7')), true);
  const ChildRead partial = read_in_child(half, "promise 268435456 bytes of data but the file holds 67108864");
  EXPECT_TRUE(partial.refused_as_expected);
  EXPECT_LT(partial.peak_mb, kSanitized ? 600 : 300) << partial.peak_mb;  // ASan's shadow and quarantine
}

TEST(Idx, FashionMnistWhenInstalled) {
  if (!fs::exists(std::string(kFashionMnistDirectory) + "/train-images-idx3-ubyte.gz"))
    GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  const ImageDataset data = load_fashion_mnist();
  EXPECT_EQ(data.x_train.shape(), (Shape{60000, 28, 28, 1}));
  EXPECT_EQ(data.y_train.shape(), (Shape{60000}));
  EXPECT_EQ(data.x_test.shape(), (Shape{10000, 28, 28, 1}));
  EXPECT_EQ(data.classes.size(), 10u);
  int counts[10] = {};
  for (int64_t i = 0; i < 10000; ++i) ++counts[static_cast<int>(data.y_test[i])];
  for (int c : counts) EXPECT_EQ(c, 1000);  // the test split is balanced
}

TEST(Idx, MissingDataSetSaysWhatToInstall) {
  try {
    load_fashion_mnist("/nonexistent");
    FAIL();
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("dataset-fashion-mnist"), std::string::npos);
  }
}

}  // namespace idx_test
