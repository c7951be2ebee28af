// The `citadel` command: parses the command line, runs a subcommand, and turns errors
// into one line on stderr and a non-zero exit code.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "citadel/core/error.hpp"
#include "commands.hpp"
#include "report.hpp"

int main(int argc, char** argv) {
  CLI::App app{"citadel: build, train, evaluate and protect neural networks on the CPU"};
  app.require_subcommand(1);
  const citadel::cli::Command commands[] = {
      citadel::cli::add_train_command(app),
      citadel::cli::add_evaluate_command(app),
      citadel::cli::add_predict_command(app),
      citadel::cli::add_cv_command(app),
      citadel::cli::add_info_command(app),
      citadel::cli::add_keygen_command(app),
      citadel::cli::add_sign_command(app),
      citadel::cli::add_verify_command(app),
      citadel::cli::add_encrypt_command(app),
      citadel::cli::add_decrypt_command(app),
      citadel::cli::add_attack_command(app),
      citadel::cli::add_dp_budget_command(app),
      citadel::cli::add_audit_command(app),
      citadel::cli::add_report_command(app),
      citadel::cli::add_serve_command(app),
      citadel::cli::add_token_command(app),
  };
  citadel::cli::set_command_line(argc, argv);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    for (const auto& command : commands)
      if (command.app->parsed()) return command.run();
  } catch (const citadel::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  }
  return 0;
}
