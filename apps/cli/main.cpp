// The `citadel` command: parses the command line, runs a subcommand, and turns errors
// into one line on stderr and a non-zero exit code.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <string_view>

#include "citadel/core/error.hpp"
#include "citadel/distributed/communicator.hpp"
#include "citadel/interop/sandbox_executable.hpp"
#include "commands.hpp"
#include "report.hpp"
#include "terminal_text.hpp"

namespace {

// One line on stderr. Under mpirun it names the rank and ends the whole job, so that the
// other ranks do not wait forever for this one in a collective call.
int fail(int exit_code, const char* message) {
  // Messages quote cells, class and column names from files: shown, never obeyed.
  const std::string safe = citadel::cli::terminal_safe(message);
  const char* what = safe.c_str();
  if (!citadel::distributed::Communicator::launched_by_mpi()) {
    std::fprintf(stderr, "error: %s\n", what);
    return exit_code;
  }
  const auto& world = citadel::distributed::Communicator::world();
  if (world.size() > 1) {
    std::fprintf(stderr, "error (MPI rank %d of %d, ending the job): %s\n", world.rank(), world.size(), what);
    std::fflush(stderr);
    citadel::distributed::abort_job(exit_code);
  }
  std::fprintf(stderr, "error: %s\n", what);
  return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  // A sandboxed child of this tool (or of a program using the library) reading a hostile
  // file: it does that and nothing else.
  if (argc == 3 && std::string_view(argv[1]) == citadel::kSandboxChildFlag) citadel::run_sandbox_child(argv[2]);
  citadel::set_sandbox_executable("/proc/self/exe");
  CLI::App app{"citadel: build, train, evaluate and protect neural networks on the CPU"};
  app.require_subcommand(1);
  // Answered before the subcommand is required: `citadel --version` prints and exits 0.
  app.set_version_flag("--version", citadel::cli::version_text(), "Print citadel's version and exit");
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
      citadel::cli::add_certify_command(app),
      citadel::cli::add_scan_backdoor_command(app),
      citadel::cli::add_inspect_data_command(app),
      citadel::cli::add_watermark_command(app),
      citadel::cli::add_dp_budget_command(app),
      citadel::cli::add_dp_audit_command(app),
      citadel::cli::add_audit_command(app),
      citadel::cli::add_report_command(app),
      citadel::cli::add_serve_command(app),
      citadel::cli::add_token_command(app),
      citadel::cli::add_import_command(app),
      citadel::cli::add_export_command(app),
      citadel::cli::add_version_command(app),
  };
  citadel::cli::set_command_line(argc, argv);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    for (const auto& command : commands) {
      if (!command.app->parsed()) continue;
      // Only training is data-parallel; any other command on N ranks would run N times over
      // the same outputs.
      if (citadel::distributed::Communicator::launched_by_mpi() && command.app->get_name() != "train" &&
          citadel::distributed::Communicator::world().size() > 1)
        throw citadel::ValueError("citadel " + command.app->get_name() +
                                  " runs as one process; of the commands only `citadel train` runs on several MPI "
                                  "processes (run this one without mpirun, or with -np 1)");
      return command.run();
    }
  } catch (const citadel::Error& e) {
    return fail(1, e.what());
  } catch (const std::exception& e) {
    return fail(2, e.what());
  }
  return 0;
}
