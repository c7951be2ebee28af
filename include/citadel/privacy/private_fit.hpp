// Differentially private training in one call: DP-SGD (FitOptions::private_training) with
// the RDP accountant reporting ε after every epoch ("epsilon" in the progress line and the
// History), and the noise multiplier found from a privacy budget when one is given.
#pragma once

#include <functional>
#include <optional>
#include <span>

#include "citadel/data/split.hpp"
#include "citadel/model/callbacks.hpp"
#include "citadel/model/sequential.hpp"
#include "citadel/privacy/accountant.hpp"

namespace citadel {

struct DPSGDOptions {
  float l2_norm_clip = 1.0f;
  double noise_multiplier = 1.1;  // ignored when target_epsilon is given
  std::optional<double> target_epsilon = std::nullopt;  // find the noise for this ε over the epochs
  double delta = 1e-5;
  bool poisson_sampling = true;
  bool reproducible = false;             // see PrivateTraining::reproducible: NOT private
  bool record_training_metrics = true;  // see PrivateTraining::record_training_metrics
  std::function<void(std::span<const float>)> observe_noisy_sum = nullptr;  // see PrivateTraining
};

// Adds "epsilon" (at δ) to each epoch's logs: the tightest of the RDP and PLD accountants
// (citadel/privacy/accountant.hpp), composed one epoch at a time.
class PrivacyAccountant final : public Callback {
 public:
  PrivacyAccountant(double sampling_rate, double noise_multiplier, int64_t steps_per_epoch, double delta);
  std::unique_ptr<Callback> clone() const override { return std::make_unique<PrivacyAccountant>(*this); }
  void on_epoch_end(int epoch, Logs& logs, Model& model) override;

 private:
  double sampling_rate_, noise_multiplier_, delta_;
  int64_t steps_per_epoch_;
  EpochAccountant epochs_;
  int counted_ = 0;  // epochs epochs_ has composed
};

struct PrivateTrainingPlan {
  double sampling_rate = 0;
  int64_t steps_per_epoch = 0;
  double noise_multiplier = 0;
  double epsilon = 0;  // after all epochs
};

// The sampling rate, steps and noise multiplier fit() will use for `rows` training rows.
PrivateTrainingPlan plan_private_training(int64_t rows, int64_t batch_size, int epochs, const DPSGDOptions& dp);

// model.fit with DP-SGD and the accountant; returns the History (with "epsilon").
History fit_private(Model& model, ConstTensorView x, ConstTensorView y, FitOptions options,
                    const DPSGDOptions& dp);
// The same for a model of several inputs or outputs: row i of every input and every target
// is one example (clipped as one, counted once by the accountant), so the guarantee is per
// row of the data the inputs were cut from.
History fit_private(Model& model, const std::vector<ConstTensorView>& x, const std::vector<ConstTensorView>& y,
                    FitOptions options, const DPSGDOptions& dp);

// The training/validation split fit_private makes for options.validation_split: each row's
// side depends on that row alone, a keyed hash of its values in every input and target
// (with one input and one output, split_rows_by_hash(x[0], y[0]) as fit() makes it).
SplitIndices private_validation_split(const std::vector<ConstTensorView>& x, const std::vector<ConstTensorView>& y,
                                      double validation_fraction, uint64_t seed);

}  // namespace citadel
