// HDF5's deflate, shuffle and Fletcher-32 filters undone in bounded memory.
#include "hdf5_filters.hpp"

#include <zlib.h>

#include <algorithm>
#include <limits>

#include "citadel/core/error.hpp"

namespace citadel::detail {

namespace {

// The filter's zlib stream, inflated into exactly `nominal_bytes`: one byte more is an error
// before it is kept anywhere but a one-byte probe.
std::vector<unsigned char> inflate_bounded(const std::vector<unsigned char>& stored, size_t nominal_bytes,
                                           const std::string& where) {
  CITADEL_CHECK(stored.size() <= std::numeric_limits<uInt>::max() && nominal_bytes <= std::numeric_limits<uInt>::max(),
                IoError, where, ": a chunk of more than 4 GiB; refused");
  std::vector<unsigned char> out(nominal_bytes);
  z_stream stream{};
  CITADEL_CHECK(inflateInit(&stream) == Z_OK, IoError, where, ": zlib cannot start");
  stream.next_in = const_cast<Bytef*>(stored.data());
  stream.avail_in = static_cast<uInt>(stored.size());
  stream.next_out = out.data();
  stream.avail_out = static_cast<uInt>(out.size());
  int status = Z_OK;
  while (status == Z_OK && stream.avail_out > 0) status = inflate(&stream, Z_NO_FLUSH);
  bool past = false;
  if (status == Z_OK || (status == Z_BUF_ERROR && stream.avail_out == 0)) {
    // The chunk is full and the stream has not ended: anything more is past the plan.
    unsigned char probe = 0;
    stream.next_out = &probe;
    stream.avail_out = 1;
    status = inflate(&stream, Z_NO_FLUSH);
    past = stream.avail_out == 0;
  }
  const uLong total = stream.total_out;
  inflateEnd(&stream);
  CITADEL_CHECK(!past, IoError, where, ": a chunk inflates past its ", nominal_bytes,
                " bytes (a compression bomb?); refused at the first byte beyond");
  CITADEL_CHECK(status == Z_STREAM_END, IoError, where, ": a chunk's deflate stream is damaged or truncated (",
                total, " of ", nominal_bytes, " bytes)");
  CITADEL_CHECK(total == nominal_bytes, IoError, where, ": a chunk inflates to ", total, " bytes where its size is ",
                nominal_bytes);
  return out;
}

std::vector<unsigned char> unshuffle(const std::vector<unsigned char>& shuffled, size_t element_size) {
  // Shuffle stores byte j of every element together (plane j); the tail that does not fill
  // an element stays as it is.
  std::vector<unsigned char> out(shuffled.size());
  const size_t count = shuffled.size() / element_size;
  for (size_t j = 0; j < element_size; ++j)
    for (size_t i = 0; i < count; ++i) out[i * element_size + j] = shuffled[j * count + i];
  std::copy(shuffled.begin() + static_cast<std::ptrdiff_t>(count * element_size), shuffled.end(),
            out.begin() + static_cast<std::ptrdiff_t>(count * element_size));
  return out;
}

uint32_t fold(uint32_t sum) { return (sum & 0xffff) + (sum >> 16); }

}  // namespace

uint32_t hdf5_fletcher32(const unsigned char* data, size_t size) {
  // Folded every 360 words, as HDF5 does: within one block neither 32-bit sum can overflow,
  // and folding at the same points gives the same 16-bit representatives (0 or 0xffff).
  uint32_t sum1 = 0, sum2 = 0;
  size_t words = size / 2;
  while (words > 0) {
    const size_t block = std::min<size_t>(words, 360);
    words -= block;
    for (size_t i = 0; i < block; ++i, data += 2) {
      sum1 += (uint32_t{data[0]} << 8) | data[1];
      sum2 += sum1;
    }
    sum1 = fold(sum1);
    sum2 = fold(sum2);
  }
  if (size % 2 == 1) {
    sum1 += uint32_t{data[0]} << 8;
    sum2 += sum1;
    sum1 = fold(sum1);
    sum2 = fold(sum2);
  }
  return (fold(sum2) << 16) | fold(sum1);
}

std::vector<unsigned char> undo_filters(std::vector<unsigned char> stored, const std::vector<FilterStep>& pipeline,
                                        uint32_t skipped, size_t nominal_bytes, size_t element_size,
                                        const std::string& where) {
  for (size_t i = pipeline.size(); i-- > 0;) {
    if (i < 32 && (skipped >> i) & 1u) continue;
    switch (pipeline[i].id) {
      case kFilterFletcher32: {
        CITADEL_CHECK(stored.size() >= 4, IoError, where, ": a chunk is too short for its checksum");
        const size_t body = stored.size() - 4;
        const uint32_t kept = uint32_t{stored[body]} | (uint32_t{stored[body + 1]} << 8) |
                              (uint32_t{stored[body + 2]} << 16) | (uint32_t{stored[body + 3]} << 24);
        const uint32_t computed = hdf5_fletcher32(stored.data(), body);
        // Files of HDF5 before 1.6.3 stored it with the bytes of each half swapped.
        const uint32_t swapped = ((computed & 0x00ff00ffu) << 8) | ((computed >> 8) & 0x00ff00ffu);
        CITADEL_CHECK(kept == computed || kept == swapped, IoError, where,
                      ": a chunk fails its Fletcher-32 checksum (damaged)");
        stored.resize(body);
        break;
      }
      case kFilterDeflate:
        stored = inflate_bounded(stored, nominal_bytes, where);
        break;
      case kFilterShuffle:
        CITADEL_CHECK(stored.size() == nominal_bytes, IoError, where, ": a shuffled chunk holds ", stored.size(),
                      " bytes where its size is ", nominal_bytes);
        stored = unshuffle(stored, element_size);
        break;
      default:
        throw IoError(where + ": filter " + std::to_string(pipeline[i].id) + " is not read");
    }
  }
  CITADEL_CHECK(stored.size() == nominal_bytes, IoError, where, ": a chunk holds ", stored.size(),
                " bytes where its size is ", nominal_bytes);
  return stored;
}

}  // namespace citadel::detail
