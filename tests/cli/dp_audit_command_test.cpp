// `citadel dp-audit` run as a user runs it: the audit of the train --dp pipeline on the
// bundled Pima data (declared preprocessing), its report beside the accountant's ε, and
// the arguments it refuses with a message naming them.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "cli_runner.hpp"

namespace citadel {
namespace dp_audit_command_test {
namespace {

using testkit::read_file;
using testkit::run_cli;
using testkit::scratch_directory;

const std::string kPima = std::string("--data ") + CITADEL_SOURCE_DATA + " --schema " + CITADEL_SOURCE_SCHEMA;

TEST(DpAuditCommand, AuditsTheDpPipelineBesideTheAccountant) {
  const auto report = scratch_directory() / "dp_audit.json";
  const auto result = run_cli("dp-audit " + kPima +
                              " --epochs 10 --target-epsilon 2 --gradient-canaries 150 --input-canaries 40 "
                              "--audit-seed 3 --report " + report.string());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("accountant's ε (upper bound)"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("consistent with the accountant"), std::string::npos) << result.out;
  const nlohmann::json r = nlohmann::json::parse(read_file(report));
  EXPECT_EQ(r.at("run").at("kind"), "dp-audit");
  EXPECT_NEAR(r.at("claimed_epsilon").get<double>(), 2.0, 0.02);
  EXPECT_EQ(r.at("confidence").get<double>(), 0.95);
  EXPECT_EQ(r.at("gradient_canaries").get<int>(), 150);
  EXPECT_EQ(r.at("input_canaries").get<int>(), 40);
  EXPECT_EQ(r.at("runs").get<int>(), 1);
  // The correct pipeline is not contradicted, and the white-box bound is not vacuous.
  const double lower = r.at("epsilon_lower_bound").get<double>();
  EXPECT_FALSE(r.at("contradicts_accountant").get<bool>());
  EXPECT_LE(lower, r.at("claimed_epsilon").get<double>());
  EXPECT_GT(lower, 0.5 * r.at("claimed_epsilon").get<double>());
  const auto& bounds = r.at("bounds");
  EXPECT_LE(bounds.at("sensitivity_probe").at("largest_contribution").get<double>(), 1.0001);
  // The declared preprocessing (--schema) releases nothing of the rows.
  EXPECT_EQ(bounds.at("preprocessing_release").at("epsilon").get<double>(), 0.0);
  for (const char* name : {"gradient_canaries_threshold", "gradient_canaries_one_run", "input_canaries_threshold",
                           "input_canaries_one_run", "final_model_threshold", "final_model_one_run"})
    EXPECT_LE(bounds.at(name).at("epsilon").get<double>(), lower) << name;
  EXPECT_GT(r.at("training_rows").get<int64_t>(), 0);
  EXPECT_GT(r.at("steps_per_run").get<int64_t>(), 0);
}

TEST(DpAuditCommand, RefusesWhatItCannotAudit) {
  struct Case {
    std::string arguments, expected;
  };
  for (const Case& c : std::vector<Case>{
           {"dp-audit " + kPima + " --runs 0", "--runs"},
           {"dp-audit " + kPima + " --confidence 1.5", "--confidence"},
           {"dp-audit " + kPima + " --epochs 1 --gradient-canaries 100000000", "gradient canaries for a model of"},
           {"dp-audit " + kPima + " --epochs 1 --gradient-canaries 0 --input-canaries 0 --validation-split 0.2",
            "--validation-split"},
           {std::string("dp-audit --data ") + CITADEL_SOURCE_DATA + " --epochs 1", "--schema"},
       }) {
    const auto result = run_cli(c.arguments);
    EXPECT_NE(result.exit_code, 0) << c.arguments;
    EXPECT_NE(result.err.find(c.expected), std::string::npos) << c.arguments << ": " << result.err;
  }
}

}  // namespace
}  // namespace dp_audit_command_test
}  // namespace citadel
