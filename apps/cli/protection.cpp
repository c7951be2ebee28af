// Shared option handling of the protection commands (train --adversarial/--dp, attack,
// dp-budget, audit).
#include "protection.hpp"

#include <algorithm>
#include <cmath>

#include "citadel/core/error.hpp"
#include "citadel/data/feature_groups.hpp"

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

AttackOptions attack_options(const AttackFlags& s, uint64_t seed, const PreparedData& data,
                             const Tensor& range_rows) {
  AttackOptions options{.method = s.method, .norm = s.norm, .step_size = static_cast<float>(s.step_size.value_or(0)),
                        .steps = s.steps, .restarts = s.restarts, .seed = seed};
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

void use_declared_range(AttackOptions& options, const PreparedData& data, const Preprocessor& preprocessor) {
  if (data.images) return;  // pixels: [0, 1], known without the data
  const std::vector<std::string> names = data.schema.feature_names();
  const auto features = static_cast<int64_t>(names.size());
  Tensor low(Shape{1, features}), high(Shape{1, features});
  std::vector<bool> one_hot;
  for (size_t c = 0; c < data.schema.input_columns.size(); ++c)
    one_hot.insert(one_hot.end(), std::max<size_t>(1, data.schema.categories[c].size()), !data.schema.categories[c].empty());
  for (int64_t f = 0; f < features; ++f) {
    if (one_hot[size_t(f)]) {
      low[f] = 0, high[f] = 1;
      continue;
    }
    const bool bounded = preprocessor.declared() && int64_t(preprocessor.clip_min().size()) == features &&
                         std::isfinite(preprocessor.clip_min()[size_t(f)]) && std::isfinite(preprocessor.clip_max()[size_t(f)]);
    CITADEL_CHECK(bounded, ValueError, "--dp --adversarial: the attack keeps inputs within each feature's valid range, "
                  "which would be the private rows' observed range; declare column '", names[size_t(f)],
                  "''s min and max with --schema FILE");
    low[f] = static_cast<float>(preprocessor.clip_min()[size_t(f)]);
    high[f] = static_cast<float>(preprocessor.clip_max()[size_t(f)]);
  }
  preprocessor.apply(low);  // scaling is increasing: the bounds stay in order
  preprocessor.apply(high);
  low.reshape(Shape{features});
  high.reshape(Shape{features});
  options.feature_min = std::move(low);
  options.feature_max = std::move(high);
}

void choose_attacked_input(AttackOptions& options, const Model& model, const PreparedData& data,
                           const std::string& name) {
  const std::vector<std::string> inputs = model.input_names();
  std::string known;
  for (const auto& input : inputs) known += (known.empty() ? "'" : ", '") + input + "'";
  if (name.empty()) {
    CITADEL_CHECK(inputs.size() == 1, ValueError, "the model has ", inputs.size(), " inputs (", known,
                  "); say which one the attack perturbs with --attack-input NAME");
    return;
  }
  const auto found = std::find(inputs.begin(), inputs.end(), name);
  CITADEL_CHECK(found != inputs.end(), ValueError, "--attack-input '", name, "' is not an input of the model; its "
                "inputs are ", known);
  options.input = static_cast<int>(found - inputs.begin());
  if (inputs.size() == 1 || !options.feature_min) return;
  // The range was found per feature of the whole row: keep the attacked Input's part.
  const FeatureGroup group = feature_groups(data.schema, {name}).front();
  const auto width = static_cast<int64_t>(group.features.size());
  Tensor low(Shape{width}), high(Shape{width});
  for (int64_t f = 0; f < width; ++f) {
    low[f] = (*options.feature_min)[group.features[size_t(f)]];
    high[f] = (*options.feature_max)[group.features[size_t(f)]];
  }
  options.feature_min = std::move(low);
  options.feature_max = std::move(high);
}

DPSGDOptions dp_options(const PrivacyFlags& s) {
  DPSGDOptions dp{.l2_norm_clip = static_cast<float>(s.clip), .noise_multiplier = s.noise,
                  .delta = s.delta, .poisson_sampling = !s.fixed_batches, .reproducible = s.reproducible,
                  .record_training_metrics = !s.omit_training_metrics};
  dp.target_epsilon = s.target_epsilon;
  return dp;
}

CertifiedTrainingOptions certified_training_plan(const AttackFlags& flags, double epsilon, const PreparedData& data,
                                                 const FitOptions& fit) {
  const int64_t rows = data.x_train.shape(0);
  const auto trained = fit.validation_data ? rows : int64_t(double(rows) * (1.0 - fit.validation_split));
  const int64_t steps = steps_per_epoch(std::max<int64_t>(trained, 1), std::min(fit.batch_size, std::max<int64_t>(trained, 1)),
                                        false);
  const int warmup = flags.ibp_warmup_epochs.value_or(fit.epochs / 10);
  const int ramp = flags.ibp_ramp_epochs.value_or(std::max(1, fit.epochs / 2));
  CertifiedTrainingOptions options{.epsilon = epsilon, .final_kappa = flags.ibp_kappa,
                                   .warmup_steps = warmup * steps, .ramp_steps = ramp * steps};
  if (data.images) options.clip_min = 0.0f, options.clip_max = 1.0f;
  return options;
}

}  // namespace citadel::cli
