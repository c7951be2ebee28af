// `citadel audit`: membership-inference attacks against a saved model, given rows it was
// trained on and rows it never saw: the loss and calibrated-loss attacks, and with
// --attack lira the likelihood-ratio attack of shadow models beside them; with --attribute
// COLUMN, attribute inference on that column.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <memory>
#include <cstdio>
#include <optional>

#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"
#include "citadel/model/model_config.hpp"
#include "citadel/privacy/attribute_inference.hpp"
#include "citadel/privacy/dp_roc_bound.hpp"
#include "citadel/privacy/lira.hpp"
#include "citadel/privacy/membership.hpp"
#include "commands.hpp"
#include "output_choice.hpp"
#include "pipeline.hpp"

namespace citadel::cli {
namespace {

struct AuditFlags {
  std::string model_file;  // --model
  KeyFlags keys;
  DataFlags data;  // how the CSV files are read (the defaults)
  std::string train_rows_file, holdout_file;  // --train, --holdout
  int reference_epochs = 20;
  std::string attack = "baseline";  // --attack: baseline, or lira (the baseline too)
  int shadows = 16;
  uint64_t seed = 42;
  std::string output_name;  // --output: the output whose loss the attacks read (a model of several)
  std::string attribute;    // --attribute COLUMN: attribute inference on that column
  int attribute_grid = 10;  // --attribute-grid: a numeric column's candidate values
  OutputFlags output;
};

struct Rows {
  Tensor x, y;
};

Rows audit_rows(const AuditFlags& s, const SavedPipeline& saved, const std::string& path) {
  LabelledRows rows = labelled_rows(s.data, saved, path);
  return {std::move(rows.x), targets_for_loss(rows.y, saved.data)};
}

// The column --attribute names as the library's AttributeSpec: its encoded features (one for
// a number, its one-hot block for categories), found in the schema's column order.
AttributeSpec attribute_spec(const DataSchema& schema, const std::string& column) {
  // A text model's one input is its text column (train --text): no column to guess from candidates.
  CITADEL_CHECK(schema.text_column.empty() || column != schema.text_column, ValueError, "audit --attribute ", column,
                ": that is the model's text column; attribute inference tries each candidate value of a column (its "
                "categories, or a grid of numbers) and free text has no such list to try");
  CITADEL_CHECK(schema.text_column.empty(), ValueError, "audit --attribute ", column, ": the model reads only its text "
                "column '", schema.text_column, "', so it has no other input column to guess");
  std::vector<std::string> labels{schema.label};
  for (const LabelSchema& label : schema.more_labels) labels.push_back(label.name);
  CITADEL_CHECK(std::find(labels.begin(), labels.end(), column) == labels.end(), ValueError, "audit --attribute ",
                column, ": that is the label column; the attack guesses an input column from the label and the "
                "other inputs, so name an input column");
  AttributeSpec spec{.name = column, .features = {}};
  int64_t offset = 0;
  std::string known;
  for (size_t c = 0; c < schema.input_columns.size(); ++c) {
    const int64_t width = schema.categories[c].empty() ? 1 : int64_t(schema.categories[c].size());
    if (schema.input_columns[c] == column) {
      spec.categorical = !schema.categories[c].empty();
      for (int64_t j = 0; j < width; ++j) spec.features.push_back(offset + j);
      return spec;
    }
    offset += width;
    known += (known.empty() ? "" : ", ") + schema.input_columns[c];
  }
  throw ValueError("audit --attribute " + column + ": the model has no input column of that name; its input "
                   "columns are " + known);
}

// Attribute inference's figures as the report holds them, and printed.
nlohmann::json attribute_json(const AttributeInferenceResult& r, const DataSchema& schema) {
  const auto column = std::find(schema.input_columns.begin(), schema.input_columns.end(), r.attribute);
  const std::vector<std::string>& categories = schema.categories[size_t(column - schema.input_columns.begin())];
  auto figures = [](const AttributeInferenceFigures& f) {
    return nlohmann::json{{"rows", f.rows}, {"attack_accuracy", f.attack_accuracy},
                          {"baseline_accuracy", f.baseline_accuracy}, {"advantage", f.advantage},
                          {"advantage_interval", {f.advantage_low, f.advantage_high}}};
  };
  nlohmann::json report{
      {"column", r.attribute},
      {"kind", r.categorical ? "categorical" : "numeric"},
      {"metric", r.categorical ? "accuracy" : "within_bin_accuracy"},
      {"candidates", r.candidate_count},
      {"baseline_guess", r.categorical ? nlohmann::json(categories[size_t(r.baseline_guess)])
                                       : nlohmann::json(r.candidates[size_t(r.baseline_guess)])},
      {"members", figures(r.members)},
      {"non_members", figures(r.non_members)},
      {"gap", {{"value", r.gap}, {"interval", {r.gap_low, r.gap_high}}}},
      {"confidence", r.confidence},
      {"resamples", r.resamples}};
  if (!r.categorical) report["grid"] = r.candidates;  // in the model's input units (after scaling)
  std::printf("Attribute inference on %s (%s, %lld candidates; %s):\n", r.attribute.c_str(),
              r.categorical ? "categories" : "a number", static_cast<long long>(r.candidate_count),
              r.categorical ? "right when the guess is the row's category"
                            : "right when the guess is the grid point nearest the row's value");
  std::printf("  %-12s %-16s %-18s %-10s %s\n", "rows", "attack accuracy", "baseline accuracy", "advantage",
              "95 % interval");
  for (const auto& [name, f] : {std::pair{"members", &r.members}, std::pair{"non-members", &r.non_members}})
    std::printf("  %-12s %-16.4f %-18.4f %-10.4f [%.4f, %.4f]\n", name, f->attack_accuracy, f->baseline_accuracy,
                f->advantage, f->advantage_low, f->advantage_high);
  std::printf("  members' advantage - non-members': %.4f [%.4f, %.4f]; above 0 is what the model leaks about its "
              "training rows\n", r.gap, r.gap_low, r.gap_high);
  return report;
}

struct DpGuarantee {
  double epsilon = 0, delta = 0;
};

// The (ε, δ) a model was trained to: the differential_privacy record train --dp saves in the
// model file (none for a model trained without DP).
std::optional<DpGuarantee> dp_guarantee(const SavedPipeline& saved, const std::string& path) {
  const auto found = saved.metadata.find("differential_privacy");
  if (found == saved.metadata.end()) return std::nullopt;
  const nlohmann::json record = nlohmann::json::parse(found->second, nullptr, false);
  CITADEL_CHECK(record.is_object() && record.contains("epsilon") && record["epsilon"].is_number() &&
                    record.contains("delta") && record["delta"].is_number(),
                IoError, path, ": its differential_privacy record has no numeric epsilon and delta");
  return DpGuarantee{record["epsilon"].get<double>(), record["delta"].get<double>()};
}

int run_audit(const AuditFlags& s) {
  // A model of several outputs is audited through the output --output names: the attacks
  // read that output's loss and confidence, the reference model is that output's part.
  SavedPipeline saved = select_output(load_pipeline(s.keys, s.model_file), s.output_name, "audit");
  CITADEL_CHECK(saved.model.compiled(), IoError, s.model_file, ": has no compile record (its loss) to audit with");
  CITADEL_CHECK(!saved.data.images, ValueError, "audit: give the member and non-member rows as CSV files");
  // --attribute is checked before any attack runs.
  std::optional<AttributeSpec> attribute_column;
  if (!s.attribute.empty()) attribute_column = attribute_spec(saved.data.schema, s.attribute);
  const Rows members = audit_rows(s, saved, s.train_rows_file);
  const Rows non_members = audit_rows(s, saved, s.holdout_file);
  // The reference model: the same architecture and compile settings, freshly initialized.
  const std::string config = model_to_config(saved.model);
  const Model::CompileSettings compile = saved.model.compile_settings();
  auto fresh_model = [&] {
    Model reference = model_from_config(config, s.model_file);
    std::unique_ptr<Optimizer> optimizer = make_optimizer(compile.optimizer);
    optimizer->set_learning_rate(compile.learning_rate);
    reference.compile({.loss = compile.loss, .optimizer = std::move(optimizer)});
    return reference;
  };
  auto make_reference = [&] {
    random::set_seed(s.seed);
    return fresh_model();
  };
  // LiRA's shadows start from weights of their own, as the paper's do: drawn from the global
  // stream after the reference model's seed, so that a run is reproducible.
  auto make_shadow = [&] { return fresh_model(); };
  const ModelInputs member_x = model_inputs(saved.model, saved.data.schema, members.x),
                    non_member_x = model_inputs(saved.model, saved.data.schema, non_members.x);
  auto results = audit_membership(saved.model, member_x.views, {members.y}, non_member_x.views, {non_members.y},
                                  make_reference, {.reference_epochs = s.reference_epochs, .seed = s.seed});
  if (s.attack == "lira") {
    CITADEL_CHECK(saved.data.classification(), ValueError, "audit --attack lira: ", s.model_file,
                  " predicts numbers; LiRA reads the probability a classifier gives each row's label");
    for (auto& r : lira_membership_attacks(saved.model, member_x.views, {members.y}, non_member_x.views,
                                           {non_members.y}, make_shadow,
                                           {.shadows = s.shadows, .epochs = s.reference_epochs, .seed = s.seed}))
      results.push_back(std::move(r));
  }
  // Attribute inference: the attacker's query is the model's loss per row, through the
  // model's inputs as the schema splits them.
  std::optional<AttributeInferenceResult> attribute;
  if (attribute_column) {
    const AttributeSpec& spec = *attribute_column;
    const RowLossQuery loss = [&](ConstTensorView x, ConstTensorView y) {
      const ModelInputs inputs = model_inputs(saved.model, saved.data.schema, x);
      const Tensor losses = saved.model.per_example_loss(inputs.views, {y});
      return std::vector<double>(losses.data(), losses.data() + losses.numel());
    };
    attribute = attribute_inference(loss, members.x, members.y, non_members.x, non_members.y, spec,
                                     {.grid = s.attribute_grid, .seed = s.seed});
  }
  std::printf("Membership inference against %s (%lld member rows, %lld non-member rows)\n", s.model_file.c_str(),
              static_cast<long long>(members.x.shape(0)), static_cast<long long>(non_members.x.shape(0)));
  std::printf("  %-16s %-8s %-18s %-11s %-11s %s\n", "attack", "AUC", "balanced accuracy", "TPR@1%FPR", "TPR@0.1%FPR",
              "epsilon >= (95 %)");
  const std::optional<DpGuarantee> dp = dp_guarantee(saved, s.model_file);
  nlohmann::json attacks = nlohmann::json::array();
  for (const auto& r : results) {
    std::printf("  %-16s %-8.4f %-18.4f %-11.4f %-11.4f %.3g\n", r.attack.c_str(), r.auc, r.balanced_accuracy,
                r.tpr_at_1_percent_fpr, r.tpr_at_0_1_percent_fpr, r.epsilon_lower_bound);
    attacks.push_back({{"attack", r.attack}, {"auc", r.auc}, {"balanced_accuracy", r.balanced_accuracy},
                       {"tpr_at_1_percent_fpr", r.tpr_at_1_percent_fpr},
                       {"tpr_at_0_1_percent_fpr", r.tpr_at_0_1_percent_fpr},
                       {"epsilon_lower_bound", r.epsilon_lower_bound}, {"members", r.members},
                       {"non_members", r.non_members},
                       {"roc", {{"fpr", r.roc.false_positive_rate}, {"tpr", r.roc.true_positive_rate}}}});
    // Within the bound: the scores prove no more ε than the model claims (at 95 %). The raw
    // ROC points above the bound are counted too; with few rows some cross it by chance.
    if (dp) {
      attacks.back()["within_dp_bound"] = r.epsilon_lower_bound <= dp->epsilon;
      attacks.back()["roc_points_above_dp_bound"] = roc_points_above_dp_bound(r.roc, dp->epsilon, dp->delta);
    }
  }
  std::printf("AUC 0.5 means the attacks cannot tell members from non-members; 1.0, that they always can.\n"
              "epsilon >= is what the scores prove at delta 1e-5: a DP model whose epsilon is below it leaks more "
              "than its guarantee allows.\n");
  if (dp) {
    bool within = true;
    for (const auto& r : results) within = within && r.epsilon_lower_bound <= dp->epsilon;
    std::printf("The model was trained with DP at epsilon %.4g, delta %g: %s\n", dp->epsilon, dp->delta,
                within ? "every attack's epsilon >= is within it"
                       : "AN ATTACK PROVES A LARGER EPSILON: the model leaks more than its guarantee allows");
  }
  if (members.x.shape(0) < 1000 || non_members.x.shape(0) < 1000)
    std::printf("TPR@0.1%%FPR needs 1,000 non-members to mean what it says; with fewer it is the TPR at no false "
                "positive.\n");
  nlohmann::json report{{"model_file", s.model_file},
                        {"train", s.train_rows_file},
                        {"holdout", s.holdout_file},
                        {"reference_epochs", s.reference_epochs},
                        {"attack", s.attack},
                        {"attacks", attacks}};
  if (!s.output_name.empty()) report["output"] = s.output_name;
  if (attribute) report["attribute_inference"] = attribute_json(*attribute, saved.data.schema);
  if (dp) {
    // The region any attack on an (ε, δ)-DP model stays in, drawn from the smallest false
    // positive rate the holdout rows can show.
    const DpRocBound bound =
        dp_roc_bound(dp->epsilon, dp->delta, std::min(0.01, 1.0 / double(non_members.x.shape(0))));
    report["differential_privacy"] = {
        {"epsilon", dp->epsilon},
        {"delta", dp->delta},
        {"roc_bound", {{"fpr", bound.false_positive_rate}, {"tpr", bound.true_positive_rate}}}};
  }
  write_outputs(s.output, "audit", report);
  return 0;
}

}  // namespace

Command add_audit_command(CLI::App& app) {
  auto flags = std::make_shared<AuditFlags>();
  AuditFlags& s = *flags;
  CLI::App* command = app.add_subcommand(
      "audit", "Membership-inference audit: how well attacks tell the model's training rows from unseen rows");
  command->add_option("--model", s.model_file, "The saved model to audit")->option_text("FILE")->required();
  add_public_key_flag(*command, s.keys);
  add_decryption_flags(*command, s.keys);
  command->add_option("--train", s.train_rows_file, "Rows the model was trained on (CSV with labels)")
      ->option_text("CSV")
      ->required();
  command->add_option("--holdout", s.holdout_file, "Rows the model never saw (CSV with labels)")
      ->option_text("CSV")
      ->required();
  command->add_option("--reference-epochs", s.reference_epochs,
                      "Epochs of the calibrated attack's reference model and of LiRA's shadows")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  command->add_option("--attack", s.attack,
                      "baseline: the loss and calibrated-loss attacks; lira: LiRA's shadow models (Carlini et al. "
                      "2022) beside them")
      ->capture_default_str()
      ->check(CLI::IsMember({"baseline", "lira"}));
  command->add_option("--shadows", s.shadows, "LiRA's shadow models, each trained on a random half of the rows")
      ->capture_default_str()
      ->check(CLI::Range(2, 1024));
  command->add_option("--seed", s.seed, "Seed of the reference model and its split")->capture_default_str();
  command->add_option("--output", s.output_name,
                      "A model of several outputs: the output whose answers the attacks read, by name (required "
                      "when there are several)")
      ->option_text("NAME");
  command->add_option("--attribute", s.attribute,
                      "Attribute inference on this input column: guess it from the label and the other columns by "
                      "the model's loss, against a guess that never queries the model")
      ->option_text("COLUMN");
  command->add_option("--attribute-grid", s.attribute_grid,
                      "--attribute on a numeric column: the candidate values, quantiles of the audited rows")
      ->capture_default_str()
      ->check(CLI::Range(2, 1000));
  add_output_flags(*command, s.output);
  return {command, [flags] { return run_audit(*flags); }};
}

}  // namespace citadel::cli
