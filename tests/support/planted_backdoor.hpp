// Small image data the backdoor tests plant triggers in: 8×8 one-channel images of 10 classes,
// each a noisy copy of its class's random prototype, pixels in [0, 1]. Learnable in a second by
// a small MLP, and far enough from a corner patch that a trigger is the only short cut.
#pragma once

#include <algorithm>
#include <cstdint>

#include "citadel/core/random.hpp"
#include "citadel/core/tensor.hpp"

namespace citadel::testing {

constexpr int64_t kPlantedSide = 8, kPlantedClasses = 10;

struct PlantedImages {
  Tensor x;  // (N, 64)
  Tensor y;  // (N, 1) class indices
};

inline PlantedImages planted_images(int64_t rows, uint64_t seed) {
  const int64_t pixels = kPlantedSide * kPlantedSide;
  Rng prototypes_rng(12345);  // the same classes for every seed
  Tensor prototypes(Shape{kPlantedClasses, pixels});
  for (int64_t i = 0; i < prototypes.numel(); ++i) prototypes[i] = prototypes_rng.uniform() < 0.5f ? 0.15f : 0.75f;
  Rng rng(seed);
  PlantedImages data{Tensor(Shape{rows, pixels}), Tensor(Shape{rows, 1})};
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t label = r % kPlantedClasses;
    data.y[r] = float(label);
    for (int64_t p = 0; p < pixels; ++p)
      data.x[r * pixels + p] = std::clamp(prototypes.at(label, p) + 0.2f * float(rng.normal()), 0.0f, 1.0f);
  }
  return data;
}

}  // namespace citadel::testing
