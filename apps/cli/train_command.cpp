// `citadel train`: the main job. Defaults reproduce the reference Keras network on the
// bundled Pima Indians diabetes data: a seeded stratified 80/20 split, inputs scaled with
// the training rows' statistics, and a final report on the held-out 20 %.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <memory>
#include <cstdio>
#include <iostream>

#include "citadel/attacks/interval_bounds.hpp"
#include "citadel/attacks/randomized_smoothing.hpp"
#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"
#include "citadel/distributed/communicator.hpp"
#include "citadel/io/checkpoint.hpp"
#include "citadel/provenance/poison_inspection.hpp"
#include "citadel/provenance/served_watermark.hpp"
#include "citadel/provenance/trigger_set_watermark.hpp"
#include "citadel/data/split.hpp"
#include "commands.hpp"
#include "dp_trace.hpp"
#include "pipeline.hpp"
#include "protection.hpp"

namespace citadel::cli {
namespace {

struct TrainFlags {
  DataFlags data;
  ModelFlags model;
  TrainingFlags training;
  SaveFlags save;
  KeyFlags keys;
  AttackFlags adversarial;
  PrivacyFlags privacy;
  OutputFlags output;
  std::string watermark_key;          // --watermark-trigger-set
  int64_t watermark_size = 100;       // --watermark-size
  int64_t watermark_rows_per_batch = 16; // --watermark-rows-per-batch
  bool inspect_poison = false;        // --inspect-poison
  bool drop_flagged = false;          // --drop-flagged
  double poison_threshold = PoisonInspectionOptions{}.row_threshold;  // --poison-threshold
};

// --inspect-poison: the trained model's poison inspection of its own training rows (the rows fit
// saw, validation rows included), one line per class; returns the rows flagged and fills the
// report's "poison_inspection".
std::vector<int64_t> inspect_training_rows(Model& model, ConstTensorView x, ConstTensorView y, uint64_t seed,
                                           double row_threshold, bool verbose, nlohmann::json& report) {
  PoisonInspectionOptions options;
  options.seed = seed, options.row_threshold = row_threshold;
  const PoisonInspection result = inspect_poison(model, x, y, options);
  nlohmann::json classes = nlohmann::json::array();
  for (const ClassInspection& c : result.classes) {
    if (verbose) std::printf("  class %lld (%lld rows): %s\n", static_cast<long long>(c.label),
                             static_cast<long long>(c.rows), c.verdict.c_str());
    classes.push_back({{"class_index", c.label}, {"rows", c.rows}, {"candidates", c.candidates},
                       {"ashman_d", c.ashman_d}, {"candidate_disagreement", c.candidate_disagreement},
                       {"typical_disagreement", c.typical_disagreement}, {"flagged", c.flagged},
                       {"verdict", c.verdict}});
  }
  const std::vector<int64_t> flagged = result.flagged_rows();
  std::printf("Poison inspection of the %lld training rows: %s\n", static_cast<long long>(x.shape(0)),
              flagged.empty() ? "no class flagged"
                              : ("POISONING SUSPECTED, " + std::to_string(flagged.size()) + " rows flagged").c_str());
  report = {{"layer", result.layer}, {"flagged_classes", result.flagged_classes()}, {"flagged_rows", flagged},
            {"classes", classes}};
  return flagged;
}

// --watermark-trigger-set: the keyed trigger set (Adi et al. 2018) of the model's input shape
// and classes, in the training inputs' range (after scaling), trained in through the step's
// gradient (so no trigger row lands in the validation split). Returns what the model file's
// metadata records: the commitment, never the key.
void refuse_trigger_set_with(const TrainFlags& f, bool parallel) {
  if (f.watermark_key.empty()) return;
  CITADEL_CHECK(!f.privacy.dp, ValueError,
                "--watermark-trigger-set cannot be combined with --dp: the trigger rows would be trained on outside "
                "the privacy accounting");
  CITADEL_CHECK(!parallel, ValueError,
                "--watermark-trigger-set cannot be combined with data-parallel (mpirun) training, whose steps compute "
                "the gradients their own way");
}

nlohmann::json plant_trigger_set(const TrainFlags& f, Model& model, const PreparedData& data, FitOptions& options) {
  CITADEL_CHECK(!options.gradient_step, ValueError,
                "--watermark-trigger-set cannot be combined with --certified-training: each replaces the step's "
                "gradient");
  CITADEL_CHECK(model.input_count() == 1 && model.output_count() == 1 && !data.several_outputs(), ValueError,
                "--watermark-trigger-set: the model takes ", model.input_count(), " inputs and gives ",
                model.output_count(), " outputs; a trigger-set watermark is for a classifier of one input and one "
                "output");
  CITADEL_CHECK(model.input_dtypes()[0] == "float32", ValueError, "--watermark-trigger-set: the model's input is ",
                model.input_dtypes()[0], " token ids; a trigger set of keyed random values is for float inputs");
  const Shape out = model.output_shape();
  CITADEL_CHECK(out.rank() == 1 && out[0] >= 2, ValueError, "--watermark-trigger-set: the model's output ",
                out.str(), " is not a softmax over 2 or more classes");
  const ConstTensorView x = data.x_train.view();
  CITADEL_CHECK(x.numel() > 0, ValueError, "--watermark-trigger-set: no training rows");
  const auto [low, high] = std::minmax_element(x.data(), x.data() + x.numel());
  CITADEL_CHECK(*low < *high, ValueError, "--watermark-trigger-set: the training inputs are constant (", *low,
                "); a trigger set needs a range");
  const WatermarkKey key = WatermarkKey::load(f.watermark_key);
  const TriggerSet set = make_trigger_set(key, model.input_shape(), out[0],
                                          {.size = f.watermark_size, .low = *low, .high = *high});
  options.gradient_step = trigger_set_training(set, f.watermark_rows_per_batch);
  return {{"scheme", "citadel-trigger-set-v1"}, {"commitment", set.commitment}, {"key_id", set.key_id},
          {"size", set.options.size},           {"classes", set.classes},       {"low", set.options.low},
          {"high", set.options.high},           {"rows_per_batch", f.watermark_rows_per_batch}};
}

// What a DP run releases exactly, outside ε (as Opacus documents): said in the report.
// How the training rows were read beyond their numbers: imputed cells per column, labels
// clamped into a declared range (nothing when there were none).
nlohmann::json data_handling(const PreparedData& data) {
  nlohmann::json handling = nlohmann::json::object(), imputed = nlohmann::json::object();
  for (size_t c = 0; c < data.missing_cells.size(); ++c)
    if (data.missing_cells[c] > 0) imputed[data.schema.input_columns[c]] = data.missing_cells[c];
  if (!imputed.empty()) handling["imputed_cells"] = imputed;
  if (data.clamped_labels > 0) handling["clamped_labels"] = data.clamped_labels;
  return handling;
}

nlohmann::json not_covered_by_epsilon(const History& history, const PreparedData& data) {
  nlohmann::json items = nlohmann::json::array();
  if (!data_handling(data).empty())
    items.push_back("data_handling: the counts of imputed cells per column and of clamped labels");
  if (history.history.count("loss")) items.push_back("history: the training rows' loss and metrics per epoch");
  for (const auto& [name, values] : history.history)
    if (name.rfind("val_", 0) == 0) {
      items.push_back("history: the validation rows' figures (val_*), which early stopping and learning-rate "
                      "schedules may act on");
      break;
    }
  items.push_back("the number of training rows (train_rows in the report, and the sampling rate in the model file): "
                  "the guarantee is for data sets that differ by one row added or removed, which the count "
                  "itself reveals");
  items.push_back("the held-out test figures and classification report (test rows are not trained on)");
  return items;
}

int run_train(const TrainFlags& f) {
  // Under mpirun every rank reads the data and prepares it alike (same seed: same split,
  // same scaling), trains on its stride shard of the training rows, and rank 0 alone
  // prints, checkpoints, reports and saves.
  const distributed::Communicator& world = distributed::Communicator::world();
  const bool root = world.is_root(), parallel = world.size() > 1;
  TrainingFlags t = f.training;
  if (!root) t.verbose = 0, t.csv_log.clear();
  const SaveFlags& save = f.save;
  const AttackFlags& adversarial = f.adversarial;
  const PrivacyFlags& privacy = f.privacy;
  refuse_trigger_set_with(f, parallel);
  CITADEL_CHECK(!f.drop_flagged || f.inspect_poison, ValueError, "--drop-flagged drops the rows --inspect-poison flags; "
                "give --inspect-poison too");
  CITADEL_CHECK(!f.inspect_poison || (!privacy.dp && f.watermark_key.empty() && save.resume.empty()), ValueError,
                "--inspect-poison cannot be combined with ", privacy.dp ? "--dp (the inspection's verdicts on single "
                "rows are outside the privacy guarantee)" : !f.watermark_key.empty() ? "--watermark-trigger-set" :
                "--resume");
  random::set_seed(t.seed);
  PreparedData data = load_data(f.data, f.model, t, true, privacy.dp);
  const FeaturePreprocessor preprocessor = preprocess(f.data, data, {&data.x_test}, privacy.dp);
  Model model = build_model(f.model, data, data.x_train.shape().without_batch());
  describe_data(t.verbose, data);
  if (t.verbose > 0) model.summary();

  FitOptions options = fit_options(t, f.model, data, privacy.dp);
  // Checkpoints and the saved model are protected alike: --key-file/--passphrase-env
  // encrypt them, --sign-key signs them; under --dp they are readable by the owner only.
  const ModelProtection file_protection = model_protection(f.keys, privacy.dp);
  if (!save.checkpoint.empty() && root)
    options.callbacks.push_back(ModelCheckpoint(save.checkpoint, save.checkpoint_every, file_protection));
  if (!save.resume.empty()) {
    options.resume = restore_checkpoint(model, save.resume, model_access(f.keys));
    if (t.verbose > 0) std::printf("Resuming from %s after epoch %d\n", save.resume.c_str(), options.resume->epoch);
  }
  nlohmann::json protection = nlohmann::json::object();
  // Token ids are symbols: no batch transform that moves or noises inputs applies to them.
  if (!data.schema.text_column.empty())
    for (const auto& [given, flag] : {std::pair{!adversarial.adversarial.empty(), "--adversarial"},
                                      std::pair{adversarial.gaussian_augmentation.has_value(), "--gaussian-augmentation"}})
      CITADEL_CHECK(!given, ValueError, flag, ": --text ", data.schema.text_column, " makes the model's input token ids, "
                    "which cannot be moved or noised; training against embedding-space attacks is not built (`attack "
                    "--space embedding` measures that robustness)");
  if (!adversarial.adversarial.empty()) {
    const std::vector<double> eps = epsilon_list(adversarial.eps, "--eps");
    CITADEL_CHECK(eps.size() == 1, ValueError, "--adversarial takes one --eps value, got ", eps.size());
    AttackOptions attack = attack_options(adversarial, t.seed, data, data.x_train);
    attack.method = adversarial.adversarial;
    attack.epsilon = static_cast<float>(eps[0]);
    if (privacy.dp) use_declared_range(attack, data, preprocessor);
    choose_attacked_input(attack, model, data, adversarial.attack_input);
    options.batch_transform = adversarial_training(attack, adversarial.clean_fraction);
    protection["adversarial_training"] = {{"method", adversarial.adversarial}, {"norm", adversarial.norm},
                                          {"epsilon", eps[0]}, {"steps", adversarial.steps},
                                          {"clean_fraction", adversarial.clean_fraction}};
    if (model.input_count() > 1) protection["adversarial_training"]["attacked_input"] = adversarial.attack_input;
  }
  if (adversarial.gaussian_augmentation) {
    CITADEL_CHECK(adversarial.adversarial.empty(), ValueError,
                  "--gaussian-augmentation and --adversarial both rewrite each batch; give one of them");
    CITADEL_CHECK(model.input_count() == 1, ValueError, "--gaussian-augmentation: the model takes ",
                  model.input_count(), " inputs; noise augmentation here is for a model of one input");
    options.batch_transform = gaussian_augmentation(*adversarial.gaussian_augmentation, t.seed);
    protection["gaussian_augmentation"] = {{"sigma", *adversarial.gaussian_augmentation}};
  }
  if (!adversarial.certified_training.empty()) {
    CITADEL_CHECK(adversarial.adversarial.empty() && !adversarial.gaussian_augmentation, ValueError,
                  "--certified-training replaces each step's loss; give it without --adversarial and "
                  "--gaussian-augmentation");
    CITADEL_CHECK(!privacy.dp && !parallel, ValueError, "--certified-training cannot be combined with ",
                  privacy.dp ? "--dp" : "data-parallel (mpirun) training",
                  ", whose steps compute the gradients their own way");
    const std::vector<double> eps = epsilon_list(adversarial.eps, "--eps");
    CITADEL_CHECK(eps.size() == 1, ValueError, "--certified-training takes one --eps value, got ", eps.size());
    const CertifiedTrainingOptions ibp = certified_training_plan(adversarial, eps[0], data, options);
    IntervalPropagation check(model);  // refuses, naming the layer, a model it cannot bound
    options.gradient_step = certified_training(ibp);
    protection["certified_training"] = {{"method", "ibp"},          {"norm", "linf"},
                                        {"epsilon", eps[0]},        {"final_kappa", ibp.final_kappa},
                                        {"warmup_steps", ibp.warmup_steps}, {"ramp_steps", ibp.ramp_steps}};
  }
  nlohmann::json trigger_set;
  if (!f.watermark_key.empty()) {
    trigger_set = plant_trigger_set(f, model, data, options);
    protection["trigger_set_watermark"] = trigger_set;
    if (t.verbose > 0)
      std::printf("Trigger-set watermark: %lld keyed rows, %lld in each batch; commitment %s\n",
                  static_cast<long long>(f.watermark_size), static_cast<long long>(f.watermark_rows_per_batch),
                  trigger_set["commitment"].get<std::string>().c_str());
  }
  History history;
  std::vector<Tensor> y_train = output_targets(model, data, false);  // one per output (--drop-flagged drops rows)
  // A model of several inputs takes each from its column group (docs/CLI.md).
  const ModelInputs train_inputs = model_inputs(model, data.schema, data.x_train);
  CITADEL_CHECK(adversarial.attack_input.empty() || !adversarial.adversarial.empty(), ValueError,
                "--attack-input chooses the input --adversarial attacks; give --adversarial too");
  std::vector<Tensor> shard_x, shard_y;  // this rank's training rows, on a group
  std::vector<ConstTensorView> train_x = train_inputs.views;
  std::vector<ConstTensorView> train_y(y_train.begin(), y_train.end());
  if (parallel) {
    options.communicator = &world;
    train_x.clear();
    for (const ConstTensorView& input : train_inputs.views) shard_x.push_back(shard_rows(input, world));
    for (const Tensor& input : shard_x) train_x.emplace_back(input);
    train_y.clear();
    for (const Tensor& targets : y_train) shard_y.push_back(shard_rows(targets, world));
    for (const Tensor& targets : shard_y) train_y.emplace_back(targets);
    if (t.verbose > 0)
      std::printf("Data parallel over %d MPI processes: a global batch of %lld, about %lld rows per process\n",
                  world.size(), static_cast<long long>(options.batch_size),
                  static_cast<long long>((options.batch_size + world.size() - 1) / world.size()));
  }
  if (privacy.dp) {
    CITADEL_CHECK(save.resume.empty(), ValueError, "--dp cannot --resume: the privacy accounting would restart");
    CITADEL_CHECK(!t.loss_threshold, ValueError,
                  "--dp with --loss-threshold: stopping on the training loss, an exact statistic of the private rows, "
                  "lies outside the privacy guarantee; give --epochs only");
    DPSGDOptions dp = dp_options(privacy);
    std::optional<NoisySumTrace> trace;
    if (!privacy.trace.empty() && root) dp.observe_noisy_sum = trace.emplace(privacy.trace).observer();
    if (privacy.reproducible && root)
      std::fprintf(stderr, "warning: --dp-reproducible keys the DP noise and sampling from --seed %llu: anyone who "
                           "knows the seed can remove the noise, so this run is NOT differentially private\n",
                   static_cast<unsigned long long>(t.seed));
    // The rows fit trains on: under DP its validation split keeps each row by a hash of it
    // (of all its inputs: one row of the CSV is one example, whichever inputs it feeds).
    const int64_t rows = options.validation_split > 0
                             ? int64_t(private_validation_split(train_inputs.views, {y_train.begin(), y_train.end()},
                                                                options.validation_split, t.seed).train.size())
                             : data.x_train.shape(0);
    const PrivateTrainingPlan plan = plan_private_training(rows, options.batch_size, options.epochs, dp);
    if (t.verbose > 0)
      std::printf("DP-SGD: clip %g, noise multiplier %.4g, sampling rate %.4g (%s), %lld steps per epoch, "
                  "δ %g; planned ε %.4g\n",
                  privacy.clip, plan.noise_multiplier, plan.sampling_rate, dp.poisson_sampling ? "Poisson" : "fixed batches",
                  static_cast<long long>(plan.steps_per_epoch), privacy.delta, plan.epsilon);
    history = fit_private(model, train_x, train_y, options, dp);
    if (trace) trace->commit();
    protection["differential_privacy"] = {{"l2_norm_clip", privacy.clip}, {"noise_multiplier", plan.noise_multiplier},
                                          {"sampling_rate", plan.sampling_rate}, {"delta", privacy.delta},
                                          {"poisson_sampling", dp.poisson_sampling},
                                          {"epsilon", history.history.at("epsilon").back()},
                                          {"noise", privacy.reproducible ? "reproducible from the seed: NOT private"
                                                                      : "ChaCha20 keyed from the operating system"},
                                          {"neighbouring_relation", "data sets that differ by one row added or removed"},
                                          {"covered_by_epsilon", privacy.trace.empty()
                                                                     ? nlohmann::json{"the model's weights"}
                                                                     : nlohmann::json{"the model's weights",
                                                                                      "the noisy gradient sums of --dp-trace"}},
                                          {"not_covered_by_epsilon", not_covered_by_epsilon(history, data)}};
    if (dp.target_epsilon) protection["differential_privacy"]["target_epsilon"] = *dp.target_epsilon;
  } else {
    history = model.fit(train_x, train_y, options);
  }
  nlohmann::json poison_report;
  if (f.inspect_poison) {
    CITADEL_CHECK(!parallel && model.input_count() == 1 && !data.several_outputs() && data.classification(),
                  ValueError, "--inspect-poison inspects a classifier of one input and one output trained in one process");
    const std::vector<int64_t> flagged =
        inspect_training_rows(model, train_x[0], train_y[0], t.seed, f.poison_threshold, t.verbose > 0, poison_report);
    if (f.drop_flagged && !flagged.empty()) {
      // The same run again on the rows kept: same seed, so the same initial weights and shuffling stream.
      std::vector<int64_t> kept;
      for (int64_t r = 0, next = 0; r < train_x[0].shape(0); ++r)
        if (size_t(next) < flagged.size() && flagged[size_t(next)] == r) ++next;
        else kept.push_back(r);
      const Tensor kept_x = take_rows(train_x[0], kept);
      data.x_train = take_rows(data.x_train, kept);
      for (Tensor& targets : y_train) targets = take_rows(targets, kept);
      random::set_seed(t.seed);
      model = build_model(f.model, data, data.x_train.shape().without_batch());
      history = model.fit(kept_x, y_train[0], options);
      poison_report["retrained_rows"] = kept.size();
      std::printf("Retrained without the %zu flagged rows on %zu rows\n", flagged.size(), kept.size());
    }
  }
  if (!root) return 0;  // rank 0 reports and saves the model every rank holds
  const std::vector<Tensor> y_test = output_targets(model, data, true);
  const Logs test = model.evaluate(model_inputs(model, data.schema, data.x_test).views, {y_test.begin(), y_test.end()});
  print_figures("Held-out test set", test, data.x_test.shape(0), data.several_outputs());

  nlohmann::json report = logs_json(test);
  if (!data.several_outputs()) add_classification_report(model, data, t.verbose > 0, report);
  report["history"] = history_json(history);
  report["epochs_run"] = history.epoch.size();
  report["stop_reason"] = history.stop_reason;
  report["data"] = data.source;
  report["label"] = data.schema.label;
  if (data.several_outputs()) {  // each output's label column and loss, by output
    report["label"] = report["loss_function"] = nlohmann::json::object();
    for (size_t i = 0; i < data.outputs.size(); ++i) {
      report["label"][data.outputs[i]] = data.schema.label_schema(i).name;
      report["loss_function"][data.outputs[i]] = data.losses[i];
    }
    if (!data.loss_weights.empty()) report["loss_weights"] = data.loss_weights;
  }
  report["train_rows"] = data.x_train.shape(0);
  report["test_rows"] = data.x_test.shape(0);
  report["seed"] = t.seed;
  if (parallel) report["mpi_processes"] = world.size();
  if (!data.several_outputs()) report["loss_function"] = data.loss;
  report["optimizer"] = f.model.optimizer;
  report["preprocessing"] = nlohmann::json::parse(preprocessor.describe());
  if (const nlohmann::json handling = data_handling(data); !handling.empty()) report["data_handling"] = handling;
  report["model"] = model_json(model);
  if (!protection.empty()) report["protection"] = protection;
  if (!poison_report.is_null()) report["poison_inspection"] = poison_report;
  if (privacy.dp) report["epsilon"] = protection["differential_privacy"]["epsilon"];
  if (!save.no_save) {
    Metadata extra;
    if (privacy.dp) extra["differential_privacy"] = protection["differential_privacy"].dump();
    if (!trigger_set.is_null()) extra["trigger_set_watermark"] = trigger_set.dump();
    save_pipeline(model, data, preprocessor, save.save, file_protection, extra);
    report["model_file"] = save.save;
    if (t.verbose > 0) std::printf("\nSaved the model to %s\n", save.save.c_str());
  }
  write_outputs(f.output, "train", report, privacy.dp);
  return 0;
}

}  // namespace

Command add_train_command(CLI::App& app) {
  auto flags = std::make_shared<TrainFlags>();
  CLI::App* command = app.add_subcommand(
      "train", "Train a network and report on held-out rows (no arguments: the reference network on the bundled "
               "Pima Indians diabetes data)");
  add_data_flags(*command, flags->data);
  add_model_flags(*command, flags->model);
  add_training_flags(*command, flags->training);
  add_output_flags(*command, flags->output);
  add_save_flags(*command, flags->save);
  add_adversarial_training_flags(*command, flags->adversarial);
  add_private_training_flags(*command, flags->privacy);
  add_public_key_flag(*command, flags->keys);
  add_decryption_flags(*command, flags->keys);
  command->add_option("--sign-key", flags->keys.sign_key,
                      "Sign the saved model and every checkpoint with this secret key (from keygen)")
      ->option_text("SECRET_KEY");
  command->add_option("--checkpoint", flags->save.checkpoint,
                      "Write a checkpoint (weights, optimizer and random states, history) during training")
      ->option_text("FILE");
  command->add_option("--checkpoint-every", flags->save.checkpoint_every, "Epochs between checkpoints")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  command->add_option("--resume", flags->save.resume,
                      "Continue the run a checkpoint recorded (give the same data and options as that run)")
      ->option_text("FILE");
  CLI::Option* trigger_set = command->add_option("--watermark-trigger-set", flags->watermark_key,
                      "Train in a trigger-set watermark keyed by this key (from `citadel watermark keygen`); the "
                      "model file records its commitment")
      ->option_text("KEY");
  command->add_option("--watermark-size", flags->watermark_size, "The trigger set's rows")
      ->needs(trigger_set)
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{100'000}));
  command->add_option("--watermark-rows-per-batch", flags->watermark_rows_per_batch,
                      "Trigger rows added to each batch's gradient")
      ->needs(trigger_set)
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{100'000}));
  command->add_flag("--inspect-poison", flags->inspect_poison,
                   "After training, inspect the training rows for poisoning (as `citadel inspect-data`)");
  command->add_flag("--drop-flagged", flags->drop_flagged,
                    "With --inspect-poison: retrain, same seed, without the rows it flags");
  command->add_option("--poison-threshold", flags->poison_threshold,
                      "With --inspect-poison: robust deviations along a class's signature past which a row is a "
                      "candidate (inspect-data's --row-threshold)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  return {command, [flags] { return run_train(*flags); }};
}

}  // namespace citadel::cli
