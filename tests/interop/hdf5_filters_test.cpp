// HDF5's filters as citadel undoes them (src/interop/hdf5_filters.hpp): a chunk comes back
// to exactly its size or is refused, a deflate stream is stopped at the first byte past
// it, and the checksum is HDF5's. (Files h5py wrote with these filters are read in
// keras_import_test: chunked.keras, checksum_mismatch.weights.h5.)
#include <gtest/gtest.h>
#include <zlib.h>

#include <random>

#include "../../src/interop/hdf5_filters.hpp"
#include "citadel/core/error.hpp"

namespace citadel::detail {
namespace hdf5_filters_test {
namespace {

using Bytes = std::vector<unsigned char>;

Bytes deflated(const Bytes& data) {
  uLongf size = compressBound(data.size());
  Bytes out(size);
  EXPECT_EQ(compress2(out.data(), &size, data.data(), data.size(), 9), Z_OK);
  out.resize(size);
  return out;
}

Bytes random_bytes(size_t size, unsigned seed) {
  std::mt19937 engine(seed);
  Bytes bytes(size);
  for (auto& b : bytes) b = static_cast<unsigned char>(engine());
  return bytes;
}

std::string refusal(const Bytes& stored, const std::vector<FilterStep>& pipeline, size_t nominal,
                    uint32_t skipped = 0) {
  try {
    undo_filters(stored, pipeline, skipped, nominal, 4, "w.h5: dataset d");
  } catch (const IoError& e) {
    return e.what();
  }
  return "";
}

const std::vector<FilterStep> kDeflate = {{kFilterDeflate, {9}}};

TEST(Hdf5Filters, DeflateComesBackToExactlyTheChunk) {
  const Bytes data = random_bytes(400, 1);
  EXPECT_EQ(undo_filters(deflated(data), kDeflate, 0, 400, 4, "w.h5"), data);
}

TEST(Hdf5Filters, AStreamLongerThanTheChunkIsStoppedAtTheFirstByteBeyond) {
  // 64 MiB of zeros (64 kB deflated) for a 400-byte chunk: refused without inflating it.
  const Bytes bomb = deflated(Bytes(64 << 20, 0));
  EXPECT_NE(refusal(bomb, kDeflate, 400).find("w.h5: dataset d: a chunk inflates past its 400 bytes"),
            std::string::npos);
  EXPECT_NE(refusal(deflated(Bytes(401, 7)), kDeflate, 400).find("inflates past its 400 bytes"), std::string::npos);
}

TEST(Hdf5Filters, AShortOrDamagedStreamIsRefused) {
  EXPECT_NE(refusal(deflated(Bytes(396, 7)), kDeflate, 400).find("inflates to 396 bytes where its size is 400"),
            std::string::npos);
  Bytes cut = deflated(random_bytes(400, 2));
  cut.resize(cut.size() / 2);
  EXPECT_NE(refusal(cut, kDeflate, 400).find("damaged or truncated"), std::string::npos);
  EXPECT_NE(refusal(random_bytes(100, 3), kDeflate, 400).find("damaged or truncated"), std::string::npos);
}

TEST(Hdf5Filters, ShuffleRegroupsEachElementsBytes) {
  // Two 4-byte elements, stored by byte plane: all first bytes, all second bytes, ...
  const Bytes shuffled = {0x11, 0x21, 0x12, 0x22, 0x13, 0x23, 0x14, 0x24};
  const Bytes elements = {0x11, 0x12, 0x13, 0x14, 0x21, 0x22, 0x23, 0x24};
  EXPECT_EQ(undo_filters(shuffled, {{kFilterShuffle, {4}}}, 0, 8, 4, "w.h5"), elements);
  // Shuffled, then deflated (h5py's order): undone in reverse.
  EXPECT_EQ(undo_filters(deflated(shuffled), {{kFilterShuffle, {4}}, {kFilterDeflate, {4}}}, 0, 8, 4, "w.h5"),
            elements);
}

// Fletcher-32 as its definition gives it: both sums modulo 65535 over big-endian 16-bit
// words, an odd last byte as the high half of a word.
uint32_t textbook_fletcher32(const Bytes& data) {
  uint64_t sum1 = 0, sum2 = 0;
  for (size_t i = 0; i < data.size(); i += 2) {
    const uint64_t word = (uint64_t{data[i]} << 8) | (i + 1 < data.size() ? data[i + 1] : 0);
    sum1 = (sum1 + word) % 65535;
    sum2 = (sum2 + sum1) % 65535;
  }
  return static_cast<uint32_t>((sum2 << 16) | sum1);
}

TEST(Hdf5Filters, Fletcher32IsTheTextbookSumOverBigEndianWords) {
  // Lengths across HDF5's 360-word folding blocks, odd and even.
  for (const size_t size : {1, 2, 3, 719, 720, 721, 1440, 5001, 40000})
    for (unsigned seed = 0; seed < 3; ++seed) {
      const Bytes data = random_bytes(size, seed + 10 * static_cast<unsigned>(size));
      EXPECT_EQ(hdf5_fletcher32(data.data(), data.size()), textbook_fletcher32(data)) << size;
    }
}

Bytes with_checksum(Bytes data, uint32_t sum) {
  for (int i = 0; i < 4; ++i) data.push_back(static_cast<unsigned char>(sum >> (8 * i)));  // little-endian
  return data;
}

TEST(Hdf5Filters, AChunkFailingItsChecksumIsRefused) {
  const Bytes data = random_bytes(400, 4);
  const std::vector<FilterStep> pipeline = {{kFilterFletcher32, {}}};
  const uint32_t sum = hdf5_fletcher32(data.data(), data.size());
  EXPECT_EQ(undo_filters(with_checksum(data, sum), pipeline, 0, 400, 4, "w.h5"), data);
  Bytes damaged = with_checksum(data, sum);
  damaged[17] ^= 1;
  EXPECT_NE(refusal(damaged, pipeline, 400).find("fails its Fletcher-32 checksum"), std::string::npos);
}

TEST(Hdf5Filters, AFilterTheChunkSkippedIsNotUndone) {
  const Bytes data = random_bytes(400, 5);
  EXPECT_EQ(undo_filters(data, kDeflate, 1u, 400, 4, "w.h5"), data);  // bit 0: deflate skipped
  EXPECT_NE(refusal(Bytes(10, 0), kDeflate, 400, 1u).find("holds 10 bytes where its size is 400"), std::string::npos);
}

TEST(Hdf5Filters, AnUnknownFilterIsRefused) {
  EXPECT_NE(refusal(Bytes(400, 0), {{32001, {}}}, 400).find("filter 32001 is not read"), std::string::npos);
}

}  // namespace
}  // namespace hdf5_filters_test
}  // namespace citadel::detail
