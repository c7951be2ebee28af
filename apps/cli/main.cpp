// The `citadel` command: parses the command line, runs a subcommand, and turns errors
// into one line on stderr and a non-zero exit code.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "citadel/core/error.hpp"
#include "train_command.hpp"

int main(int argc, char** argv) {
  CLI::App app{"citadel: build, train, evaluate and protect neural networks on the CPU"};
  app.require_subcommand(1);
  citadel::cli::TrainSettings train_settings;
  CLI::App* train = citadel::cli::add_train_command(app, train_settings);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    if (train->parsed()) return citadel::cli::run_train(train_settings);
  } catch (const citadel::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  }
  return 0;
}
