// The subcommands of `citadel`. Each registers its options and runs; running returns
// the exit code and throws citadel::Error on bad input.
#pragma once

#include "settings.hpp"

namespace CLI {
class App;
}

namespace citadel::cli {

struct Command {
  CLI::App* app;
  int (*run)(const Settings& settings);
};

Command add_train_command(CLI::App& app, Settings& settings);
Command add_evaluate_command(CLI::App& app, Settings& settings);
Command add_predict_command(CLI::App& app, Settings& settings);
Command add_cv_command(CLI::App& app, Settings& settings);
Command add_info_command(CLI::App& app, Settings& settings);
Command add_keygen_command(CLI::App& app, Settings& settings);
Command add_sign_command(CLI::App& app, Settings& settings);
Command add_verify_command(CLI::App& app, Settings& settings);
Command add_encrypt_command(CLI::App& app, Settings& settings);
Command add_decrypt_command(CLI::App& app, Settings& settings);
Command add_attack_command(CLI::App& app, Settings& settings);
Command add_dp_budget_command(CLI::App& app, Settings& settings);
Command add_audit_command(CLI::App& app, Settings& settings);

}  // namespace citadel::cli
