// Turning predictions and targets into class decisions, shared by the metrics.
#pragma once

#include <cstdint>

#include "citadel/core/tensor.hpp"
#include "citadel/metrics/metric.hpp"

namespace citadel::labels {

// Index of the largest of C values.
int64_t argmax(const float* row, int64_t C);
// The class the targets give for row n of predictions with C outputs (C classes); a sparse
// label that is not a whole number in 0..C−1 is a ValueError.
int64_t target_class(ConstTensorView targets, int64_t n, int64_t C, LabelKind kind);

}  // namespace citadel::labels
