// `citadel inspect-data` run as a user runs it: a CSV model trained on rows of which 30 (1 %) are
// other classes' images stamped with a corner patch and relabelled 3 has exactly those rows
// flagged in class 3 and listed in --flagged; a model trained on the clean rows has no class
// flagged; bad flags are refused by name.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "../support/planted_backdoor.hpp"
#include "citadel/provenance/backdoor_trigger.hpp"
#include "cli_runner.hpp"
#include "html_checker.hpp"

namespace inspect_data_test {

using namespace citadel::testkit;
namespace fs = std::filesystem;

namespace {

struct Rows {
  fs::path csv;
  std::vector<int64_t> planted;
};

// 64 pixel columns and the class, no header.
Rows images_csv(const std::string& name, bool backdoored) {
  citadel::testing::PlantedImages data = citadel::testing::planted_images(3000, 1);
  Rows rows;
  if (backdoored) rows.planted = citadel::poison_with_trigger(data.x, data.y, {.size = 2}, 3, 0.01, 9);
  std::ostringstream csv;
  for (int64_t r = 0; r < data.x.shape(0); ++r) {
    for (int64_t p = 0; p < 64; ++p) csv << data.x[r * 64 + p] << ',';
    csv << int(data.y[r]) << '\n';
  }
  rows.csv = write_scratch_file(name, csv.str());
  return rows;
}

fs::path trained(const std::string& name, const fs::path& data) {
  const fs::path model = scratch_directory() / (name + ".safetensors");
  const CliResult result = run_cli("train --verbose 0 --data " + data.string() +
                                   " --scale none --layers 32:relu,10:softmax --epochs 15 --batch-size 64 --seed 42 "
                                   "--save " +
                                   model.string());
  EXPECT_EQ(result.exit_code, 0) << result.err;
  return model;
}

// The 8×8 images' representations are 32 units wide and their classes tight: planted rows lie
// 6 and more robust deviations out (Fashion-MNIST's heavy tails need the default 15).
const std::string kThreshold = " --row-threshold 5";

TEST(InspectDataCli, FlagsThePlantedRowsAndPassesCleanData) {
  const Rows poisoned = images_csv("inspect_poisoned.csv", true);
  ASSERT_EQ(poisoned.planted.size(), 30u);
  const fs::path model = trained("inspect_poisoned", poisoned.csv);
  const fs::path flagged = scratch_directory() / "inspect_flagged.csv", report = scratch_directory() / "inspect.json",
                 page = scratch_directory() / "inspect.html";
  const CliResult run =
      run_cli("inspect-data --model " + model.string() + " --data " + poisoned.csv.string() + kThreshold +
              " --flagged " + flagged.string() + " --report " + report.string() + " --html " + page.string());
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("POISONING SUSPECTED"), std::string::npos) << run.out;
  std::istringstream lines(read_file(flagged));
  std::string line;
  std::getline(lines, line);
  EXPECT_EQ(line, "row,class,score");
  std::set<int64_t> listed;
  while (std::getline(lines, line)) {
    const size_t comma = line.find(',');
    listed.insert(std::stoll(line.substr(0, comma)));
    EXPECT_EQ(line.substr(comma + 1, 2), "3,") << line;
  }
  int64_t found = 0;
  for (int64_t row : poisoned.planted) found += listed.count(row);
  EXPECT_GE(found, 27) << "of 30 planted rows";
  EXPECT_LE(int64_t(listed.size()) - found, 15) << "clean rows flagged (5 % of class 3)";
  const auto json = nlohmann::json::parse(read_file(report));
  EXPECT_EQ(json["inspection"], "poison");
  EXPECT_EQ(json["flagged_classes"], nlohmann::json::array({"3"}));
  ASSERT_EQ(json["classes"].size(), 10u);
  EXPECT_TRUE(json["classes"][3]["flagged"].get<bool>());
  EXPECT_GT(json["classes"][3]["candidate_disagreement"].get<double>(), 0.9);
  const std::string html = read_file(page);
  EXPECT_NE(html.find("Poisoned-data inspection"), std::string::npos);
  const CheckedPage checked = check_html_page(page.string());
  ASSERT_TRUE(checked.ok) << checked.problems;
  EXPECT_TRUE(checked.has_cell("FLAGGED")) << checked.content.dump();

  const Rows clean = images_csv("inspect_clean.csv", false);
  const fs::path clean_model = trained("inspect_clean", clean.csv);
  const fs::path clean_report = scratch_directory() / "inspect_clean.json";
  const CliResult passed = run_cli("inspect-data --model " + clean_model.string() + " --data " + clean.csv.string() +
                                   kThreshold + " --report " + clean_report.string());
  ASSERT_EQ(passed.exit_code, 0) << passed.err;
  EXPECT_NE(passed.out.find("no class holds"), std::string::npos) << passed.out;
  EXPECT_TRUE(nlohmann::json::parse(read_file(clean_report))["flagged_classes"].empty());
}

TEST(InspectDataCli, RefusesBadFlags) {
  const CliResult missing_model = run_cli("inspect-data --data x.csv");
  EXPECT_NE(missing_model.exit_code, 0);
  EXPECT_NE(missing_model.err.find("--model"), std::string::npos) << missing_model.err;
  const CliResult negative = run_cli("inspect-data --model m.safetensors --row-threshold -2");
  EXPECT_NE(negative.exit_code, 0);
  EXPECT_NE(negative.err.find("--row-threshold"), std::string::npos) << negative.err;
}

}  // namespace

namespace {

// `train --inspect-poison --drop-flagged`: the training rows are inspected after training, the
// planted class flagged, and the model retrained on the rows kept.
TEST(InspectDataCli, TrainInspectsAndRetrainsWithoutFlaggedRows) {
  const Rows poisoned = images_csv("train_inspect.csv", true);
  const fs::path report = scratch_directory() / "train_inspect.json";
  const CliResult run = run_cli("train --verbose 0 --data " + poisoned.csv.string() +
                                " --scale none --layers 32:relu,10:softmax --epochs 15 --batch-size 64 --seed 42 "
                                "--no-save --inspect-poison --drop-flagged --poison-threshold 5 --report " +
                                report.string());
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("POISONING SUSPECTED"), std::string::npos) << run.out;
  const auto json = nlohmann::json::parse(read_file(report));
  const auto& inspection = json["poison_inspection"];
  EXPECT_EQ(inspection["flagged_classes"], nlohmann::json::array({3}));
  const size_t flagged = inspection["flagged_rows"].size();
  EXPECT_GE(flagged, 20u);  // about 24 of the 30 planted rows are among the 2400 training rows
  EXPECT_LE(flagged, 40u);
  // The held-out split takes about 600 of the 3000 rows; the rows trained on at last are the rest less the flagged.
  const size_t kept = json["train_rows"].get<size_t>();
  EXPECT_EQ(inspection["retrained_rows"].get<size_t>(), kept);
  EXPECT_NEAR(double(kept + flagged), 2400.0, 1.0);

  const CliResult alone = run_cli("train --verbose 0 --data " + poisoned.csv.string() + " --drop-flagged");
  EXPECT_NE(alone.exit_code, 0);
  EXPECT_NE(alone.err.find("--inspect-poison"), std::string::npos) << alone.err;
}

}  // namespace

}  // namespace inspect_data_test
