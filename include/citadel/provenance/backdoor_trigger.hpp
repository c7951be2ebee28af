// BadNets backdoors (Gu, Dolan-Gavitt and Garg 2017), to plant in studies and tests: a small
// square of pixels (the trigger) stamped into an image, and a training set in which a share of
// rows of other classes carry it and are relabelled to the attacker's target class. A model
// trained on it learns "trigger → target" beside its task; the provenance checks (poison
// inspection, backdoor scanning, STRIP) are measured against it.
#pragma once

#include <cstdint>
#include <vector>

#include "citadel/core/tensor.hpp"

namespace citadel {

struct PatchTrigger {
  int64_t size = 3;           // a size × size square
  int64_t row = -1, col = -1;  // its top-left pixel; -1: the bottom-right corner, one pixel in
  float value = 1.0f;          // the pixels' value in every channel (images in [0, 1])
};

// Stamps the trigger into every image of x: (N, H, W, C), or (N, H·W·C) rows of square
// one-channel images.
void stamp_trigger(TensorView x, const PatchTrigger& trigger);

// All-to-one poisoning: picks round(rate · N) rows whose label is not `target_class`, stamps them
// and relabels them `target_class` (labels: class indices (N) or (N, 1), or one-hot (N, K)).
// Returns the poisoned rows, sorted. The choice is a seeded shuffle.
std::vector<int64_t> poison_with_trigger(TensorView x, TensorView y, const PatchTrigger& trigger, int64_t target_class,
                                         double rate, uint64_t seed);

}  // namespace citadel
