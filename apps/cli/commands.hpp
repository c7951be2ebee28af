// The subcommands of `citadel`. Each registers its options into flags of its own and
// returns how to run with them; running returns the exit code and throws citadel::Error
// on bad input.
#pragma once

#include <functional>
#include <string>

namespace CLI {
class App;
}

namespace citadel::cli {

struct Command {
  CLI::App* app;
  std::function<int()> run;  // owns the command's flags
};

Command add_train_command(CLI::App& app);
Command add_evaluate_command(CLI::App& app);
Command add_predict_command(CLI::App& app);
Command add_cv_command(CLI::App& app);
Command add_info_command(CLI::App& app);
Command add_keygen_command(CLI::App& app);
Command add_sign_command(CLI::App& app);
Command add_verify_command(CLI::App& app);
Command add_encrypt_command(CLI::App& app);
Command add_decrypt_command(CLI::App& app);
Command add_attack_command(CLI::App& app);
Command add_certify_command(CLI::App& app);
Command add_scan_backdoor_command(CLI::App& app);
Command add_inspect_data_command(CLI::App& app);
Command add_watermark_command(CLI::App& app);
Command add_dp_budget_command(CLI::App& app);
Command add_dp_audit_command(CLI::App& app);
Command add_audit_command(CLI::App& app);
Command add_report_command(CLI::App& app);
Command add_serve_command(CLI::App& app);
Command add_token_command(CLI::App& app);
Command add_import_command(CLI::App& app);
Command add_export_command(CLI::App& app);
Command add_version_command(CLI::App& app);
// "citadel 0.1.0": what `citadel --version` and `citadel version` print.
std::string version_text();

}  // namespace citadel::cli
