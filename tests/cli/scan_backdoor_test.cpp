// `citadel scan-backdoor` run as a user runs it: a CSV model trained on rows with a planted
// trigger is flagged with its target, a clean one is not; the report's fields, the HTML section
// with the reversed triggers drawn, and bad flags refused by name with nothing written.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "../support/planted_backdoor.hpp"
#include "citadel/provenance/backdoor_trigger.hpp"
#include "cli_runner.hpp"
#include "html_checker.hpp"

namespace scan_backdoor_test {

using namespace citadel::testkit;
namespace fs = std::filesystem;

namespace {

// 64 pixel columns and the class, no header.
fs::path images_csv(const std::string& name, int64_t rows, uint64_t seed, bool backdoored) {
  citadel::testing::PlantedImages data = citadel::testing::planted_images(rows, seed);
  if (backdoored) citadel::poison_with_trigger(data.x, data.y, {.size = 2}, 3, 0.05, 9);
  std::ostringstream csv;
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t p = 0; p < 64; ++p) csv << data.x[r * 64 + p] << ',';
    csv << int(data.y[r]) << '\n';
  }
  return write_scratch_file(name, csv.str());
}

fs::path trained(const std::string& name, bool backdoored, int seed = 42) {
  const fs::path data = images_csv(name + ".csv", 3000, 1, backdoored);
  const fs::path model = scratch_directory() / (name + ".safetensors");
  const CliResult result = run_cli("train --verbose 0 --data " + data.string() +
                                   " --scale none --layers 32:relu,10:softmax --epochs 15 --batch-size 64 --seed " +
                                   std::to_string(seed) + " --save " + model.string());
  EXPECT_EQ(result.exit_code, 0) << result.err;
  return model;
}

}  // namespace

TEST(ScanBackdoorCli, FlagsABackdooredModelAndPassesACleanOne) {
  const fs::path clean_rows = images_csv("clean_rows.csv", 400, 2, false);
  const fs::path backdoored = trained("backdoored", true), clean = trained("clean", false);
  const fs::path report = scratch_directory() / "scan.json", page = scratch_directory() / "scan.html";
  const CliResult scan = run_cli("scan-backdoor --model " + backdoored.string() + " --data " + clean_rows.string() +
                                 " --rows 300 --steps 200 --seed 7 --report " + report.string() + " --html " +
                                 page.string());
  ASSERT_EQ(scan.exit_code, 0) << scan.err;
  EXPECT_NE(scan.out.find("BACKDOOR SUSPECTED"), std::string::npos) << scan.out;
  const auto json = nlohmann::json::parse(read_file(report));
  EXPECT_EQ(json["scan"], "neural_cleanse");
  EXPECT_EQ(json["rows"], 300);
  EXPECT_EQ(json["steps"], 200);
  EXPECT_TRUE(json["backdoor_suspected"].get<bool>());
  ASSERT_FALSE(json["flagged"].empty());
  EXPECT_EQ(json["flagged"][0], "3");
  EXPECT_EQ(json["image"]["height"], 8);  // 64 features scanned as an 8x8 image
  ASSERT_EQ(json["labels"].size(), 10u);
  const auto& target = json["labels"][3];
  EXPECT_TRUE(target["flagged"].get<bool>());
  EXPECT_GT(target["anomaly_index"].get<double>(), 2.0);
  ASSERT_EQ(target["mask"].size(), 64u);
  ASSERT_EQ(target["pattern"].size(), 64u);
  double l1 = 0;
  for (const auto& m : target["mask"]) l1 += m.get<double>();
  EXPECT_NEAR(l1, target["l1_norm"].get<double>(), 0.01);  // the mask the norm was measured on
  EXPECT_LT(l1, 16.0);  // a 2x2 trigger; the scaled CSV pixels blur it a little
  const std::string html = read_file(page);
  EXPECT_NE(html.find("Backdoor scan (Neural Cleanse)"), std::string::npos);
  EXPECT_NE(html.find("reversed trigger of 3"), std::string::npos);
  EXPECT_NE(html.find("FLAGGED"), std::string::npos);
  const CheckedPage checked = check_html_page(page.string());  // well formed, nothing fetched
  ASSERT_TRUE(checked.ok) << checked.problems;
  EXPECT_TRUE(checked.has_cell("FLAGGED")) << checked.content.dump();

  const fs::path clean_report = scratch_directory() / "clean_scan.json";
  const CliResult passed = run_cli("scan-backdoor --model " + clean.string() + " --data " + clean_rows.string() +
                                   " --rows 300 --steps 200 --seed 7 --report " + clean_report.string());
  ASSERT_EQ(passed.exit_code, 0) << passed.err;
  EXPECT_NE(passed.out.find("no backdoor found"), std::string::npos) << passed.out;
  const auto clean_json = nlohmann::json::parse(read_file(clean_report));
  EXPECT_FALSE(clean_json["backdoor_suspected"].get<bool>());
  EXPECT_TRUE(clean_json["flagged"].empty());
}

