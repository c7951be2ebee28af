// `citadel certify`: certified robustness of a saved classifier — ℓ2 by randomized smoothing
// (Cohen et al. 2019: certified accuracy against the radius, each row's certificate) or ℓ∞ by
// interval bound propagation (Gowal et al. 2018: verified accuracy against ε) — and on request
// the accuracy under PGD beside it (an upper bound above the certified lower bound).
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <limits>
#include <memory>

#include "citadel/attacks/adversarial.hpp"
#include "citadel/attacks/interval_bounds.hpp"
#include "citadel/attacks/randomized_smoothing.hpp"
#include "citadel/core/error.hpp"
#include "commands.hpp"
#include "output_choice.hpp"
#include "pipeline.hpp"
#include "protection.hpp"

namespace citadel::cli {
namespace {

struct CertifyFlags {
  std::string model_file;  // --model
  KeyFlags keys;
  DataFlags data;  // --data only
  std::string method = "smoothing";  // or "ibp"
  SmoothingOptions smoothing{.seed = 42};
  std::optional<std::string> radii;  // unset: the method's default list
  std::optional<int64_t> rows;
  bool attack = false;  // --attack: PGD against the smoothed classifier at each radius
  std::string output_name;
  OutputFlags output;
};

// The smoothed classifier's accuracy on rows moved by PGD (ℓ2, against the base model) at
// radius r, each judged by PREDICT: an upper bound on its accuracy within r.
double accuracy_under_attack(Model& model, const LabelledRows& rows, const std::vector<int64_t>& labels,
                             double radius, const CertifyFlags& s, const SavedPipeline& saved) {
  Tensor moved = rows.x;
  if (radius > 0) {
    AttackOptions pgd{.method = "pgd", .norm = "l2", .epsilon = float(radius), .steps = 20, .seed = s.smoothing.seed};
    // No valid range: the noise the certificate speaks of is not clipped either.
    pgd.clip_min = -std::numeric_limits<float>::max(), pgd.clip_max = std::numeric_limits<float>::max();
    moved = adversarial_examples(model, rows.x, targets_for_loss(rows.y, saved.data), pgd);
  }
  SmoothingOptions options = s.smoothing;
  options.seed += 1;  // PREDICT's noise is not CERTIFY's
  const std::vector<int64_t> answers = smoothed_predict(model, moved, options);
  int64_t correct = 0;
  for (size_t r = 0; r < answers.size(); ++r) correct += answers[r] == labels[r];
  return answers.empty() ? 0.0 : double(correct) / double(answers.size());
}

// The model and rows both methods read, checked alike.
struct CertifyInputs {
  SavedPipeline saved;
  LabelledRows rows;
  std::vector<int64_t> labels;
};

CertifyInputs certify_inputs(const CertifyFlags& s) {
  SavedPipeline saved = select_output(load_pipeline(s.keys, s.model_file), s.output_name, "certify");
  CITADEL_CHECK(saved.data.classification(), ValueError, "certify: ", s.model_file,
                " predicts numbers; certificates here are of a classifier's class");
  CITADEL_CHECK(saved.model.input_count() == 1, ValueError, "certify: ", s.model_file, " takes ",
                saved.model.input_count(), " inputs; randomized smoothing here takes a model of one input");
  CITADEL_CHECK(saved.data.images || !s.data.data.empty(), ValueError,
                "certify: give the labelled rows to certify with --data CSV");
  LabelledRows rows = labelled_rows(s.data, saved, s.data.data);
  keep_first_rows(rows, s.rows);
  const int64_t classes = int64_t(std::max<size_t>(saved.data.schema.classes.size(), 2));
  std::vector<int64_t> labels = label_classes(rows.y, classes);
  return {std::move(saved), std::move(rows), std::move(labels)};
}

std::string units_of(const SavedPipeline& saved) {
  return saved.data.images ? "pixels in [0, 1]" : "scaled features (the model's inputs)";
}

int run_smoothing(const CertifyFlags& s) {
  const std::vector<double> radii = epsilon_list(s.radii.value_or("0,0.25,0.5,0.75,1"), "--radii");
  CertifyInputs inputs = certify_inputs(s);
  SavedPipeline& saved = inputs.saved;
  const LabelledRows& rows = inputs.rows;
  const std::vector<int64_t>& labels = inputs.labels;

  const auto start = std::chrono::steady_clock::now();
  const std::vector<SmoothedCertificate> certificates = certify(saved.model, rows.x, s.smoothing);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::vector<CertifiedAccuracyPoint> curve = certified_accuracy(certificates, rows.y, radii);

  const SmoothingOptions& o = s.smoothing;
  std::printf("Randomized smoothing of %s on %lld rows of %s: sigma %g, n0 %lld, n %lld, alpha %g (%.1f s)\n",
              s.model_file.c_str(), static_cast<long long>(rows.x.shape(0)), rows.source.c_str(), o.sigma,
              static_cast<long long>(o.selection_samples), static_cast<long long>(o.estimation_samples), o.alpha,
              seconds);
  int64_t abstained = 0;
  for (const SmoothedCertificate& c : certificates) abstained += c.predicted_class == kAbstain;
  std::printf("  abstained on %lld rows (the top class's probability not shown above 1/2)\n",
              static_cast<long long>(abstained));
  std::printf("  %-10s %-20s%s\n", "L2 radius", "certified accuracy", s.attack ? " accuracy under PGD" : "");
  nlohmann::json results = nlohmann::json::array();
  for (const CertifiedAccuracyPoint& point : curve) {
    nlohmann::json result{{"radius", point.radius}, {"certified_accuracy", point.certified_accuracy}};
    if (s.attack) {
      const double attacked = accuracy_under_attack(saved.model, rows, labels, point.radius, s, saved);
      result["accuracy_under_pgd"] = attacked;
      std::printf("  %-10g %-20.4f %.4f\n", point.radius, point.certified_accuracy, attacked);
    } else {
      std::printf("  %-10g %.4f\n", point.radius, point.certified_accuracy);
    }
    results.push_back(result);
  }
  nlohmann::json per_row = nlohmann::json::array();
  const auto& names = saved.data.schema.classes;
  auto class_name = [&](int64_t c) -> nlohmann::json {
    if (c == kAbstain) return nullptr;
    return size_t(c) < names.size() ? nlohmann::json(names[size_t(c)]) : nlohmann::json(c);
  };
  for (size_t r = 0; r < certificates.size(); ++r) {
    const SmoothedCertificate& c = certificates[r];
    per_row.push_back({{"row", r},
                       {"label", class_name(labels[r])},
                       {"predicted", class_name(c.predicted_class)},
                       {"radius", c.radius},
                       {"probability_lower", c.probability_lower},
                       {"count", c.count}});
  }
  nlohmann::json report{
      {"model_file", s.model_file},
      {"data", rows.source},
      {"rows", rows.x.shape(0)},
      {"units", units_of(saved)},
      {"method", "smoothing"},
      {"smoothing",
       {{"sigma", o.sigma}, {"n0", o.selection_samples}, {"n", o.estimation_samples}, {"alpha", o.alpha},
        {"seed", o.seed}}},
      {"abstained", abstained},
      {"seconds", seconds},
      {"certified", results},
      {"certificates", per_row}};
  if (!s.output_name.empty()) report["output"] = s.output_name;
  write_outputs(s.output, "certify", report);
  return 0;
}

// The base model's accuracy on rows moved by PGD (ℓ∞, in the valid range) at ε: an upper bound
// on its accuracy within ε, above the verified lower bound.
double accuracy_under_linf_pgd(Model& model, const LabelledRows& rows, double epsilon, const IntervalBoxOptions& box,
                               const CertifyFlags& s, const SavedPipeline& saved) {
  Tensor moved = rows.x;
  if (epsilon > 0) {
    AttackOptions pgd{.method = "pgd", .norm = "linf", .epsilon = float(epsilon), .steps = 20, .restarts = 2,
                      .seed = s.smoothing.seed};
    pgd.clip_min = box.clip_min, pgd.clip_max = box.clip_max;
    moved = adversarial_examples(model, rows.x, targets_for_loss(rows.y, saved.data), pgd);
  }
  const std::vector<uint8_t> right = correct_predictions(model, moved, rows.y);
  return right.empty() ? 0.0 : double(std::count(right.begin(), right.end(), uint8_t{1})) / double(right.size());
}

int run_interval_bounds(const CertifyFlags& s) {
  const std::vector<double> epsilons = epsilon_list(s.radii.value_or("0,0.01,0.03,0.05,0.1"), "--radii");
  CertifyInputs inputs = certify_inputs(s);
  SavedPipeline& saved = inputs.saved;
  const LabelledRows& rows = inputs.rows;
  // Pixels stay in [0, 1]; scaled CSV features are left unbounded (sound, if looser).
  IntervalBoxOptions box;
  if (saved.data.images) box.clip_min = 0.0f, box.clip_max = 1.0f;
  const auto start = std::chrono::steady_clock::now();
  std::vector<double> verified_at(size_t(rows.x.shape(0)), -1.0);  // the largest ε each row verifies at
  nlohmann::json results = nlohmann::json::array();
  std::printf("Interval bound propagation of %s on %lld rows of %s (L-inf)\n", s.model_file.c_str(),
              static_cast<long long>(rows.x.shape(0)), rows.source.c_str());
  std::printf("  %-10s %-20s%s\n", "L-inf eps", "verified accuracy", s.attack ? " accuracy under PGD" : "");
  for (double epsilon : epsilons) {
    box.epsilon = epsilon;
    const std::vector<uint8_t> verified = verified_rows(saved.model, rows.x, rows.y, box, s.smoothing.batch_size);
    int64_t count = 0;
    for (size_t r = 0; r < verified.size(); ++r)
      if (verified[r]) ++count, verified_at[r] = std::max(verified_at[r], epsilon);
    const double accuracy = verified.empty() ? 0.0 : double(count) / double(verified.size());
    nlohmann::json result{{"epsilon", epsilon}, {"verified_accuracy", accuracy}};
    if (s.attack) {
      const double attacked = accuracy_under_linf_pgd(saved.model, rows, epsilon, box, s, saved);
      result["accuracy_under_pgd"] = attacked;
      std::printf("  %-10g %-20.4f %.4f\n", epsilon, accuracy, attacked);
    } else {
      std::printf("  %-10g %.4f\n", epsilon, accuracy);
    }
    results.push_back(result);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  nlohmann::json per_row = nlohmann::json::array();
  for (size_t r = 0; r < verified_at.size(); ++r)
    per_row.push_back({{"row", r}, {"verified_up_to", verified_at[r] < 0 ? nlohmann::json(nullptr) : nlohmann::json(verified_at[r])}});
  nlohmann::json report{{"model_file", s.model_file},
                        {"data", rows.source},
                        {"rows", rows.x.shape(0)},
                        {"units", units_of(saved)},
                        {"method", "ibp"},
                        {"norm", "linf"},
                        {"seconds", seconds},
                        {"verified", results},
                        {"certificates", per_row}};
  if (!s.output_name.empty()) report["output"] = s.output_name;
  write_outputs(s.output, "certify", report);
  return 0;
}

int run_certify(const CertifyFlags& s) {
  return s.method == "ibp" ? run_interval_bounds(s) : run_smoothing(s);
}

}  // namespace

Command add_certify_command(CLI::App& app) {
  auto flags = std::make_shared<CertifyFlags>();
  CertifyFlags& s = *flags;
  CLI::App* command = app.add_subcommand(
      "certify", "Certified robustness of a saved classifier: L2 by randomized smoothing (Cohen et al. 2019), or L-inf "
                 "by interval bound propagation (--method ibp, Gowal et al. 2018)");
  command->add_option("--model", s.model_file, "The saved model (train it with --gaussian-augmentation SIGMA)")
      ->option_text("FILE")
      ->required();
  command->add_option("--method", s.method,
                      "smoothing: certified L2 radii of the smoothed classifier; ibp: verified L-inf robustness of "
                      "the model itself (train it with --certified-training ibp)")
      ->capture_default_str()
      ->check(CLI::IsMember({"smoothing", "ibp"}));
  add_public_key_flag(*command, s.keys);
  add_decryption_flags(*command, s.keys);
  command->add_option("--data", s.data.data, "Labelled CSV rows to certify (Fashion-MNIST models: its test split)")
      ->option_text("CSV");
  command->add_option("--sigma", s.smoothing.sigma, "Standard deviation of the Gaussian noise (the model's units)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  command->add_option("--n0", s.smoothing.selection_samples, "Noisy copies that choose each row's class")
      ->capture_default_str()
      ->check(CLI::Range(int64_t(1), int64_t(100000000)));
  command->add_option("--n", s.smoothing.estimation_samples, "Noisy copies that bound the class's probability")
      ->capture_default_str()
      ->check(CLI::Range(int64_t(1), int64_t(100000000)));
  command->add_option("--alpha", s.smoothing.alpha, "Each certificate is wrong with probability at most alpha")
      ->capture_default_str()
      ->check(CLI::Range(1e-12, 0.5));
  command->add_option("--radii", s.radii,
                      "Radii to report certified accuracy at, comma-separated (smoothing: L2, default "
                      "0,0.25,0.5,0.75,1; ibp: L-inf, default 0,0.01,0.03,0.05,0.1)");
  command->add_option("--rows", s.rows, "Certify only the first N rows")->check(CLI::PositiveNumber);
  command->add_option("--batch-size", s.smoothing.batch_size, "Noisy copies (ibp: rows) per forward pass")
      ->capture_default_str()
      ->check(CLI::Range(int64_t(1), int64_t(1000000)));
  command->add_option("--seed", s.smoothing.seed, "Seed of the noise")->capture_default_str();
  command->add_flag("--attack", s.attack,
                    "Also report the accuracy under PGD at each radius (smoothing: the smoothed classifier's, L2; ibp: "
                    "the model's, L-inf): an upper bound");
  command->add_option("--output", s.output_name, "A model of several outputs: the output to certify, by name")
      ->option_text("NAME");
  add_output_flags(*command, s.output);
  // Options of randomized smoothing alone: given with --method ibp they would be silently ignored.
  std::vector<CLI::Option*> smoothing_only;
  for (const char* name : {"--sigma", "--n0", "--n", "--alpha"}) smoothing_only.push_back(command->get_option(name));
  return {command, [flags, smoothing_only] {
            if (flags->method == "ibp")
              for (const CLI::Option* option : smoothing_only)
                CITADEL_CHECK(option->count() == 0, ValueError, "certify: ", option->get_name(),
                              " is an option of randomized smoothing; --method ibp does not use it");
            return run_certify(*flags);
          }};
}

}  // namespace citadel::cli
