// `citadel certify` and `train --gaussian-augmentation` run as a user runs them: the figures
// recomputed from the certificates the report lists, each certificate's radius from its own
// counts, certified accuracy below the smoothed model's accuracy under PGD at every radius,
// the HTML section, and bad flags refused by name with nothing written.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "citadel/privacy/audit_statistics.hpp"
#include "brute_force_statistics.hpp"
#include "cli_runner.hpp"

namespace certify_test {

using namespace citadel::testkit;
namespace fs = std::filesystem;

namespace {

const std::string kPima = CITADEL_SOURCE_DATA;

// A Pima model trained with the noise it is certified under, saved once.
const fs::path& noisy_model() {
  static const fs::path model = [] {
    const fs::path path = scratch_directory() / "noisy.safetensors", report = scratch_directory() / "noisy.json";
    const CliResult result = run_cli("train --verbose 0 --epochs 40 --gaussian-augmentation 0.25 --save " +
                                     path.string() + " --report " + report.string());
    EXPECT_EQ(result.exit_code, 0) << result.err;
    const auto json = nlohmann::json::parse(read_file(report));
    EXPECT_EQ(json["protection"]["gaussian_augmentation"]["sigma"].get<double>(), 0.25) << json.dump();
    return path;
  }();
  return model;
}

}  // namespace

TEST(CertifyCli, FiguresFollowFromTheCertificatesAndStayBelowTheAttack) {
  const fs::path report = scratch_directory() / "certify.json", page = scratch_directory() / "certify.html";
  const CliResult result =
      run_cli("certify --model " + noisy_model().string() + " --data " + kPima +
              " --rows 40 --sigma 0.25 --n0 50 --n 2000 --alpha 0.001 --radii 0,0.1,0.25,0.5 --attack --report " +
              report.string() + " --html " + page.string());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("certified accuracy"), std::string::npos) << result.out;
  const auto json = nlohmann::json::parse(read_file(report));
  ASSERT_EQ(json["rows"].get<int>(), 40);
  ASSERT_EQ(json["certificates"].size(), 40u);
  EXPECT_EQ(json["smoothing"]["n"].get<int>(), 2000);
  int abstained = 0;
  for (const auto& c : json["certificates"]) {
    const double lower = c["probability_lower"].get<double>();
    // The bound is the one-sided Clopper–Pearson bound of the row's own count.
    EXPECT_NEAR(lower, citadel::clopper_pearson_lower(c["count"].get<int64_t>(), 2000, 0.001), 1e-12);
    if (c["predicted"].is_null()) {
      ++abstained;
      EXPECT_LT(lower, 0.5);
      EXPECT_EQ(c["radius"].get<double>(), 0.0);
    } else {
      EXPECT_NEAR(c["radius"].get<double>(), 0.25 * normal_quantile_by_bisection(lower), 1e-6);
    }
  }
  EXPECT_EQ(json["abstained"].get<int>(), abstained);
  ASSERT_EQ(json["certified"].size(), 4u);
  double previous = 1.0;
  for (const auto& point : json["certified"]) {
    const double radius = point["radius"].get<double>();
    int certified = 0;
    for (const auto& c : json["certificates"])
      certified += !c["predicted"].is_null() && c["predicted"] == c["label"] && c["radius"].get<double>() >= radius;
    const double accuracy = point["certified_accuracy"].get<double>();
    EXPECT_DOUBLE_EQ(accuracy, certified / 40.0) << "radius " << radius;
    EXPECT_LE(accuracy, previous);
    previous = accuracy;
    // The lower bound never passes the upper bound an attack on the smoothed model gives.
    EXPECT_LE(accuracy, point["accuracy_under_pgd"].get<double>()) << "radius " << radius;
  }
  EXPECT_GT(json["certified"][0]["certified_accuracy"].get<double>(), 0.5) << "a noise-trained Pima model";
  const std::string html = read_file(page);
  EXPECT_NE(html.find("Certified robustness"), std::string::npos);
  EXPECT_NE(html.find("accuracy under PGD"), std::string::npos);
}

TEST(CertifyCli, BadFlagsAreRefusedByNameAndWriteNothing) {
  const fs::path report = scratch_directory() / "refused.json";
  fs::remove(report);
  for (const auto& [flags, named] : std::vector<std::pair<std::string, std::string>>{
           {"--sigma 0", "--sigma"},
           {"--sigma -1", "--sigma"},
           {"--n 0", "--n"},
           {"--alpha 2", "--alpha"},
           {"--radii 0.1,x", "--radii"},
           {"--radii=-1", "--radii"}}) {
    const CliResult result =
        run_cli("certify --model " + noisy_model().string() + " --data " + kPima + " " + flags + " --report " +
                report.string());
    EXPECT_NE(result.exit_code, 0) << flags;
    EXPECT_NE(result.err.find(named), std::string::npos) << flags << ": " << result.err;
    EXPECT_FALSE(fs::exists(report)) << flags;
  }
  const CliResult missing = run_cli("certify --model " + (scratch_directory() / "absent.safetensors").string() +
                                    " --data " + kPima);
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("absent.safetensors"), std::string::npos) << missing.err;
  const CliResult both = run_cli("train --verbose 0 --epochs 1 --gaussian-augmentation 0.1 --adversarial pgd --eps 0.1");
  EXPECT_NE(both.exit_code, 0);
  EXPECT_NE(both.err.find("--gaussian-augmentation"), std::string::npos) << both.err;
}

}  // namespace certify_test
