// `citadel train`: read a CSV, split, scale, train a Dense network and report on the
// held-out rows.
#pragma once

#include <cstdint>
#include <string>

namespace CLI {
class App;
}

namespace citadel::cli {

struct TrainSettings {
  std::string data;  // empty: the bundled Pima Indians diabetes data
  std::string label;
  std::string layers = "10:relu,10:relu,1:sigmoid";
  std::string loss = "binary_crossentropy";
  std::string optimizer = "adam";
  double learning_rate = 0;  // 0: the optimizer's default
  int epochs = 150;
  int64_t batch_size = 32;
  double validation_split = 0;
  double test_split = 0.2;
  uint64_t seed = 42;
  int verbose = 2;
  std::string report;
};

// Registers the subcommand and its options on `app`; the settings fill `settings`.
CLI::App* add_train_command(CLI::App& app, TrainSettings& settings);
// Runs it; returns the process exit code. Throws citadel::Error on bad input.
int run_train(const TrainSettings& settings);

}  // namespace citadel::cli
