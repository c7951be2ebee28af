// fit_private: plans the privacy budget, then runs fit() with DP-SGD and the accountant.
#include "citadel/privacy/private_fit.hpp"

#include <cmath>

#include "citadel/core/error.hpp"
#include "citadel/data/split.hpp"
#include "citadel/privacy/accountant.hpp"

namespace citadel {

PrivacyAccountant::PrivacyAccountant(double sampling_rate, double noise_multiplier, int64_t steps_per_epoch,
                                     double delta)
    : sampling_rate_(sampling_rate), noise_multiplier_(noise_multiplier), delta_(delta),
      steps_per_epoch_(steps_per_epoch) {}

void PrivacyAccountant::on_epoch_end(int epoch, Logs& logs, Model&) {
  logs["epsilon"] =
      dp_sgd_epsilon(sampling_rate_, noise_multiplier_, steps_per_epoch_ * int64_t(epoch + 1), delta_).epsilon;
}

PrivateTrainingPlan plan_private_training(int64_t rows, int64_t batch_size, int epochs, const DPSGDOptions& dp) {
  CITADEL_CHECK(rows > 0 && batch_size > 0 && epochs >= 0, ValueError, "private training: need rows, a batch size ",
                "and epochs, got ", rows, ", ", batch_size, ", ", epochs);
  CITADEL_CHECK(dp.delta > 0 && dp.delta < 1, ValueError, "private training: delta must lie in (0, 1), got ",
                dp.delta);
  PrivateTrainingPlan plan;
  const int64_t batch = std::min(batch_size, rows);
  plan.sampling_rate = double(batch) / double(rows);
  plan.steps_per_epoch = steps_per_epoch(rows, batch, dp.poisson_sampling);
  const int64_t steps = plan.steps_per_epoch * epochs;
  plan.noise_multiplier = dp.target_epsilon
                              ? dp_sgd_noise_multiplier(plan.sampling_rate, steps, dp.delta, *dp.target_epsilon)
                              : dp.noise_multiplier;
  plan.epsilon = dp_sgd_epsilon(plan.sampling_rate, plan.noise_multiplier, steps, dp.delta).epsilon;
  return plan;
}

History fit_private(Model& model, ConstTensorView x, ConstTensorView y, FitOptions options,
                    const DPSGDOptions& dp) {
  CITADEL_CHECK(x.rank() >= 1, ValueError, "fit_private: x must be (samples, features...)");
  // On a group of processes x holds this rank's rows: the accountant counts the global ones.
  double global_rows = double(x.shape(0));
  if (options.communicator) options.communicator->all_reduce_sum(std::span<double>(&global_rows, 1));
  int64_t rows = static_cast<int64_t>(global_rows);
  CITADEL_CHECK(rows > 0, ValueError, "fit_private: no data");
  if (!options.validation_data && options.validation_split > 0) {
    // fit() trains on the rows its validation split leaves (a hash of each row under
    // private training): counted exactly here, so that the sampling rate the accountant
    // assumes is the one fit() samples at.
    const SplitIndices split =
        split_rows_by_hash(x, y, options.validation_split, options.seed.value_or(model.seed()));
    double training_rows = double(split.train.size());
    if (options.communicator) options.communicator->all_reduce_sum(std::span<double>(&training_rows, 1));
    rows = static_cast<int64_t>(training_rows);
  }
  const PrivateTrainingPlan plan = plan_private_training(rows, options.batch_size, options.epochs, dp);
  options.private_training = PrivateTraining{.l2_norm_clip = dp.l2_norm_clip,
                                             .noise_multiplier = static_cast<float>(plan.noise_multiplier),
                                             .poisson_sampling = dp.poisson_sampling,
                                             .reproducible = dp.reproducible,
                                             .record_training_metrics = dp.record_training_metrics,
                                             .observe_noisy_sum = dp.observe_noisy_sum};
  options.callbacks.insert(options.callbacks.begin(), PrivacyAccountant(plan.sampling_rate, plan.noise_multiplier,
                                                                        plan.steps_per_epoch, dp.delta));
  return model.fit(x, y, options);
}

}  // namespace citadel
