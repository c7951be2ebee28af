// `citadel dp-audit`: the DP self-audit of the train --dp pipeline (CSV, declared
// preprocessing, the model, DP-SGD): canaries in, the library's audit_private_training, the
// audited lower bound on ε printed beside the accountant's ε.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <algorithm>
#include <memory>
#include <optional>

#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"
#include "citadel/distributed/communicator.hpp"
#include "citadel/privacy/dp_audit.hpp"
#include "commands.hpp"
#include "pipeline.hpp"
#include "protection.hpp"

namespace citadel::cli {
namespace {

struct DpAuditFlags {
  DataFlags data;
  ModelFlags model;
  TrainingFlags training;
  PrivacyFlags privacy;
  OutputFlags output;
  DpAuditOptions audit;
  std::optional<int64_t> gradient_canaries;  // unset: 1000, or every trainable parameter of a smaller model
  uint64_t audit_seed = 0;  // 0: drawn from the operating system
};

// Every number of a JSON value, in order (a preprocessor's statistics).
void collect_numbers(const nlohmann::json& value, std::vector<double>& numbers) {
  if (value.is_number()) numbers.push_back(value.get<double>());
  if (value.is_array() || value.is_object())
    for (const auto& item : value) collect_numbers(item, numbers);
}

nlohmann::json bound_json(const EpsilonLowerBound& bound) {
  return {{"epsilon", bound.epsilon}, {"method", bound.method}, {"confidence", bound.confidence}};
}

int run_dp_audit(DpAuditFlags& f) {
  const distributed::Communicator& world = distributed::Communicator::world();
  const bool root = world.is_root();
  TrainingFlags& t = f.training;
  CITADEL_CHECK(!t.validation_split || *t.validation_split == 0, ValueError,
                "dp-audit: --validation-split is not audited (the audit counts the training rows itself); leave it out");
  random::set_seed(t.seed);
  f.privacy.dp = true;
  PreparedData data = load_data(f.data, f.model, t, true, true);
  const PreparedData raw = data;  // the rows before preprocessing, for the release audit
  const FeaturePreprocessor preprocessor = preprocess(f.data, data, {&data.x_test}, true);
  const Shape input_shape = data.x_train.shape().without_batch();
  auto make_model = [&] {
    random::set_seed(t.seed);
    Model model = build_model(f.model, data, input_shape);
    CITADEL_CHECK(model.input_count() == 1, ValueError, "dp-audit: DP-SGD trains a model of one input; this one has ",
                  model.input_count());
    return model;
  };
  FitOptions fit = fit_options(t, f.model, data, true);
  fit.verbose = 0;
  fit.validation_split = 0;
  DPSGDOptions dp = dp_options(f.privacy);
  DpAuditOptions audit = f.audit;
  audit.gradient_canaries = f.gradient_canaries ? *f.gradient_canaries
                                                : std::min<int64_t>(1000, make_model().parameters().trainable_size());
  if (f.audit_seed != 0) audit.seed = f.audit_seed;
  // The pipeline's preprocessing, run again on the audited rows: under --dp its statistics
  // are declared (--schema), so nothing of the rows is released through it.
  audit.release = [&](ConstTensorView x, ConstTensorView) {
    PreparedData rows = raw;
    rows.x_train = Tensor::from(x);
    std::vector<double> numbers;
    collect_numbers(nlohmann::json::parse(preprocess(f.data, rows, {}, true).describe()), numbers);
    return numbers;
  };
  if (world.size() > 1) audit.release = nullptr;  // the release is audited in one process
  const Tensor y_train = targets_for_loss(data.y_train, data);
  Tensor x_rows = data.x_train, y_rows = y_train;
  if (world.size() > 1) {
    fit.communicator = &world;
    x_rows = shard_rows(data.x_train, world);
    y_rows = shard_rows(y_train, world);
  }
  const DpAuditResult r = audit_private_training(make_model, x_rows, y_rows, fit, dp, audit);
  if (!root) return 0;
  std::printf("DP self-audit of %d training run%s (%lld rows with the canaries, %lld steps, sampling rate %.4g, "
              "noise multiplier %.4g, clip %g, δ %g):\n",
              r.runs, r.runs == 1 ? "" : "s", static_cast<long long>(r.training_rows), static_cast<long long>(r.steps),
              r.sampling_rate, r.noise_multiplier, r.l2_norm_clip, r.delta);
  std::printf("  accountant's ε (upper bound):    %.4g\n", r.claimed_epsilon);
  std::printf("  audited ε at %g %% (lower bound): %.4g  (from %s)\n", 100 * r.confidence, r.epsilon_lower_bound,
              r.strongest.empty() ? "no evidence" : r.strongest.c_str());
  std::printf("  measured noise multiplier ≤ %.4g; most a canary added to a step's sum: %.4g (clip %g)\n",
              r.measured_noise_multiplier, r.probed_sensitivity, r.l2_norm_clip);
  std::printf("  %s\n", r.contradicts_accountant
                            ? "CONTRADICTS THE ACCOUNTANT: this pipeline leaks more than its ε says"
                            : "consistent with the accountant (which does not prove the accountant right)");
  std::printf("  %.1f s training, %.1f s auditing\n", r.training_seconds, r.audit_seconds);
  nlohmann::json report{
      {"claimed_epsilon", r.claimed_epsilon},
      {"epsilon_lower_bound", r.epsilon_lower_bound},
      {"confidence", r.confidence},
      {"strongest_evidence", r.strongest},
      {"contradicts_accountant", r.contradicts_accountant},
      {"delta", r.delta},
      {"noise_multiplier", r.noise_multiplier},
      {"sampling_rate", r.sampling_rate},
      {"l2_norm_clip", r.l2_norm_clip},
      {"steps_per_run", r.steps},
      {"training_rows", r.training_rows},
      {"runs", r.runs},
      {"gradient_canaries", audit.gradient_canaries},
      {"input_canaries", audit.input_canaries},
      {"bounds",
       {{"gradient_canaries_threshold", bound_json(r.gradient_threshold)},
        {"gradient_canaries_one_run", bound_json(r.gradient_one_run)},
        {"input_canaries_threshold", bound_json(r.input_threshold)},
        {"input_canaries_one_run", bound_json(r.input_one_run)},
        {"final_model_threshold", bound_json(r.final_model_threshold)},
        {"final_model_one_run", bound_json(r.final_model_one_run)},
        {"measured_noise", {{"epsilon", r.noise_epsilon}, {"noise_multiplier_upper", r.measured_noise_multiplier}}},
        {"sensitivity_probe", {{"largest_contribution", r.probed_sensitivity}, {"rank", r.probed_rank}}},
        {"preprocessing_release", bound_json(r.release)}}},
      {"training_seconds", r.training_seconds},
      {"audit_seconds", r.audit_seconds},
      {"data", data.source},
      {"seed", t.seed}};
  write_outputs(f.output, "dp-audit", report);
  return 0;
}

}  // namespace

Command add_dp_audit_command(CLI::App& app) {
  auto flags = std::make_shared<DpAuditFlags>();
  DpAuditFlags& f = *flags;
  CLI::App* command = app.add_subcommand(
      "dp-audit", "Audit DP training: an empirical lower bound on epsilon from canaries, beside the accountant's epsilon");
  add_data_flags(*command, f.data);
  add_model_flags(*command, f.model);
  add_training_flags(*command, f.training);
  add_output_flags(*command, f.output);
  command->add_option("--clip", f.privacy.clip, "Per-example gradient clipping norm C")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  command->add_option("--noise", f.privacy.noise, "Noise multiplier σ (ignored with --target-epsilon)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  command->add_option("--delta", f.privacy.delta, "δ of the (ε, δ) guarantee")
      ->capture_default_str()
      ->check(CLI::Range(1e-300, 0.5));
  command->add_option("--target-epsilon", f.privacy.target_epsilon, "Train with the noise for this ε")
      ->check(CLI::PositiveNumber);
  command->add_option("--gradient-canaries", f.gradient_canaries,
                      "Dirac gradient canaries, at most the trainable parameters (default: 1000, or all of them)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 30));
  command->add_option("--input-canaries", f.audit.input_canaries, "Crafted input rows, each trained on with probability ½")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 20));
  command->add_option("--runs", f.audit.runs, "Training runs whose evidence is pooled")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  command->add_option("--confidence", f.audit.confidence, "Confidence of the lower bound")
      ->capture_default_str()
      ->check(CLI::Range(0.5, 0.999999));
  command->add_option("--audit-seed", f.audit_seed,
                      "Which canaries are in (default: drawn from the operating system; fix it to repeat an audit)");
  return {command, [flags] { return run_dp_audit(*flags); }};
}

}  // namespace citadel::cli
