// Weight regularizers by Keras's names: L1(0.01), L2(0.01), L1L2(l1, l2). The penalty is
// part of the reported loss, in training and in evaluation, as in Keras.
#pragma once

#include "citadel/core/parameter_store.hpp"

namespace citadel {

inline Regularizer L1(float l1 = 0.01f) { return {l1, 0.0f}; }
inline Regularizer L2(float l2 = 0.01f) { return {0.0f, l2}; }
inline Regularizer L1L2(float l1 = 0.0f, float l2 = 0.0f) { return {l1, l2}; }

}  // namespace citadel
