// HDF5's filters undone by citadel, not by libhdf5, so that a chunk never inflates past the
// size its dataset plans for it: deflate (zlib, stopped at the first byte beyond the
// chunk), shuffle and the Fletcher-32 checksum, the filters h5py and Keras can write.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace citadel::detail {

// HDF5's filter numbers (H5Zpublic.h).
constexpr int kFilterDeflate = 1;
constexpr int kFilterShuffle = 2;
constexpr int kFilterFletcher32 = 3;

struct FilterStep {
  int id = 0;
  std::vector<unsigned> parameters;  // the filter's client data (shuffle: the element size)
};

// A chunk as stored (`stored`, consumed), with the `pipeline` its dataset applies in order
// when writing, and the chunk's mask (bit i set: filter i was skipped for this chunk), back
// to its `nominal_bytes` of elements of `element_size` bytes. IoError naming `where` when
// it does not come back to exactly that size (a deflate stream producing one byte more is
// stopped there), or its checksum is wrong.
std::vector<unsigned char> undo_filters(std::vector<unsigned char> stored, const std::vector<FilterStep>& pipeline,
                                        uint32_t skipped, size_t nominal_bytes, size_t element_size,
                                        const std::string& where);

// HDF5's Fletcher-32: over big-endian 16-bit words (an odd last byte as the high half of
// one), the two sums folded to 16 bits as it folds them.
uint32_t hdf5_fletcher32(const unsigned char* data, size_t size);

}  // namespace citadel::detail
