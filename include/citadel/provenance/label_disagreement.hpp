// The class-level test of poison inspection: BadNets rows are images of other classes given the
// target's label, so their nearest neighbours in input space carry other labels; a natural
// sub-population of a class (a style of sandal) has neighbours of its own label.
#pragma once

#include <cstdint>
#include <vector>

#include "citadel/core/tensor.hpp"

namespace citadel {

// Per query row (Q, D...): the share of its k nearest reference rows (R, D...) by Euclidean
// distance whose label differs from the query's label; ties broken by the lower reference
// index. ValueError when the widths differ, k < 1, k > R, a label list's size is wrong or a
// value is not finite.
std::vector<double> neighbour_label_disagreement(ConstTensorView queries, const std::vector<int64_t>& query_labels,
                                                 ConstTensorView references,
                                                 const std::vector<int64_t>& reference_labels, int64_t k);

}  // namespace citadel
