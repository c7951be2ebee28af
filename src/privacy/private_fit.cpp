// fit_private: plans the privacy budget, then runs fit() with DP-SGD and the accountant.
#include "citadel/privacy/private_fit.hpp"

#include <algorithm>
#include <cmath>
#include <tuple>
#include <vector>

#include "citadel/core/error.hpp"
#include "citadel/data/split.hpp"
#include "citadel/privacy/accountant.hpp"

namespace citadel {

PrivacyAccountant::PrivacyAccountant(double sampling_rate, double noise_multiplier, int64_t steps_per_epoch,
                                     double delta)
    : sampling_rate_(sampling_rate), noise_multiplier_(noise_multiplier), delta_(delta),
      steps_per_epoch_(steps_per_epoch), epochs_(sampling_rate, noise_multiplier, steps_per_epoch, delta) {}

void PrivacyAccountant::on_epoch_end(int epoch, Logs& logs, Model&) {
  // Epochs end in order; a resumed run starts past the first, and a callback used again
  // for a second fit starts over.
  if (counted_ > epoch) {
    epochs_ = EpochAccountant(sampling_rate_, noise_multiplier_, steps_per_epoch_, delta_);
    counted_ = 0;
  }
  PrivacySpent spent;
  while (counted_ <= epoch) spent = epochs_.next_epoch(), ++counted_;
  logs["epsilon"] = spent.epsilon;
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
  plan.noise_multiplier = dp.target_epsilon ? dp_sgd_noise_multiplier_for_epochs(plan.sampling_rate, plan.steps_per_epoch,
                                                                                 epochs, dp.delta, *dp.target_epsilon)
                                            : dp.noise_multiplier;
  plan.epsilon =
      dp_sgd_epsilon_after_epochs(plan.sampling_rate, plan.noise_multiplier, plan.steps_per_epoch, epochs, dp.delta)
          .epsilon;
  return plan;
}

namespace {

// fit() with DP-SGD planned for `rows` training rows (over the whole group).
History fit_private_planned(Model& model, const std::vector<ConstTensorView>& x, const std::vector<ConstTensorView>& y,
                            FitOptions options, const DPSGDOptions& dp, int64_t rows) {
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

// Row r of every tensor, flattened and laid side by side: (rows, total) for hashing rows.
Tensor rows_side_by_side(const std::vector<ConstTensorView>& parts, int64_t rows) {
  int64_t width = 0;
  for (const ConstTensorView& part : parts) width += rows ? part.numel() / rows : 0;
  Tensor joined(Shape{rows, width});
  for (int64_t r = 0, offset = 0; r < rows; ++r)
    for (const ConstTensorView& part : parts) {
      const int64_t row = part.numel() / rows;
      std::copy_n(part.data() + r * row, row, joined.data() + offset);
      offset += row;
    }
  return joined;
}

}  // namespace

SplitIndices private_validation_split(const std::vector<ConstTensorView>& x, const std::vector<ConstTensorView>& y,
                                      double validation_fraction, uint64_t seed) {
  CITADEL_CHECK(!x.empty() && !y.empty(), ValueError, "private_validation_split: needs inputs and targets");
  const int64_t rows = x[0].rank() >= 1 ? x[0].shape(0) : 0;
  for (const auto* parts : {&x, &y})
    for (const ConstTensorView& part : *parts)
      CITADEL_CHECK(part.rank() >= 1 && part.shape(0) == rows, ShapeError, "private_validation_split: every input "
                    "and target needs ", rows, " rows, got ", part.shape());
  if (x.size() == 1 && y.size() == 1) return split_rows_by_hash(x[0], y[0], validation_fraction, seed);
  return split_rows_by_hash(rows_side_by_side(x, rows), rows_side_by_side(y, rows), validation_fraction, seed);
}

History fit_private(Model& model, ConstTensorView x, ConstTensorView y, FitOptions options,
                    const DPSGDOptions& dp) {
  return fit_private(model, std::vector<ConstTensorView>{x}, std::vector<ConstTensorView>{y}, std::move(options), dp);
}

History fit_private(Model& model, const std::vector<ConstTensorView>& x, const std::vector<ConstTensorView>& y,
                    FitOptions options, const DPSGDOptions& dp) {
  CITADEL_CHECK(!x.empty() && x[0].rank() >= 1, ValueError, "fit_private: x must be (samples, features...)");
  CITADEL_CHECK(!y.empty(), ValueError, "fit_private: no targets");
  // On a group of processes x holds this rank's rows: the accountant counts the global ones.
  double global_rows = double(x[0].shape(0));
  if (options.communicator) options.communicator->all_reduce_sum(std::span<double>(&global_rows, 1));
  int64_t rows = static_cast<int64_t>(global_rows);
  CITADEL_CHECK(rows > 0, ValueError, "fit_private: no data");
  std::vector<Tensor> kept;  // the split's rows when fit_private splits (several inputs or outputs)
  if (!options.validation_data && options.validation_split > 0) {
    // fit() trains on the rows the validation split leaves (a hash of each row under
    // private training): counted exactly here, so that the sampling rate the accountant
    // assumes is the one fit() samples at. fit() hashes one input and one target; for
    // more, the split is made here, over all of a row's parts, and given as validation_data.
    const SplitIndices split =
        private_validation_split(x, y, options.validation_split, options.seed.value_or(model.seed()));
    double training_rows = double(split.train.size());
    if (options.communicator) options.communicator->all_reduce_sum(std::span<double>(&training_rows, 1));
    rows = static_cast<int64_t>(training_rows);
    if (x.size() > 1 || y.size() > 1) {
      CITADEL_CHECK(!split.train.empty() && !split.test.empty(), ValueError, "fit_private: validation_split ",
                    options.validation_split, " of ", x[0].shape(0), " rows leaves an empty split");
      std::vector<ConstTensorView> train_x, train_y, validation_x, validation_y;
      kept.reserve(2 * (x.size() + y.size()));
      for (const auto& [parts, train, validation] :
           {std::tuple{&x, &train_x, &validation_x}, std::tuple{&y, &train_y, &validation_y}})
        for (const ConstTensorView& part : *parts) {
          train->push_back(kept.emplace_back(take_rows(part, split.train)));
          validation->push_back(kept.emplace_back(take_rows(part, split.test)));
        }
      options.validation_split = 0;
      options.validation_data = ValidationData{validation_x, validation_y};
      return fit_private_planned(model, train_x, train_y, std::move(options), dp, rows);
    }
  }
  return fit_private_planned(model, x, y, std::move(options), dp, rows);
}

}  // namespace citadel
