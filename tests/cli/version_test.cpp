// `citadel --version` and `citadel version` print the version the build was configured with
// (CMakeLists.txt's project()), and exit 0.
#include <gtest/gtest.h>

#include "cli_runner.hpp"

namespace version_test {

using namespace citadel::testkit;

TEST(Version, TheFlagPrintsTheVersion) {
  const CliResult result = run_cli("--version");
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, std::string("citadel ") + CITADEL_PROJECT_VERSION + "\n");
  EXPECT_EQ(result.err, "");
}

TEST(Version, TheSubcommandPrintsTheSame) {
  const CliResult result = run_cli("version");
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, std::string("citadel ") + CITADEL_PROJECT_VERSION + "\n");
}

TEST(Version, NoSubcommandStillAsksForOne) {
  const CliResult result = run_cli("");
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.err.find("subcommand"), std::string::npos) << result.err;
}

}  // namespace version_test
