// `citadel train --certified-training ibp` and `citadel certify --method ibp` run as a user runs
// them: the verified accuracy recomputed from the rows the report lists, below the accuracy under
// PGD at every ε, above a normally trained model's, the HTML section, and bad flags refused by
// name with nothing written.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli_runner.hpp"

namespace certify_ibp_test {

using namespace citadel::testkit;
namespace fs = std::filesystem;

namespace {

const std::string kPima = CITADEL_SOURCE_DATA;

fs::path trained(const std::string& name, const std::string& flags) {
  const fs::path path = scratch_directory() / (name + ".safetensors"), report = scratch_directory() / (name + ".json");
  const CliResult result = run_cli("train --verbose 0 --epochs 40 --layers 16:relu,16:relu,1:sigmoid " + flags + " --save " +
                                   path.string() + " --report " + report.string());
  EXPECT_EQ(result.exit_code, 0) << result.err;
  return path;
}

nlohmann::json certify(const fs::path& model, const std::string& name) {
  const fs::path report = scratch_directory() / (name + "_ibp.json");
  const CliResult result = run_cli("certify --method ibp --model " + model.string() + " --data " + kPima +
                                   " --radii 0,0.05,0.1,0.2 --attack --report " + report.string());
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("verified accuracy"), std::string::npos) << result.out;
  return nlohmann::json::parse(read_file(report));
}

}  // namespace

TEST(CertifyIbpCli, CertifiedTrainingVerifiesBelowTheAttackAndAboveANormalModel) {
  const fs::path robust = trained("ibp", "--certified-training ibp --eps 0.1");
  const auto record = nlohmann::json::parse(read_file(scratch_directory() / "ibp.json"));
  EXPECT_EQ(record["protection"]["certified_training"]["method"], "ibp") << record.dump();
  EXPECT_EQ(record["protection"]["certified_training"]["epsilon"].get<double>(), 0.1);
  const fs::path normal = trained("normal", "");

  const auto json = certify(robust, "robust");
  EXPECT_EQ(json["method"], "ibp");
  const int rows = json["rows"].get<int>();
  ASSERT_EQ(json["certificates"].size(), size_t(rows));
  ASSERT_EQ(json["verified"].size(), 4u);
  double previous = 1.0;
  for (const auto& point : json["verified"]) {
    const double epsilon = point["epsilon"].get<double>();
    int verified = 0;
    for (const auto& row : json["certificates"])
      verified += !row["verified_up_to"].is_null() && row["verified_up_to"].get<double>() >= epsilon;
    const double accuracy = point["verified_accuracy"].get<double>();
    EXPECT_DOUBLE_EQ(accuracy, double(verified) / rows) << "eps " << epsilon;
    EXPECT_LE(accuracy, previous);
    previous = accuracy;
    // The proved lower bound never passes the upper bound an attack gives.
    EXPECT_LE(accuracy, point["accuracy_under_pgd"].get<double>()) << "eps " << epsilon;
  }
  // At ε = 0 verified is the plain accuracy (up to exact ties), which PGD at 0 also is.
  EXPECT_NEAR(json["verified"][0]["verified_accuracy"].get<double>(),
              json["verified"][0]["accuracy_under_pgd"].get<double>(), 1e-9);

  const auto plain = certify(normal, "normal");
  const double robust_at = json["verified"][2]["verified_accuracy"].get<double>();
  const double normal_at = plain["verified"][2]["verified_accuracy"].get<double>();
  EXPECT_GT(robust_at, 0.5);
  EXPECT_GT(robust_at, normal_at) << "IBP-trained " << robust_at << ", normal " << normal_at;

  const fs::path page = scratch_directory() / "ibp.html";
  const CliResult html = run_cli("report " + (scratch_directory() / "robust_ibp.json").string() + " " +
                                 (scratch_directory() / "normal_ibp.json").string() + " --output " + page.string());
  ASSERT_EQ(html.exit_code, 0) << html.err;
  const std::string text = read_file(page);
  EXPECT_NE(text.find("Certified robustness"), std::string::npos);
  EXPECT_NE(text.find("verified accuracy"), std::string::npos);
}

TEST(CertifyIbpCli, BadFlagsAreRefusedByNameAndWriteNothing) {
  const fs::path report = scratch_directory() / "ibp_refused.json";
  fs::remove(report);
  for (const auto& [command, named] : std::vector<std::pair<std::string, std::string>>{
           {"train --verbose 0 --epochs 1 --certified-training ibp", "--eps"},
           {"train --verbose 0 --epochs 1 --certified-training ibp --eps 0.1,0.2", "--eps"},
           {"train --verbose 0 --epochs 1 --certified-training ibp --eps 0.1 --adversarial pgd", "--certified-training"},
           {"train --verbose 0 --epochs 1 --certified-training ibp --eps 0.1 --dp", "--dp"},
           {"train --verbose 0 --epochs 1 --certified-training box --eps 0.1", "--certified-training"},
           {"train --verbose 0 --epochs 1 --certified-training ibp --eps 0.1 --ibp-kappa 2", "--ibp-kappa"},
           {"train --verbose 0 --epochs 1 --certified-training ibp --eps 0.1 --layers 8:gelu,1:sigmoid", "not monotone"}}) {
    const CliResult result = run_cli(command + " --report " + report.string());
    EXPECT_NE(result.exit_code, 0) << command;
    EXPECT_NE(result.err.find(named), std::string::npos) << command << ": " << result.err;
    EXPECT_FALSE(fs::exists(report)) << command;
  }
  const fs::path model = trained("plain_for_flags", "");
  const CliResult sigma =
      run_cli("certify --method ibp --sigma 0.5 --model " + model.string() + " --data " + kPima + " --report " +
              report.string());
  EXPECT_NE(sigma.exit_code, 0);
  EXPECT_NE(sigma.err.find("--sigma"), std::string::npos) << sigma.err;
  EXPECT_FALSE(fs::exists(report));
  const CliResult method = run_cli("certify --method box --model " + model.string() + " --data " + kPima);
  EXPECT_NE(method.exit_code, 0);
  EXPECT_NE(method.err.find("--method"), std::string::npos) << method.err;
}

}  // namespace certify_ibp_test
