// Shared option handling of the protection commands (train --adversarial/--dp, attack,
// dp-budget, audit).
#include "protection.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>

#include "citadel/core/error.hpp"

namespace citadel::cli {

std::vector<double> epsilon_list(const std::string& text, const char* option) {
  CITADEL_CHECK(!text.empty(), ValueError, option, " is required, e.g. ", option, " 0.05,0.1,0.2");
  std::vector<double> values;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    const std::string part = text.substr(start, comma - start);
    size_t used = 0;
    double value = -1;
    try {
      value = std::stod(part, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    CITADEL_CHECK(used == part.size() && !part.empty() && std::isfinite(value) && value >= 0, ValueError, option,
                  ": '", part, "' is not a number >= 0 (give a comma-separated list such as 0.05,0.1)");
    values.push_back(value);
    start = comma + 1;
  }
  return values;
}

AttackOptions attack_options(const Settings& s, const PreparedData& data, const Tensor& range_rows) {
  AttackOptions options{.method = s.attack_method, .norm = s.norm, .step_size = static_cast<float>(s.step_size),
                        .steps = s.attack_steps, .restarts = s.restarts, .seed = s.seed};
  if (!data.images) {  // CSV: the observed range of each (scaled) feature
    const int64_t rows = range_rows.shape(0), features = range_rows.numel() / std::max<int64_t>(rows, 1);
    Tensor low(Shape{features}), high(Shape{features});
    for (int64_t f = 0; f < features; ++f) {
      low[f] = high[f] = range_rows[f];
      for (int64_t r = 1; r < rows; ++r) {
        low[f] = std::min(low[f], range_rows[r * features + f]);
        high[f] = std::max(high[f], range_rows[r * features + f]);
      }
    }
    options.feature_min = std::move(low);
    options.feature_max = std::move(high);
  }
  return options;
}

DPSGDOptions dp_options(const Settings& s) {
  DPSGDOptions dp{.l2_norm_clip = static_cast<float>(s.clip), .noise_multiplier = s.noise,
                  .delta = s.delta, .poisson_sampling = !s.fixed_batches, .reproducible = s.dp_reproducible,
                  .record_training_metrics = !s.dp_omit_training_metrics};
  if (s.target_epsilon > 0) dp.target_epsilon = s.target_epsilon;
  return dp;
}

void add_protection_options(CLI::App& c, Settings& s) {
  c.add_option("--adversarial", s.adversarial,
               "Adversarial training: replace each batch by attacked examples (PGD as Madry et al., or FGSM)")
      ->check(CLI::IsMember({"fgsm", "pgd"}));
  c.add_option("--eps", s.eps, "Attack radius for --adversarial (pixels in [0, 1]; CSV: scaled feature units)");
  c.add_option("--norm", s.norm, "Attack norm: linf or l2")->capture_default_str()->check(CLI::IsMember({"linf", "l2"}));
  c.add_option("--attack-steps", s.attack_steps, "PGD steps")->capture_default_str()->check(CLI::Range(1, 10000));
  c.add_option("--clean-fraction", s.clean_fraction, "Share of each batch kept clean in adversarial training")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 0.99));
  c.add_flag("--dp", s.dp, "Differentially private training (DP-SGD) with the RDP privacy accountant");
  c.add_option("--clip", s.clip, "--dp: per-example gradient clipping norm C")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  c.add_option("--noise", s.noise, "--dp: noise multiplier σ (noise std σ·C)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  c.add_option("--delta", s.delta, "--dp: δ of the (ε, δ) guarantee")->capture_default_str()->check(CLI::Range(1e-300, 0.5));
  c.add_option("--target-epsilon", s.target_epsilon, "--dp: find the noise multiplier for this ε over the epochs")
      ->check(CLI::PositiveNumber);
  c.add_flag("--dp-reproducible", s.dp_reproducible,
             "--dp: key the noise and sampling from --seed (tests and debugging only: NOT private)");
  c.add_flag("--dp-omit-training-metrics", s.dp_omit_training_metrics,
             "--dp: leave the training rows' exact loss and metrics out of the history, logs and report");
  c.add_flag("--fixed-batches", s.fixed_batches,
             "--dp: shuffled fixed-size batches instead of Poisson sampling (not covered by the same accounting)");
}

}  // namespace citadel::cli
