// `citadel scan-backdoor`: Neural Cleanse (Wang et al., S&P 2019) on a saved classifier — the
// smallest trigger that sends clean rows to each label, and the labels whose trigger is an
// outlier by the median-absolute-deviation anomaly index. Image models scan their pixels; a CSV
// model's scaled features are scanned as a 1 × D image, the pattern within the clean rows' range.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "citadel/core/error.hpp"
#include "citadel/provenance/neural_cleanse.hpp"
#include "commands.hpp"
#include "pipeline.hpp"
#include "report.hpp"

namespace citadel::cli {
namespace {

struct ScanBackdoorFlags {
  std::string model_file;  // --model
  std::vector<std::string> references;  // --reference: clean models of the same architecture
  KeyFlags keys;
  DataFlags data;  // --data only
  int64_t rows = 1000;
  NeuralCleanseOptions scan;
  OutputFlags output;
};

// Four decimals: the report's masks and patterns are for the eye and for re-checking norms.
nlohmann::json rounded(ConstTensorView values) {
  nlohmann::json list = nlohmann::json::array();
  for (int64_t i = 0; i < values.numel(); ++i) list.push_back(std::round(double(values[i]) * 1e4) / 1e4);
  return list;
}

int run_scan_backdoor(ScanBackdoorFlags& s) {
  SavedPipeline saved = load_pipeline(s.keys, s.model_file);
  CITADEL_CHECK(saved.data.classification(), ValueError, "scan-backdoor: ", s.model_file,
                " predicts numbers; a backdoor scan looks for a label that a small trigger forces");
  CITADEL_CHECK(saved.data.images || !s.data.data.empty(), ValueError,
                "scan-backdoor: give clean labelled rows to scan with, --data CSV");
  LabelledRows rows = labelled_rows(s.data, saved, s.data.data);
  keep_first_rows(rows, s.rows);
  if (!saved.data.images) {  // scaled features: the pattern spans what clean rows hold
    const auto [low, high] = std::minmax_element(rows.x.data(), rows.x.data() + rows.x.numel());
    s.scan.pattern_min = *low, s.scan.pattern_max = *high;
  }
  NeuralCleanseResult result = neural_cleanse(saved.model, rows.x, s.scan);
  std::vector<NeuralCleanseResult> reference_scans;
  for (const std::string& file : s.references) {
    SavedPipeline reference = load_pipeline(s.keys, file);
    CITADEL_CHECK(reference.data.classification() && reference.data.schema.classes == saved.data.schema.classes &&
                      reference.model.input_shape() == saved.model.input_shape(),
                  ValueError, "scan-backdoor: --reference ", file, " is not a classifier of ", s.model_file,
                  "'s input and classes; references are clean models of the same task");
    reference_scans.push_back(neural_cleanse(reference.model, rows.x, s.scan));
    result.seconds += reference_scans.back().seconds;
  }
  if (!reference_scans.empty()) judge_against_references(result, reference_scans, s.scan);

  const auto& names = saved.data.schema.classes;
  auto name_of = [&](int64_t label) {
    return size_t(label) < names.size() ? names[size_t(label)] : std::to_string(label);
  };
  std::printf("Neural Cleanse of %s on %lld clean rows of %s (%lldx%lldx%lld input, %lld steps per label, %.1f s)\n",
              s.model_file.c_str(), static_cast<long long>(rows.x.shape(0)), rows.source.c_str(),
              static_cast<long long>(result.height), static_cast<long long>(result.width),
              static_cast<long long>(result.channels), static_cast<long long>(s.scan.steps), result.seconds);
  const bool referenced = result.references > 0;
  if (referenced)
    std::printf("  each label judged against its own mask in %lld clean reference model(s): the anomaly index of "
                "L1 / reference L1\n",
                static_cast<long long>(result.references));
  std::printf("  %-16s %-10s %-15s %-14s %s\n", "label", "mask L1", referenced ? "reference L1" : "attack success",
              "anomaly index", "");
  nlohmann::json labels = nlohmann::json::array();
  for (const ReversedTrigger& t : result.labels) {
    const std::string name = name_of(t.label);
    std::printf("  %-16s %-10.2f %-15.4f %-14.2f %s%s\n", name.c_str(), t.l1_norm,
                referenced ? t.reference_l1 : t.attack_success, t.anomaly_index, t.flagged ? "FLAGGED" : "",
                t.reached ? "" : "(never reached the success threshold)");
    nlohmann::json entry = {{"label", name},
                      {"class_index", t.label},
                      {"l1_norm", t.l1_norm},
                      {"attack_success", t.attack_success},
                      {"reached_threshold", t.reached},
                      {"anomaly_index", finite_or_null(t.anomaly_index)},
                      {"flagged", t.flagged},
                      {"steps", t.steps},
                      {"final_lambda", t.final_lambda},
                      {"mask", rounded(t.mask)},
                      {"pattern", rounded(t.pattern)}};
    if (referenced) entry["reference_l1"] = t.reference_l1, entry["relative_l1"] = t.relative_l1;
    labels.push_back(entry);
  }
  nlohmann::json flagged = nlohmann::json::array();
  std::string flagged_text;
  for (int64_t label : result.flagged) {
    flagged.push_back(name_of(label));
    if (!flagged_text.empty()) flagged_text += ", ";
    flagged_text += name_of(label);
  }
  if (result.flagged.empty())
    std::printf("Verdict: no label's trigger is anomalously small (anomaly index <= %g): no backdoor found\n",
                s.scan.flag_threshold);
  else
    std::printf("Verdict: BACKDOOR SUSPECTED, target label(s) %s (median %s %.2f, MAD %.2f)\n", flagged_text.c_str(),
                referenced ? "L1 / reference L1" : "mask L1", result.median_l1, result.median_absolute_deviation);

  nlohmann::json report{{"model_file", s.model_file},
                        {"data", rows.source},
                        {"rows", rows.x.shape(0)},
                        {"scan", "neural_cleanse"},
                        {"steps", s.scan.steps},
                        {"seed", s.scan.seed},
                        {"image", {{"height", result.height}, {"width", result.width}, {"channels", result.channels}}},
                        {"pattern_range", {s.scan.pattern_min, s.scan.pattern_max}},
                        {"success_threshold", s.scan.success_threshold},
                        {"flag_threshold", s.scan.flag_threshold},
                        {"min_relative_gap", s.scan.min_relative_gap},
                        {"references", s.references},
                        {"judged_on", referenced ? "l1_norm / reference_l1 (per-label references)" : "l1_norm"},
                        {"median_l1", result.median_l1},
                        {"median_absolute_deviation", result.median_absolute_deviation},
                        {"seconds", result.seconds},
                        {"backdoor_suspected", !result.flagged.empty()},
                        {"flagged", flagged},
                        {"labels", labels}};
  write_outputs(s.output, "scan-backdoor", report);
  return 0;
}

}  // namespace

Command add_scan_backdoor_command(CLI::App& app) {
  auto flags = std::make_shared<ScanBackdoorFlags>();
  ScanBackdoorFlags& s = *flags;
  CLI::App* command = app.add_subcommand(
      "scan-backdoor", "Look for a backdoor in a saved classifier: Neural Cleanse (Wang et al. 2019) reverses the "
                       "smallest trigger for each label and flags a label whose trigger is anomalously small");
  command->add_option("--model", s.model_file, "The saved classifier to scan")->option_text("FILE")->required();
  command->add_option("--reference", s.references,
                      "A clean model of the same architecture and task (repeatable): each label's mask is judged "
                      "against its own mask in these, since labels differ naturally in the trigger they need")
      ->option_text("FILE");
  add_public_key_flag(*command, s.keys);
  add_decryption_flags(*command, s.keys);
  command->add_option("--data", s.data.data,
                      "Clean labelled CSV rows to reverse triggers on (Fashion-MNIST models: its test split)")
      ->option_text("CSV");
  command->add_option("--rows", s.rows, "Use the first N clean rows")->capture_default_str()->check(CLI::PositiveNumber);
  command->add_option("--steps", s.scan.steps, "Optimization steps per label (fewer when a label's mask stops shrinking)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t(1), int64_t(100000)));
  command->add_option("--seed", s.scan.seed, "Seed of the initial masks and patterns and of the batches")
      ->capture_default_str();
  add_output_flags(*command, s.output);
  return {command, [flags] { return run_scan_backdoor(*flags); }};
}

}  // namespace citadel::cli
