// What the extraction monitor compares for a model that reads raw text: each row's bag of
// tokens (how often each vocabulary id occurs, padding left out), so the L2 distance
// between two queries is the square root of the summed squared count differences — for
// texts without repeated words, √(number of words in one and not the other). The ids'
// own numbers mean nothing as coordinates (id 7 is not "near" id 8), and word order is left
// out on purpose: an extraction attack that reorders or swaps a few words of one real text
// then takes small steps, as its image-model counterpart does.
#pragma once

#include <cstdint>

#include "citadel/core/tensor.hpp"

namespace citadel::serving {

// rows: (N, D) encoded rows whose last `sequence_length` columns are token ids in
// [0, vocabulary); the result is (N, vocabulary). ValueError on an id outside that range.
Tensor token_bags(const Tensor& rows, int64_t sequence_length, int64_t vocabulary);

}  // namespace citadel::serving
