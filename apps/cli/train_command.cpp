// `citadel train`: the main job. Defaults reproduce the reference Keras network on the
// bundled Pima Indians diabetes data: a seeded stratified 80/20 split, inputs scaled with
// the training rows' statistics, and a final report on the held-out 20 %.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"
#include "citadel/io/checkpoint.hpp"
#include "commands.hpp"
#include "pipeline.hpp"
#include "protection.hpp"

namespace citadel::cli {
namespace {

// What a DP run releases exactly, outside ε (as Opacus documents): said in the report.
nlohmann::json not_covered_by_epsilon(const Settings& s, const History& history) {
  nlohmann::json items = nlohmann::json::array();
  if (history.history.count("loss")) items.push_back("history: the training rows' loss and metrics per epoch");
  for (const auto& [name, values] : history.history)
    if (name.rfind("val_", 0) == 0) {
      items.push_back("history: the validation rows' figures (val_*), which early stopping and learning-rate "
                      "schedules may act on");
      break;
    }
  items.push_back("preprocessing: the training rows' " + std::string(s.scale == "standard" ? "means and standard deviations" :
                  s.scale == "minmax" ? "minima and maxima" : "statistics") +
                  (s.missing == "mean" ? " and imputation means" : "") + " and the class list");
  if (!s.categorical.empty()) items.push_back("preprocessing: the categories seen in the training rows");
  items.push_back("the held-out test figures and classification report (test rows are not trained on)");
  return items;
}

int run_train(const Settings& s) {
  random::set_seed(s.seed);
  PreparedData data = load_data(s, true);
  const FeaturePreprocessor preprocessor = preprocess(s, data, {&data.x_test});
  Sequential model = build_model(s, data, data.x_train.shape().without_batch());
  describe_data(s, data);
  if (s.verbose > 0) model.summary();

  FitOptions options = fit_options(s, data);
  // Checkpoints and the saved model are protected alike: --key-file/--passphrase-env
  // encrypt them, --sign-key signs them; under --dp they are readable by the owner only.
  const ModelProtection file_protection = model_protection(s, s.dp);
  if (!s.checkpoint.empty())
    options.callbacks.push_back(ModelCheckpoint(s.checkpoint, s.checkpoint_every, file_protection));
  if (!s.resume.empty()) {
    options.resume = restore_checkpoint(model, s.resume, model_access(s));
    if (s.verbose > 0) std::printf("Resuming from %s after epoch %d\n", s.resume.c_str(), options.resume->epoch);
  }
  nlohmann::json protection = nlohmann::json::object();
  if (!s.adversarial.empty()) {
    const std::vector<double> eps = epsilon_list(s.eps, "--eps");
    CITADEL_CHECK(eps.size() == 1, ValueError, "--adversarial takes one --eps value, got ", eps.size());
    AttackOptions attack = attack_options(s, data, data.x_train);
    attack.method = s.adversarial;
    attack.epsilon = static_cast<float>(eps[0]);
    options.batch_transform = adversarial_training(attack, s.clean_fraction);
    protection["adversarial_training"] = {{"method", s.adversarial}, {"norm", s.norm}, {"epsilon", eps[0]},
                                          {"steps", s.attack_steps}, {"clean_fraction", s.clean_fraction}};
  }
  History history;
  const Tensor y_train = targets_for_loss(data.y_train, data);
  if (s.dp) {
    CITADEL_CHECK(s.resume.empty(), ValueError, "--dp cannot --resume: the privacy accounting would restart");
    CITADEL_CHECK(s.loss_threshold < 0, ValueError,
                  "--dp with --loss-threshold: stopping on the training loss, an exact statistic of the private rows, "
                  "lies outside the privacy guarantee; give --epochs only");
    const DPSGDOptions dp = dp_options(s);
    if (s.dp_reproducible)
      std::fprintf(stderr, "warning: --dp-reproducible keys the DP noise and sampling from --seed %llu: anyone who "
                           "knows the seed can remove the noise, so this run is NOT differentially private\n",
                   static_cast<unsigned long long>(s.seed));
    const int64_t rows = static_cast<int64_t>(double(data.x_train.shape(0)) * (1.0 - options.validation_split));
    const PrivateTrainingPlan plan = plan_private_training(rows, options.batch_size, options.epochs, dp);
    if (s.verbose > 0)
      std::printf("DP-SGD: clip %g, noise multiplier %.4g, sampling rate %.4g (%s), %lld steps per epoch, "
                  "δ %g; planned ε %.4g\n",
                  s.clip, plan.noise_multiplier, plan.sampling_rate, dp.poisson_sampling ? "Poisson" : "fixed batches",
                  static_cast<long long>(plan.steps_per_epoch), s.delta, plan.epsilon);
    history = fit_private(model, data.x_train, y_train, options, dp);
    protection["differential_privacy"] = {{"l2_norm_clip", s.clip}, {"noise_multiplier", plan.noise_multiplier},
                                          {"sampling_rate", plan.sampling_rate}, {"delta", s.delta},
                                          {"poisson_sampling", dp.poisson_sampling},
                                          {"epsilon", history.history.at("epsilon").back()},
                                          {"noise", s.dp_reproducible ? "reproducible from the seed: NOT private"
                                                                      : "ChaCha20 keyed from the operating system"},
                                          {"covered_by_epsilon", {"the model's weights"}},
                                          {"not_covered_by_epsilon", not_covered_by_epsilon(s, history)}};
  } else {
    history = model.fit(data.x_train, y_train, options);
  }
  const Tensor y_test = targets_for_loss(data.y_test, data);
  const Logs test = model.evaluate(data.x_test, y_test);
  print_figures("Held-out test set", test, data.x_test.shape(0));

  nlohmann::json report = logs_json(test);
  add_classification_report(model, data, s.verbose > 0, report);
  report["history"] = history_json(history);
  report["epochs_run"] = history.epoch.size();
  report["stop_reason"] = history.stop_reason;
  report["data"] = data.source;
  report["label"] = data.schema.label;
  report["train_rows"] = data.x_train.shape(0);
  report["test_rows"] = data.x_test.shape(0);
  report["seed"] = s.seed;
  report["loss_function"] = data.loss;
  report["optimizer"] = s.optimizer;
  report["preprocessing"] = nlohmann::json::parse(preprocessor.describe());
  if (!protection.empty()) report["protection"] = protection;
  if (s.dp) report["epsilon"] = protection["differential_privacy"]["epsilon"];
  if (!s.no_save) {
    Metadata extra;
    if (s.dp) extra["differential_privacy"] = protection["differential_privacy"].dump();
    save_pipeline(model, data, preprocessor, s.save, file_protection, extra);
    report["model_file"] = s.save;
    if (s.verbose > 0) std::printf("\nSaved the model to %s\n", s.save.c_str());
  }
  write_report(s, report, s.dp);
  return 0;
}

}  // namespace

Command add_train_command(CLI::App& app, Settings& s) {
  CLI::App* command = app.add_subcommand(
      "train", "Train a network and report on held-out rows (no arguments: the reference network on the bundled "
               "Pima Indians diabetes data)");
  add_data_options(*command, s);
  add_model_options(*command, s);
  add_training_options(*command, s);
  add_report_option(*command, s);
  add_save_options(*command, s);
  add_protection_options(*command, s);
  add_public_key_option(*command, s);
  add_decryption_options(*command, s);
  command->add_option("--sign-key", s.sign_key,
                      "Sign the saved model and every checkpoint with this secret key (from keygen)")
      ->option_text("SECRET_KEY");
  command->add_option("--checkpoint", s.checkpoint,
                      "Write a checkpoint (weights, optimizer and random states, history) during training")
      ->option_text("FILE");
  command->add_option("--checkpoint-every", s.checkpoint_every, "Epochs between checkpoints")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  command->add_option("--resume", s.resume,
                      "Continue the run a checkpoint recorded (give the same data and options as that run)")
      ->option_text("FILE");
  return {command, run_train};
}

}  // namespace citadel::cli
