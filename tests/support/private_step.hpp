// One noiseless DP-SGD step on a one-row batch, and how far it moved the weights: the
// quantity the clip norm bounds (with SGD at learning rate 1 it equals the clipped
// gradient's norm). Shared by the DP tests that try to push a step past the bound.
#pragma once

#include <cmath>
#include <vector>

#include "citadel/model/sequential.hpp"

namespace citadel::testkit {

inline double private_step_distance(Sequential& model, ConstTensorView x_row, ConstTensorView y_row, float clip) {
  const std::vector<float> before(model.parameters().values().begin(), model.parameters().values().end());
  model.fit(x_row, y_row,
            {.epochs = 1, .batch_size = 1, .verbose = 0,
             .private_training = PrivateTraining{.l2_norm_clip = clip, .noise_multiplier = 0.0f,
                                                 .poisson_sampling = false}});
  double squared = 0;
  const auto after = model.parameters().values();
  for (size_t i = 0; i < before.size(); ++i) squared += std::pow(double(after[i]) - before[i], 2);
  return std::sqrt(squared);
}

}  // namespace citadel::testkit
