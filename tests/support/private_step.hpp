// One noiseless DP-SGD step on a one-row batch, and how far it moved the weights: the
// quantity the clip norm bounds (with SGD at learning rate 1 it equals the clipped
// gradient's norm). Shared by the DP tests that try to push a step past the bound.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "citadel/model/model.hpp"
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

// How far one noiseless DP-SGD step of a two-input model over all n rows (one batch, SGD at
// learning rate 1) lands from the step computed by brute force: one backward pass per
// example, each gradient clipped to `clip` over the trainable weights, the mean of those.
// `largest` is the brute-force step's largest entry (so a test can see it is not zero).
struct StepAgreement {
  double worst = 0, largest = 0;
};

template <class MakeModel>
StepAgreement private_step_against_per_example_passes(const MakeModel& make, const Tensor& left, const Tensor& right,
                                                      const Tensor& y, float clip) {
  const int64_t n = left.shape(0);
  Model reference = make();
  const std::vector<float> before(reference.parameters().values().begin(), reference.parameters().values().end());
  std::vector<double> sum(before.size(), 0.0);
  for (int64_t i = 0; i < n; ++i) {
    const Tensor l = Tensor::from(left.rows(i, i + 1)), r = Tensor::from(right.rows(i, i + 1));
    reference.compute_gradients(std::vector<ConstTensorView>{l, r}, {y.rows(i, i + 1)});
    const auto g = reference.parameters().trainable_grads();
    double squared = 0;
    for (const float v : g) squared += double(v) * v;
    const double factor = std::min(1.0, clip / std::sqrt(squared));
    for (size_t k = 0; k < g.size(); ++k) sum[k] += factor * g[k];
  }
  Model model = make();
  model.fit({left, right}, {y},
            {.epochs = 1, .batch_size = n, .shuffle = false, .verbose = 0,
             .private_training = PrivateTraining{.l2_norm_clip = clip, .noise_multiplier = 0.0f,
                                                 .poisson_sampling = false}});
  const auto after = model.parameters().values();
  StepAgreement agreement;
  for (size_t k = 0; k < sum.size(); ++k) {
    agreement.worst = std::max(agreement.worst, std::fabs(double(before[k]) - sum[k] / double(n) - after[k]));
    agreement.largest = std::max(agreement.largest, std::fabs(sum[k] / double(n)));
  }
  return agreement;
}

}  // namespace citadel::testkit
