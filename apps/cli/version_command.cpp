// `citadel version` (and `citadel --version`, set in main.cpp): the version the tool was built as.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "citadel/version.hpp"
#include "commands.hpp"

namespace citadel::cli {

std::string version_text() { return std::string("citadel ") + kVersion; }

Command add_version_command(CLI::App& app) {
  CLI::App* command = app.add_subcommand("version", "Print citadel's version (as --version does)");
  return {command, [] {
            std::printf("%s\n", version_text().c_str());
            return 0;
          }};
}

}  // namespace citadel::cli
