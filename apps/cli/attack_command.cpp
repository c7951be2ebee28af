// `citadel attack`: accuracy of a saved model under FGSM or PGD for a list of ε, as a
// table and JSON, and the adversarial examples on request; for a text model, in the space
// of its embeddings (--space embedding), with the nearest-token projection beside.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <memory>
#include <cstdio>
#include <sstream>

#include "citadel/attacks/embedding_attack.hpp"
#include "citadel/core/atomic_file.hpp"
#include "citadel/core/error.hpp"
#include "citadel/data/feature_groups.hpp"
#include "citadel/data/idx.hpp"
#include "citadel/data/scaler.hpp"
#include "citadel/data/split.hpp"
#include "commands.hpp"
#include "output_choice.hpp"
#include "pipeline.hpp"
#include "protection.hpp"

namespace citadel::cli {
namespace {

struct AttackCommandFlags {
  std::string model_file;  // --model
  KeyFlags keys;
  DataFlags data;  // --data only
  AttackFlags attack;
  uint64_t seed = 42;
  std::string output_name;  // --output: the output attacked (a model of several)
  std::string space = "input";  // --space: input (pixels, features) or embedding (a text model's)
  OutputFlags output;
};

struct AttackData {
  Tensor x, y;
  std::string source;
};

// The rows to attack, preprocessed as the model expects: Fashion-MNIST's test split, or
// the labelled rows of --data.
AttackData rows_to_attack(const AttackCommandFlags& s, SavedPipeline& saved) {
  CITADEL_CHECK(saved.data.images || !s.data.data.empty(), ValueError,
                "attack: give the labelled rows to attack with --data CSV");
  LabelledRows labelled = labelled_rows(s.data, saved, s.data.data);
  keep_first_rows(labelled, s.attack.rows);
  return {labelled.x, labelled.y, labelled.source};
}

// label, then the attacked input's values as the model sees them (pixels in [0, 1]; scaled
// features, `names` naming them).
void save_examples(const std::string& path, const Tensor& x, const Tensor& y, const PreparedData& data,
                   const std::vector<std::string>& names) {
  const int64_t rows = x.shape(0), features = x.numel() / std::max<int64_t>(rows, 1);
  std::ostringstream out;
  out.precision(9);
  out << "label";
  for (int64_t f = 0; f < features; ++f)
    out << "," << (f < static_cast<int64_t>(names.size()) ? names[f] : "pixel" + std::to_string(f));
  out << "\n";
  for (int64_t r = 0; r < rows; ++r) {
    const auto label = static_cast<size_t>(y[r]);
    out << (label < data.schema.classes.size() ? data.schema.classes[label] : std::to_string(y[r]));
    for (int64_t f = 0; f < features; ++f) out << "," << x[r * features + f];
    out << "\n";
  }
  write_file_atomically(path, out.str());
}

// The class --target names, as every row's label in the shape of `labels`, in the loss's form.
Tensor target_labels(const std::string& target_class, const Tensor& labels, const PreparedData& data) {
  const auto& classes = data.schema.classes;
  const auto found = std::find(classes.begin(), classes.end(), target_class);
  std::string known;
  for (const auto& name : classes) known += (known.empty() ? "" : ", ") + name;
  CITADEL_CHECK(found != classes.end(), ValueError, "--target: '", target_class, "' is not a class; classes: ", known);
  Tensor targets = labels;  // the labels' shape, every row the target class
  for (int64_t r = 0; r < targets.numel(); ++r) targets[r] = float(found - classes.begin());
  return targets_for_loss(targets, data);
}

// --space embedding: FGSM/PGD on the vectors the model's Embedding gives, ε a fraction of
// the table's mean row norm per token, and each result's nearest-token projection.
int run_embedding_attack(const AttackCommandFlags& s, SavedPipeline& saved, const std::vector<double>& epsilons) {
  const AttackFlags& a = s.attack;
  CITADEL_CHECK(a.examples_out.empty(), ValueError, "attack --space embedding: --save-examples writes model inputs; "
                "the examples of an embedding-space attack are vectors, not text, so it is not offered");
  CITADEL_CHECK(a.attack_input.empty(), ValueError, "attack --space embedding: --attack-input chooses among a model's "
                "inputs; the attack moves the Embedding's output, which reads the token ids");
  EmbeddingSite site;
  try {
    site = find_embedding(saved.model);
  } catch (const Error& e) {
    throw ValueError(s.model_file + ": " + e.what());
  }
  AttackData rows = rows_to_attack(s, saved);
  const Tensor y = targets_for_loss(rows.y, saved.data);
  EmbeddingAttackOptions options{
      .attack = {.method = a.method, .norm = a.norm, .step_size = static_cast<float>(a.step_size.value_or(0)),
                 .steps = a.steps, .restarts = a.restarts, .seed = s.seed},
      .layer = site.layer};
  if (!a.target_class.empty()) options.attack.targets = target_labels(a.target_class, rows.y, saved.data);
  const ModelInputs inputs = model_inputs(saved.model, saved.data.schema, rows.x);
  const double scale = embedding_scale(saved.model, site.layer, a.norm, options.padding_id);
  const auto curve = embedding_robustness_curve(saved.model, inputs.views, y, options, epsilons);

  std::printf("%s %s attack on the embeddings ('%s') of %s (%lld rows of %s)%s\n", a.method.c_str(),
              a.norm.c_str(), site.layer.c_str(), s.model_file.c_str(), static_cast<long long>(rows.x.shape(0)),
              rows.source.c_str(), options.attack.targets ? (", targeted at class " + a.target_class).c_str() : "");
  std::printf("  epsilon is a fraction of the table's mean %s row norm (%.4g), per token; padding never moves\n",
              a.norm == "l2" ? "L2" : "Linf", scale);
  std::printf("  %-9s %-9s %-9s %-15s | %-15s %-18s %-12s\n", "epsilon", "radius", "accuracy", "attack success",
              "tokens changed", "rows with changes", "accuracy on");
  std::printf("  %-9s %-9s %-9s %-15s | %-15s %-18s %-12s\n", "", "", "(vectors)", "", "(nearest token)", "",
              "real tokens");
  nlohmann::json results = nlohmann::json::array();
  for (const auto& point : curve) {
    const std::string changed = std::to_string(point.tokens_changed) + "/" + std::to_string(point.tokens);
    std::printf("  %-9g %-9.4g %-9.4f %-15.4f | %-15s %-18.4f %-12.4f\n", point.epsilon, point.radius, point.accuracy,
                point.attack_success, changed.c_str(), point.rows_with_changed_tokens, point.projected_accuracy);
    results.push_back({{"epsilon", point.epsilon},
                       {"radius", point.radius},
                       {"accuracy", point.accuracy},
                       {"attack_success", point.attack_success},
                       {"mean_token_l2", point.mean_token_l2},
                       {"mean_token_linf", point.mean_token_linf},
                       {"nearest_token_projection",
                        {{"tokens", point.tokens},
                         {"tokens_changed", point.tokens_changed},
                         {"rows_with_changed_tokens", point.rows_with_changed_tokens},
                         {"accuracy", point.projected_accuracy},
                         {"attack_success", point.projected_attack_success}}}});
  }
  std::printf("Accuracy (vectors) is under moves of the embeddings no text need produce; accuracy on real tokens is\n"
              "the model's on the nearest-token sequences, one substitution a token at most: see docs/SECURITY.md.\n");
  nlohmann::json report{{"model_file", s.model_file},
                        {"data", rows.source},
                        {"rows", rows.x.shape(0)},
                        {"space", "embedding"},
                        {"layer", site.layer},
                        {"method", a.method},
                        {"norm", a.norm},
                        {"steps", a.steps},
                        {"restarts", a.restarts},
                        {"scale", scale},
                        {"units", std::string("fraction of the mean ") + (a.norm == "l2" ? "L2" : "Linf") +
                                      " norm of the embedding table's rows, per token"},
                        {"results", results}};
  if (options.attack.targets) report["target"] = a.target_class;
  if (!s.output_name.empty()) report["output"] = s.output_name;
  write_outputs(s.output, "attack", report);
  return 0;
}

int run_attack(const AttackCommandFlags& s) {
  const AttackFlags& a = s.attack;
  CITADEL_CHECK(!s.model_file.empty(), ValueError, "attack: give the model to attack with --model FILE");
  const std::vector<double> epsilons = epsilon_list(a.eps, "--eps");
  // A model of several outputs is attacked through the output --output names (the loss the
  // attack climbs and the accuracy it reports are that output's).
  SavedPipeline saved = select_output(load_pipeline(s.keys, s.model_file), s.output_name, "attack");
  CITADEL_CHECK(saved.model.compiled(), IoError, s.model_file, ": has no compile record (its loss) to attack with");
  CITADEL_CHECK(saved.data.classification(), ValueError, "attack: ", s.model_file,
                " predicts numbers; attacks here measure classification accuracy");
  if (s.space == "embedding") return run_embedding_attack(s, saved, epsilons);
  // Token ids are symbols, not a space to step in: a text model is attacked in its embeddings.
  const std::vector<std::string> dtypes = saved.model.input_dtypes();
  const bool reads_ids = std::any_of(dtypes.begin(), dtypes.end(), [](const std::string& d) { return d != "float32"; });
  CITADEL_CHECK(!reads_ids, ValueError, "attack: ", s.model_file, " reads ",
                saved.data.schema.text_column.empty() ? std::string("token ids")
                                                       : "text (the column '" + saved.data.schema.text_column + "')",
                ": its inputs are token ids, which FGSM and PGD cannot step through; attack its embeddings with "
                "--space embedding");
  AttackData rows = rows_to_attack(s, saved);
  const Tensor y = targets_for_loss(rows.y, saved.data);
  AttackOptions options = attack_options(a, s.seed, saved.data, rows.x);
  choose_attacked_input(options, saved.model, saved.data, a.attack_input);
  // A model of several inputs takes each from its column group; one of them is attacked.
  const ModelInputs inputs = model_inputs(saved.model, saved.data.schema, rows.x);
  std::vector<std::string> feature_names;  // of the attacked input
  if (!saved.data.images) feature_names = saved.data.schema.feature_names();
  if (inputs.views.size() > 1) {
    const std::vector<std::string> all = feature_names;
    feature_names.clear();
    const std::vector<FeatureGroup> attacked = feature_groups(saved.data.schema, {a.attack_input});
    for (const int64_t f : attacked.front().features) feature_names.push_back(all[size_t(f)]);
  }
  if (!a.target_class.empty()) options.targets = target_labels(a.target_class, rows.y, saved.data);
  const auto curve = robustness_curve(saved.model, inputs.views, y, options, epsilons);

  std::printf("%s %s attack on %s (%lld rows of %s)%s\n", a.method.c_str(), a.norm.c_str(),
              s.model_file.c_str(), static_cast<long long>(rows.x.shape(0)), rows.source.c_str(),
              options.targets ? (", targeted at class " + a.target_class).c_str() : "");
  std::printf("  %-10s %-10s %-15s %-10s %-10s\n", "epsilon", "accuracy", "attack success", "mean Linf",
              "mean L2");
  nlohmann::json results = nlohmann::json::array();
  for (const auto& point : curve) {
    std::printf("  %-10g %-10.4f %-15.4f %-10.4g %-10.4g\n", point.epsilon, point.accuracy, point.attack_success,
                point.mean_linf, point.mean_l2);
    results.push_back({{"epsilon", point.epsilon}, {"accuracy", point.accuracy},
                       {"attack_success", point.attack_success}, {"mean_linf", point.mean_linf},
                       {"mean_l2", point.mean_l2}});
  }
  if (!a.examples_out.empty()) {
    AttackOptions strongest = options;
    strongest.epsilon = static_cast<float>(*std::max_element(epsilons.begin(), epsilons.end()));
    save_examples(a.examples_out, adversarial_examples(saved.model, inputs.views, {y}, strongest), rows.y, saved.data,
                  feature_names);
    std::printf("Wrote the adversarial examples for epsilon %g to %s\n", strongest.epsilon, a.examples_out.c_str());
  }
  nlohmann::json report{{"model_file", s.model_file},
                        {"data", rows.source},
                        {"rows", rows.x.shape(0)},
                        {"method", a.method},
                        {"norm", a.norm},
                        {"steps", a.steps},
                        {"restarts", a.restarts},
                        {"units", saved.data.images ? "pixels in [0, 1]" : "scaled features (the model's inputs)"},
                        {"results", results}};
  if (options.targets) report["target"] = a.target_class;
  if (inputs.views.size() > 1) report["attacked_input"] = a.attack_input;
  if (!s.output_name.empty()) report["output"] = s.output_name;
  write_outputs(s.output, "attack", report);
  return 0;
}

}  // namespace

Command add_attack_command(CLI::App& app) {
  auto flags = std::make_shared<AttackCommandFlags>();
  AttackCommandFlags& s = *flags;
  AttackFlags& a = s.attack;
  CLI::App* command = app.add_subcommand(
      "attack", "Accuracy of a saved model under adversarial attack (FGSM or PGD) for each --eps");
  command->add_option("--model", s.model_file, "The saved model to attack")->option_text("FILE")->required();
  add_public_key_flag(*command, s.keys);
  add_decryption_flags(*command, s.keys);
  command->add_option("--data", s.data.data, "Labelled CSV rows to attack (Fashion-MNIST models: its test split)")
      ->option_text("CSV");
  command->add_option("--eps,--epsilon", a.eps,
                      "Attack radii, comma-separated (pixels in [0, 1]; CSV: scaled feature units; --space embedding: "
                      "fractions of the embedding table's mean row norm, per token)")
      ->required();
  command->add_option("--space", s.space,
                      "input: move the model's inputs; embedding: move a text model's embeddings (the vectors its "
                      "Embedding gives the token ids), and report the nearest real tokens")
      ->capture_default_str()
      ->check(CLI::IsMember({"input", "embedding"}));
  command->add_option("--method", a.method, "fgsm or pgd")
      ->capture_default_str()
      ->check(CLI::IsMember({"fgsm", "pgd"}));
  command->add_option("--norm", a.norm, "linf or l2")->capture_default_str()->check(CLI::IsMember({"linf", "l2"}));
  command->add_option("--steps", a.steps, "PGD steps")->capture_default_str()->check(CLI::Range(1, 10000));
  command->add_option("--step-size", a.step_size, "PGD step (default: 2.5·eps/steps)")->check(CLI::PositiveNumber);
  command->add_option("--restarts", a.restarts, "PGD restarts from random points (the strongest is kept)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  command->add_option("--target", a.target_class, "Targeted attack: push every row towards this class");
  command->add_option("--rows", a.rows, "Attack only the first N rows")->check(CLI::PositiveNumber);
  command->add_option("--save-examples", a.examples_out,
                      "Write the adversarial examples of the largest eps as CSV (label, then model inputs)")
      ->option_text("FILE");
  command->add_option("--seed", s.seed, "Seed of the random starts")->capture_default_str();
  command->add_option("--output", s.output_name,
                      "A model of several outputs: the output to attack, by name (it must classify; required when "
                      "there are several)")
      ->option_text("NAME");
  add_attack_input_flag(*command, a);
  add_output_flags(*command, s.output);
  return {command, [flags] { return run_attack(*flags); }};
}

}  // namespace citadel::cli
