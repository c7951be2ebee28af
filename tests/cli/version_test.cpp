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

// The memory bounds of the CLI tests measure the tool, not this test process: a test process
// grown by 300 MB (touched) before it starts the tool measures the same peak as before
// (forked and exec'd straight from this process, the tool reported this process's 300 MB).
TEST(Version, AMeasuredRunsPeakIsTheToolsOwnNotTheTestProcesss) {
  const double before = citadel::testkit::run_cli_measured("--version").peak_mb;
  std::vector<char> grown(size_t(300) << 20);
  for (size_t i = 0; i < grown.size(); i += 4096) grown[i] = char(i);
  const citadel::testkit::MeasuredResult after = citadel::testkit::run_cli_measured("--version");
  EXPECT_EQ(after.result.exit_code, 0) << after.result.err;
  EXPECT_GT(before, 0.0);
  EXPECT_LT(after.peak_mb, before + 50.0) << "before " << before << " MB; the grown process holds "
                                          << double(grown.size() >> 20) << " MB (" << int(grown[4096]) << ")";
}
