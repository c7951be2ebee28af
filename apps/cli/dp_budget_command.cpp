// `citadel dp-budget`: the (ε, δ) of DP-SGD without training (as TensorFlow Privacy's
// compute_dp_sgd_privacy), or the noise multiplier for a target ε.
#include <CLI/CLI.hpp>
#include <memory>
#include <algorithm>
#include <cstdio>

#include "citadel/core/error.hpp"
#include "citadel/privacy/accountant.hpp"
#include "citadel/privacy/private_fit.hpp"
#include "commands.hpp"
#include "pipeline.hpp"

namespace citadel::cli {
namespace {

struct DPBudgetFlags {
  int64_t samples = 0, batch_size = 0;  // both required
  int epochs = 0;                       // required
  PrivacyFlags privacy;                 // --noise, --delta, --target-epsilon, --fixed-batches
  OutputFlags output;
};

// ε after each of up to 100 evenly spread epochs (the curve the page draws).
nlohmann::json epsilon_by_epoch(const PrivateTrainingPlan& plan, int epochs, double delta) {
  nlohmann::json curve{{"epochs", nlohmann::json::array()}, {"epsilon", nlohmann::json::array()}};
  const int points = std::min(epochs, 100);
  // Composed epoch by epoch, as training composes it: each point is the training log's figure.
  EpochAccountant accountant(plan.sampling_rate, plan.noise_multiplier, plan.steps_per_epoch, delta);
  int composed = 0;
  for (int k = 1; k <= points; ++k) {
    const int epoch = static_cast<int>((int64_t(k) * epochs + points - 1) / points);
    PrivacySpent spent;
    while (composed < epoch) spent = accountant.next_epoch(), ++composed;
    curve["epochs"].push_back(epoch);
    curve["epsilon"].push_back(spent.epsilon);
  }
  return curve;
}

int run_dp_budget(const DPBudgetFlags& s) {
  const PrivacyFlags& p = s.privacy;
  CITADEL_CHECK(s.batch_size > 0 && s.batch_size <= s.samples, ValueError, "dp-budget: --batch-size (",
                s.batch_size, ") must lie between 1 and --samples (", s.samples, ")");
  DPSGDOptions dp{.noise_multiplier = p.noise, .target_epsilon = p.target_epsilon, .delta = p.delta,
                  .poisson_sampling = !p.fixed_batches};
  const PrivateTrainingPlan plan = plan_private_training(s.samples, s.batch_size, s.epochs, dp);
  std::printf("DP-SGD over %d epochs of %lld samples, batch %lld (sampling rate %.6g, %lld steps), noise multiplier "
              "%.6g, delta %g:\nepsilon = %.6g\n",
              s.epochs, static_cast<long long>(s.samples), static_cast<long long>(s.batch_size), plan.sampling_rate,
              static_cast<long long>(plan.steps_per_epoch * s.epochs), plan.noise_multiplier, p.delta, plan.epsilon);
  nlohmann::json report{{"epsilon", plan.epsilon},
                        {"noise_multiplier", plan.noise_multiplier},
                        {"delta", p.delta},
                        {"sampling_rate", plan.sampling_rate},
                        {"steps", plan.steps_per_epoch * s.epochs},
                        {"epochs", s.epochs},
                        {"samples", s.samples},
                        {"batch_size", s.batch_size},
                        {"poisson_sampling", dp.poisson_sampling},
                        {"accountant", "RDP of the sampled Gaussian mechanism, Balle et al. 2020 conversion"},
                        {"epsilon_by_epoch", epsilon_by_epoch(plan, s.epochs, p.delta)}};
  if (p.target_epsilon) report["target_epsilon"] = *p.target_epsilon;
  write_outputs(s.output, "dp-budget", report);
  return 0;
}

}  // namespace

Command add_dp_budget_command(CLI::App& app) {
  auto flags = std::make_shared<DPBudgetFlags>();
  DPBudgetFlags& s = *flags;
  PrivacyFlags& p = s.privacy;
  CLI::App* command = app.add_subcommand(
      "dp-budget", "The privacy budget epsilon of DP-SGD without training (or, with --target-epsilon, the noise)");
  command->add_option("--samples", s.samples, "Training rows")->required()->check(CLI::PositiveNumber);
  command->add_option("--batch-size", s.batch_size, "Expected batch size")->required()->check(CLI::PositiveNumber);
  command->add_option("--noise", p.noise, "Noise multiplier sigma")->capture_default_str()->check(CLI::PositiveNumber);
  command->add_option("--epochs", s.epochs, "Training epochs")->required()->check(CLI::Range(1, 1000000));
  command->add_option("--delta", p.delta, "delta of the (epsilon, delta) guarantee")
      ->capture_default_str()
      ->check(CLI::Range(1e-300, 0.5));
  command->add_option("--target-epsilon", p.target_epsilon, "Find the noise multiplier that reaches this epsilon")
      ->check(CLI::PositiveNumber);
  command->add_flag("--fixed-batches", p.fixed_batches, "Count steps as ceil(samples / batch) (shuffled batches)");
  add_output_flags(*command, s.output);
  return {command, [flags] { return run_dp_budget(*flags); }};
}

}  // namespace citadel::cli