// With clean reference models (other seeds), each label is judged against its own clean mask:
// the planted target is still flagged, a clean model still passes, and the report says so.
TEST(ScanBackdoorCli, CleanReferenceModelsJudgeEachLabel) {
  const fs::path clean_rows = images_csv("clean_rows_ref.csv", 400, 2, false);
  const fs::path backdoored = trained("backdoored_ref", true), clean = trained("clean_ref", false, 7);
  const fs::path reference_a = trained("reference_a", false, 11), reference_b = trained("reference_b", false, 12);
  const std::string references = " --reference " + reference_a.string() + " --reference " + reference_b.string();
  const fs::path report = scratch_directory() / "scan_ref.json";
  const CliResult scan = run_cli("scan-backdoor --model " + backdoored.string() + " --data " + clean_rows.string() +
                                 references + " --rows 300 --steps 200 --seed 7 --report " + report.string());
  ASSERT_EQ(scan.exit_code, 0) << scan.err;
  EXPECT_NE(scan.out.find("BACKDOOR SUSPECTED"), std::string::npos) << scan.out;
  const auto json = nlohmann::json::parse(read_file(report));
  EXPECT_EQ(json["references"].size(), 2u);
  ASSERT_FALSE(json["flagged"].empty());
  EXPECT_EQ(json["flagged"][0], "3");
  const auto& target = json["labels"][3];
  EXPECT_NEAR(target["relative_l1"].get<double>(),
              target["l1_norm"].get<double>() / target["reference_l1"].get<double>(), 1e-9);
  // Flagged means below (1 - 0.25) times the median ratio (the report's median_l1 with references).
  EXPECT_LT(target["relative_l1"].get<double>(), 0.75 * json["median_l1"].get<double>());
  EXPECT_GT(target["anomaly_index"].get<double>(), 2.0);

  const fs::path clean_report = scratch_directory() / "clean_scan_ref.json";
  const CliResult passed = run_cli("scan-backdoor --model " + clean.string() + " --data " + clean_rows.string() +
                                   references + " --rows 300 --steps 200 --seed 7 --report " + clean_report.string());
  ASSERT_EQ(passed.exit_code, 0) << passed.err;
  EXPECT_NE(passed.out.find("no backdoor found"), std::string::npos) << passed.out;
  EXPECT_TRUE(nlohmann::json::parse(read_file(clean_report))["flagged"].empty());

  const CliResult absent = run_cli("scan-backdoor --model " + clean.string() + " --data " + clean_rows.string() +
                                   " --reference " + (scratch_directory() / "no_reference.safetensors").string());
  EXPECT_NE(absent.exit_code, 0);
  EXPECT_NE(absent.err.find("no_reference.safetensors"), std::string::npos) << absent.err;
}

TEST(ScanBackdoorCli, BadInputIsRefusedByNameAndNothingIsWritten) {
  const fs::path rows = images_csv("few_rows.csv", 50, 3, false);
  const fs::path report = scratch_directory() / "refused.json";
  const std::string out = " --report " + report.string();
  const CliResult missing = run_cli("scan-backdoor --model " + (scratch_directory() / "absent.safetensors").string() +
                                    " --data " + rows.string() + out);
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("absent.safetensors"), std::string::npos) << missing.err;
  const CliResult no_model = run_cli("scan-backdoor --data " + rows.string() + out);
  EXPECT_NE(no_model.exit_code, 0);
  EXPECT_NE(no_model.err.find("--model"), std::string::npos) << no_model.err;
  const fs::path model = trained("refusals", false);
  for (const char* text : {"--steps 0", "--rows 0", "--rows -3", "--steps many"}) {
    const std::string flag = text;
    const CliResult bad = run_cli("scan-backdoor --model " + model.string() + " --data " + rows.string() + " " + flag + out);
    EXPECT_NE(bad.exit_code, 0) << flag;
    EXPECT_NE(bad.err.find(flag.substr(0, flag.find(' '))), std::string::npos) << flag << ": " << bad.err;
  }
  const CliResult no_data = run_cli("scan-backdoor --model " + model.string() + out);
  EXPECT_NE(no_data.exit_code, 0);
  EXPECT_NE(no_data.err.find("--data"), std::string::npos) << no_data.err;
  const CliResult absent_data = run_cli("scan-backdoor --model " + model.string() + " --data " +
                                        (scratch_directory() / "nowhere.csv").string() + out);
  EXPECT_NE(absent_data.exit_code, 0);
  EXPECT_NE(absent_data.err.find("nowhere.csv"), std::string::npos) << absent_data.err;
  EXPECT_FALSE(fs::exists(report));
}

}  // namespace scan_backdoor_test
