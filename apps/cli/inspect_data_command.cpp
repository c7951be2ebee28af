// `citadel inspect-data`: poison inspection (citadel/provenance/poison_inspection.hpp) of the rows
// a saved classifier was trained on — per class the verdict, per flagged row its index, class and
// score (--flagged CSV), and the report's section; retraining without them is the user's next run.
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <memory>
#include <string>
#include <vector>

#include "citadel/core/atomic_file.hpp"
#include "citadel/core/error.hpp"
#include "citadel/data/csv_field.hpp"
#include "citadel/data/idx.hpp"
#include "citadel/data/scaler.hpp"
#include "citadel/provenance/poison_inspection.hpp"
#include "commands.hpp"
#include "pipeline.hpp"
#include "report.hpp"

namespace citadel::cli {
namespace {

struct InspectDataFlags {
  std::string model_file;  // --model
  KeyFlags keys;
  DataFlags data;
  std::string flagged_file;  // --flagged
  PoisonInspectionOptions inspection;
  OutputFlags output;
};

int run_inspect_data(InspectDataFlags& s) {
  SavedPipeline saved = load_pipeline(s.keys, s.model_file);
  CITADEL_CHECK(saved.data.classification(), ValueError, "inspect-data: ", s.model_file,
                " predicts numbers; poison inspection looks at the rows of each class of a classifier");
  LabelledRows rows;
  if (saved.data.images && (s.data.data.empty() || s.data.data == "fashion-mnist")) {
    ImageDataset images = load_fashion_mnist();
    rows.x = std::move(images.x_train), rows.y = std::move(images.y_train);
    scale_pixels(rows.x.view());
    rows.source = "the Fashion-MNIST training split";
  } else {
    CITADEL_CHECK(!s.data.data.empty(), ValueError, "inspect-data: give the labelled training rows, --data CSV");
    rows = labelled_rows(s.data, saved, s.data.data);
  }
  const PoisonInspection result = inspect_poison(saved.model, rows.x, rows.y, s.inspection);

  const auto& names = saved.data.schema.classes;
  auto name_of = [&](int64_t label) {
    return size_t(label) < names.size() ? names[size_t(label)] : std::to_string(label);
  };
  std::printf("Poison inspection of %lld rows of %s by %s (representations: layer %s%s)\n",
              static_cast<long long>(rows.x.shape(0)), rows.source.c_str(), s.model_file.c_str(), result.layer.c_str(),
              s.inspection.logit_shares ? ", per-unit shares of the label's logit" : "");
  nlohmann::json classes = nlohmann::json::array();
  for (const ClassInspection& c : result.classes) {
    std::printf("  %-16s %7lld rows  %s\n", name_of(c.label).c_str(), static_cast<long long>(c.rows),
                c.verdict.c_str());
    classes.push_back({{"label", name_of(c.label)},
                       {"class_index", c.label},
                       {"rows", c.rows},
                       {"inspected", c.inspected},
                       {"candidates", c.candidates},
                       {"skewness", c.skewness},
                       {"singular_value", c.singular_value},
                       {"cluster_share", c.cluster_share},
                       {"ashman_d", finite_or_null(c.ashman_d)},
                       {"candidate_disagreement", c.candidate_disagreement},
                       {"typical_disagreement", c.typical_disagreement},
                       {"disagreement_z", finite_or_null(c.disagreement_z)},
                       {"flagged", c.flagged},
                       {"verdict", c.verdict}});
  }
  const std::vector<int64_t> flagged = result.flagged_rows();
  nlohmann::json flagged_classes = nlohmann::json::array();
  for (int64_t label : result.flagged_classes()) flagged_classes.push_back(name_of(label));
  if (flagged.empty())
    std::printf("Verdict: no class holds a group of outlying rows that look like other classes' rows\n");
  else
    std::printf("Verdict: POISONING SUSPECTED in %s: %zu rows flagged%s\n", flagged_classes.dump().c_str(),
                flagged.size(), s.flagged_file.empty() ? " (--flagged FILE lists them)" : "");
  if (!s.flagged_file.empty()) {
    const std::vector<int64_t> labels = class_indices(rows.y);
    std::ostringstream out;
    out << "row,class,score\n";
    for (int64_t row : flagged)
      out << row << ',' << csv_field(name_of(labels[size_t(row)])) << ',' << result.score[size_t(row)] << '\n';
    write_file_atomically(s.flagged_file, out.str());  // an earlier list is replaced whole or kept
  }
  nlohmann::json report{{"model_file", s.model_file},
                        {"data", rows.source},
                        {"rows", rows.x.shape(0)},
                        {"inspection", "poison"},
                        {"layer", result.layer},
                        {"logit_shares", s.inspection.logit_shares},
                        {"whiten", s.inspection.whiten},
                        {"row_threshold", s.inspection.row_threshold},
                        {"min_disagreement", s.inspection.min_disagreement},
                        {"min_disagreement_gain", s.inspection.min_disagreement_gain},
                        {"neighbours", s.inspection.neighbours},
                        {"seed", s.inspection.seed},
                        {"poisoning_suspected", !flagged.empty()},
                        {"flagged_classes", flagged_classes},
                        {"flagged_rows", flagged.size()},
                        {"classes", classes}};
  write_outputs(s.output, "inspect-data", report);
  return 0;
}

}  // namespace

Command add_inspect_data_command(CLI::App& app) {
  auto flags = std::make_shared<InspectDataFlags>();
  InspectDataFlags& s = *flags;
  CLI::App* command =
      app.add_subcommand("inspect-data",
                         "Look for poisoned training rows (a planted backdoor): per class, rows whose learned "
                         "representations lie far out along the class's spectral signature and whose input-space "
                         "neighbours carry other labels");
  command->add_option("--model", s.model_file, "The classifier trained on the rows")->option_text("FILE")->required();
  add_public_key_flag(*command, s.keys);
  add_decryption_flags(*command, s.keys);
  command
      ->add_option("--data", s.data.data,
                   "The labelled training rows, CSV (image models: the Fashion-MNIST training split)")
      ->option_text("CSV");
  command->add_option("--flagged", s.flagged_file, "Write the flagged rows (row index, class, score) to this CSV")
      ->option_text("FILE");
  command
      ->add_option("--row-threshold", s.inspection.row_threshold,
                   "Robust deviations along the signature past which a row is a candidate")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  command
      ->add_option("--min-disagreement", s.inspection.min_disagreement,
                   "Share of the candidates' neighbours of other labels needed to flag a class")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  command->add_option("--neighbours", s.inspection.neighbours, "Neighbours of each checked row in input space")
      ->capture_default_str()
      ->check(CLI::Range(int64_t(1), int64_t(1000)));
  command->add_option("--seed", s.inspection.seed, "Seed of the power iteration and the rows checked")
      ->capture_default_str();
  add_output_flags(*command, s.output);
  return {command, [flags] { return run_inspect_data(*flags); }};
}

}  // namespace citadel::cli
