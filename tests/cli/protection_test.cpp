// The protection commands run as a user runs them: attack, dp-budget, audit, and train's
// --adversarial and --dp.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "citadel/privacy/accountant.hpp"
#include "cli_runner.hpp"

namespace protection_test {

using namespace citadel::testkit;
namespace fs = std::filesystem;

namespace {

const std::string kPima = CITADEL_SOURCE_DATA;

// A model trained on the bundled data, saved once for the tests here.
const fs::path& pima_model() {
  static const fs::path model = [] {
    const fs::path path = scratch_directory() / "protect.safetensors";
    const CliResult result = run_cli("train --verbose 0 --epochs 60 --save " + path.string());
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return path;
  }();
  return model;
}

}  // namespace

TEST(Protection, AttackReportsAccuracyUnderEachEpsilonAndWritesExamples) {
  const fs::path report = scratch_directory() / "attack.json", examples = scratch_directory() / "adv.csv";
  const CliResult result = run_cli("attack --model " + pima_model().string() + " --data " + kPima +
                                   " --method pgd --eps 0,0.1,0.5 --restarts 2 --report " + report.string() +
                                   " --save-examples " + examples.string());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("attack success"), std::string::npos) << result.out;
  const auto json = nlohmann::json::parse(read_file(report));
  const auto& rows = json["results"];
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0]["epsilon"], 0.0);
  EXPECT_EQ(rows[0]["mean_linf"], 0.0);
  EXPECT_GT(rows[0]["accuracy"].get<double>(), 0.7);  // clean
  EXPECT_LT(rows[2]["accuracy"].get<double>(), rows[1]["accuracy"].get<double>());
  EXPECT_LT(rows[1]["accuracy"].get<double>(), rows[0]["accuracy"].get<double>());
  EXPECT_LE(rows[2]["mean_linf"].get<double>(), 0.5 + 1e-6);
  EXPECT_EQ(json["rows"], 768);
  const std::string csv = read_file(examples);
  EXPECT_EQ(csv.substr(0, csv.find('\n')), "label,NumTimesPrg,PlGlcConc,BloodP,SkinThick,TwoHourSerIns,BMI,DiPedFunc,Age");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 769);
}

TEST(Protection, TargetedFgsmAndBadArguments) {
  const fs::path report = scratch_directory() / "targeted.json";
  const CliResult targeted = run_cli("attack --model " + pima_model().string() + " --data " + kPima +
                                     " --method fgsm --eps 0,1 --target 1 --report " + report.string());
  ASSERT_EQ(targeted.exit_code, 0) << targeted.err;
  const auto json = nlohmann::json::parse(read_file(report));
  EXPECT_GT(json["results"][1]["attack_success"].get<double>(), json["results"][0]["attack_success"].get<double>());
  const CliResult bad_eps = run_cli("attack --model " + pima_model().string() + " --data " + kPima + " --eps 0.1,x");
  EXPECT_EQ(bad_eps.exit_code, 1);
  EXPECT_NE(bad_eps.err.find("--eps: 'x' is not a number"), std::string::npos) << bad_eps.err;
  const CliResult bad_target =
      run_cli("attack --model " + pima_model().string() + " --data " + kPima + " --eps 0.1 --target 7");
  EXPECT_EQ(bad_target.exit_code, 1);
  EXPECT_NE(bad_target.err.find("'7' is not a class; classes: 0, 1"), std::string::npos) << bad_target.err;
}

TEST(Protection, DpBudgetMatchesTheAccountantAndFindsTheNoise) {
  const fs::path report = scratch_directory() / "budget.json";
  const CliResult result = run_cli("dp-budget --samples 60000 --batch-size 256 --noise 1.1 --epochs 60 --delta 1e-5 "
                                   "--report " + report.string());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto json = nlohmann::json::parse(read_file(report));
  EXPECT_NEAR(json["epsilon"].get<double>(), citadel::dp_sgd_epsilon_after_epochs(256.0 / 60000, 1.1, 234, 60, 1e-5).epsilon,
              1e-9);
  const CliResult target = run_cli("dp-budget --samples 60000 --batch-size 256 --epochs 60 --target-epsilon 1 "
                                   "--report " + report.string());
  ASSERT_EQ(target.exit_code, 0) << target.err;
  const auto found = nlohmann::json::parse(read_file(report));
  EXPECT_LE(found["epsilon"].get<double>(), 1.0);
  EXPECT_GT(found["noise_multiplier"].get<double>(), 1.1);
  EXPECT_EQ(run_cli("dp-budget --samples 10 --batch-size 20 --epochs 1").exit_code, 1);
}

TEST(Protection, PrivateAndAdversarialTraining) {
  const fs::path dp = scratch_directory() / "dp.json", adversarial = scratch_directory() / "adv.json";
  const CliResult result = run_cli("train --dp --clip 1 --noise 1.1 --epochs 5 --verbose 2 --no-save --report " +
                                   dp.string());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("- epsilon: "), std::string::npos) << result.out;
  const auto json = nlohmann::json::parse(read_file(dp));
  const auto& epsilons = json["history"]["epsilon"];
  ASSERT_EQ(epsilons.size(), 5u);
  EXPECT_LT(epsilons[0].get<double>(), epsilons[4].get<double>());
  EXPECT_EQ(json["epsilon"], epsilons[4]);
  EXPECT_EQ(json["protection"]["differential_privacy"]["poisson_sampling"], true);
  EXPECT_EQ(json["protection"]["differential_privacy"]["noise"], "ChaCha20 keyed from the operating system");
  EXPECT_FALSE(json["protection"]["differential_privacy"]["not_covered_by_epsilon"].empty());
  EXPECT_EQ(fs::status(dp).permissions() & fs::perms::all, fs::perms(0600));  // it holds training statistics
  const CliResult robust = run_cli("train --adversarial pgd --eps 0.1 --epochs 5 --verbose 0 --no-save --report " +
                                   adversarial.string());
  ASSERT_EQ(robust.exit_code, 0) << robust.err;
  EXPECT_EQ(nlohmann::json::parse(read_file(adversarial))["protection"]["adversarial_training"]["epsilon"], 0.1);
}

// The bundled rows split into the first `members` rows (a model is trained on them) and the
// rest, each a CSV file with the header.
std::pair<fs::path, fs::path> member_and_holdout_files(size_t members, const std::string& prefix) {
  const std::string rows = read_file(kPima);
  std::vector<std::string> lines;
  for (size_t start = 0; start < rows.size();) {
    const size_t end = rows.find('\n', start);
    lines.push_back(rows.substr(start, end - start));
    start = end == std::string::npos ? rows.size() : end + 1;
  }
  std::string in = lines[0] + "\n", out = lines[0] + "\n";
  for (size_t i = 1; i < lines.size(); ++i)
    if (!lines[i].empty()) (i <= members ? in : out) += lines[i] + "\n";
  return {write_scratch_file(prefix + "members.csv", in), write_scratch_file(prefix + "holdout.csv", out)};
}

TEST(Protection, AuditFindsMoreLeakageInAnOverfitModelThanInAPrivateOne) {
  const auto [train, unseen] = member_and_holdout_files(400, "");
  const std::string common = " --data " + train.string() + " --test-split 0.01 --epochs 300 --layers "
                             "128:relu,128:relu,1:sigmoid --verbose 0 --save ";
  const fs::path overfit = scratch_directory() / "overfit.safetensors", dp = scratch_directory() / "dp.safetensors";
  ASSERT_EQ(run_cli("train" + common + overfit.string()).exit_code, 0);
  // Reproducible noise: the test is of the audit, and must not pass or fail by the draw.
  ASSERT_EQ(run_cli("train --dp --noise 1.0 --dp-reproducible --schema " CITADEL_SOURCE_SCHEMA + common + dp.string())
                .exit_code,
            0);
  double auc[2];
  for (int i = 0; i < 2; ++i) {
    const fs::path report = scratch_directory() / ("audit" + std::to_string(i) + ".json");
    const CliResult result = run_cli("audit --model " + (i ? dp : overfit).string() + " --train " + train.string() +
                                     " --holdout " + unseen.string() + " --report " + report.string());
    ASSERT_EQ(result.exit_code, 0) << result.err;
    const auto json = nlohmann::json::parse(read_file(report));
    ASSERT_EQ(json["attacks"].size(), 2u);
    EXPECT_EQ(json["attacks"][0]["attack"], "loss_threshold");
    EXPECT_EQ(json.contains("differential_privacy"), i == 1);  // the model's (ε, δ), when it has them
    EXPECT_EQ(json["attacks"][0].contains("within_dp_bound"), i == 1);
    auc[i] = json["attacks"][0]["auc"].get<double>();
  }
  EXPECT_GT(auc[0], 0.6);
  EXPECT_GT(auc[0], auc[1] + 0.08) << "overfit " << auc[0] << " vs private " << auc[1];
}

// A model trained with DP at ε = 1 is audited against its own guarantee: the report carries
// the model's (ε, δ) and the region's curve, and no attack proves more than ε. The verdict
// compares each attack's 95 % lower bound on ε (a split-half Clopper–Pearson test, so chance
// alone fails it at most 5 % of the time, and a real ε-DP model leaks far less than that
// test can see at 400 rows) with ε, not raw ROC points, which cross the curve by chance.
TEST(Protection, AuditOfAPrivateModelStaysWithinItsGuarantee) {
  const auto [train, unseen] = member_and_holdout_files(400, "dp_bound_");
  const fs::path model = scratch_directory() / "dp_bound.safetensors", report = scratch_directory() / "dp_bound.json";
  // Reproducible noise: the same model every run, so the test cannot pass or fail by the draw.
  ASSERT_EQ(run_cli("train --dp --target-epsilon 1 --dp-reproducible --epochs 5 --test-split 0.01 --verbose 0 "
                    "--schema " CITADEL_SOURCE_SCHEMA " --data " + train.string() + " --save " + model.string())
                .exit_code,
            0);
  const CliResult result = run_cli("audit --model " + model.string() + " --train " + train.string() + " --holdout " +
                                   unseen.string() + " --reference-epochs 2 --report " + report.string());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("every attack's epsilon >= is within it"), std::string::npos) << result.out;
  const auto json = nlohmann::json::parse(read_file(report));
  ASSERT_TRUE(json.contains("differential_privacy")) << json.dump();
  const double epsilon = json["differential_privacy"]["epsilon"].get<double>();
  EXPECT_LE(epsilon, 1.0 + 1e-6);
  EXPECT_GT(epsilon, 0.5);
  EXPECT_EQ(json["differential_privacy"]["delta"].get<double>(), 1e-5);
  const auto& bound = json["differential_privacy"]["roc_bound"];
  EXPECT_EQ(bound["fpr"].size(), bound["tpr"].size());
  EXPECT_EQ(bound["tpr"].front().get<double>(), 1e-5);  // TPR ≤ δ where no non-member is flagged
  ASSERT_EQ(json["attacks"].size(), 2u);
  for (const auto& attack : json["attacks"]) {
    EXPECT_LE(attack["epsilon_lower_bound"].get<double>(), epsilon) << attack["attack"];
    EXPECT_EQ(attack["within_dp_bound"], true) << attack["attack"];
    EXPECT_TRUE(attack["roc_points_above_dp_bound"].is_number_integer());
  }
}

// audit --attribute on the bundled rows: a model fitted hard to 400 rows tells the attacker
// their BMI better than the baseline does, and better than it does for rows it never saw.
// Seeds are fixed, so the figures are the same each run; the bounds asserted leave margin.
TEST(Protection, AuditAttributeInferenceFindsWhatAnOverfitModelLeaks) {
  const auto [train, unseen] = member_and_holdout_files(400, "attribute_");
  const fs::path model = scratch_directory() / "attribute.safetensors", report = scratch_directory() / "attribute.json";
  ASSERT_EQ(run_cli("train --data " + train.string() + " --test-split 0.01 --epochs 150 --layers "
                    "64:relu,64:relu,1:sigmoid --verbose 0 --save " + model.string()).exit_code,
            0);
  const std::string audit = "audit --model " + model.string() + " --train " + train.string() + " --holdout " +
                            unseen.string() + " --reference-epochs 2";
  const CliResult result = run_cli(audit + " --attribute BMI --report " + report.string());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("Attribute inference on BMI"), std::string::npos) << result.out;
  const auto json = nlohmann::json::parse(read_file(report))["attribute_inference"];
  EXPECT_EQ(json["column"], "BMI");
  EXPECT_EQ(json["kind"], "numeric");
  EXPECT_EQ(json["metric"], "within_bin_accuracy");
  EXPECT_EQ(json["candidates"], 10);
  EXPECT_EQ(json["grid"].size(), 10u);
  EXPECT_EQ(json["members"]["rows"], 400);
  EXPECT_EQ(json["non_members"]["rows"], 368);
  const auto& members = json["members"];
  EXPECT_NEAR(members["advantage"].get<double>(),
              members["attack_accuracy"].get<double>() - members["baseline_accuracy"].get<double>(), 1e-12);
  EXPECT_GT(members["advantage_interval"][0].get<double>(), 0) << members.dump();  // the interval excludes 0
  EXPECT_GT(json["gap"]["value"].get<double>(), 0) << json.dump();
  EXPECT_EQ(json["resamples"], 1000);

  // Bad columns are refused naming the column and the flag.
  const CliResult unknown = run_cli(audit + " --attribute glucose");
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_NE(unknown.err.find("audit --attribute glucose: the model has no input column of that name"),
            std::string::npos) << unknown.err;
  EXPECT_NE(unknown.err.find("PlGlcConc"), std::string::npos) << unknown.err;  // the columns there are
  const CliResult label = run_cli(audit + " --attribute target");
  EXPECT_NE(label.exit_code, 0);
  EXPECT_NE(label.err.find("audit --attribute target: that is the label column"), std::string::npos) << label.err;
}

// A categorical column that decides the label: the attacker reads it back from the label on
// members and non-members alike (what the column's relation to the label gives anyone).
TEST(Protection, AuditAttributeInferenceOnACategoricalColumn) {
  std::string members = "colour,x,label\n", others = members;
  for (int i = 0; i < 240; ++i) {
    const char* colour = i % 4 == 0 ? "red" : i % 4 == 1 ? "green" : "blue";  // blue is the most common
    (i < 160 ? members : others) += std::string(colour) + "," + std::to_string(i % 7) + "," +
                                    (colour[0] == 'r' ? "1" : "0") + "\n";
  }
  const fs::path train = write_scratch_file("attribute_colours.csv", members),
                 unseen = write_scratch_file("attribute_colours_holdout.csv", others),
                 model = scratch_directory() / "attribute_colours.safetensors",
                 report = scratch_directory() / "attribute_colours.json";
  ASSERT_EQ(run_cli("train --data " + train.string() + " --categorical colour --test-split 0.01 --epochs 60 "
                    "--verbose 0 --save " + model.string()).exit_code,
            0);
  const CliResult result = run_cli("audit --model " + model.string() + " --train " + train.string() + " --holdout " +
                                   unseen.string() + " --reference-epochs 2 --attribute colour --report " +
                                   report.string());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto json = nlohmann::json::parse(read_file(report))["attribute_inference"];
  EXPECT_EQ(json["kind"], "categorical");
  EXPECT_EQ(json["candidates"], 3);
  EXPECT_EQ(json["baseline_guess"], "blue");
  EXPECT_FALSE(json.contains("grid"));
  // Red rows are told apart by their label: the attack is right where the baseline is not.
  EXPECT_GT(json["members"]["advantage_interval"][0].get<double>(), 0) << json.dump();
  EXPECT_GT(json["non_members"]["advantage_interval"][0].get<double>(), 0) << json.dump();
}

// Under --dp: the model file is private (0600), records how its noise was drawn, the
// category vocabulary is the declared one (never a category learned from a row);
// --loss-threshold is refused; --dp-reproducible warns and is recorded;
// --dp-omit-training-metrics leaves them out.
TEST(Protection, PrivateTrainingReleasesOnlyWhatItSays) {
  std::string csv = "colour,x,label\n";
  for (int i = 0; i < 200; ++i) {
    csv += i % 2 ? "red," : "blue,";
    csv += std::to_string(i % 7) + "," + std::to_string(i % 2) + "\n";
  }
  csv += "rare_only_once,3,1\n";
  const fs::path data = write_scratch_file("dp_colours.csv", csv), model = scratch_directory() / "dp.safetensors";
  const fs::path schema = write_scratch_file(
      "dp_colours.json", R"({"label": {"classes": ["0", "1"]}, "columns": {"colour": {"categories": ["red", "blue"]},
                             "x": {"min": 0, "max": 10}}})");
  const fs::path report = scratch_directory() / "dp_omit.json";
  const std::string train = "train --data " + data.string() + " --schema " + schema.string() +
                            " --categorical colour --dp --epochs 2 --verbose 0 ";
  // Whichever side of the split the rare row falls on (seeds), its category is never learned.
  for (int seed = 1; seed <= 4; ++seed) {
    fs::remove(model);
    const CliResult run = run_cli(train + "--seed " + std::to_string(seed) + " --save " + model.string());
    ASSERT_EQ(run.exit_code, 0) << run.err;
    const CliResult info = run_cli("info " + model.string());
    ASSERT_EQ(info.exit_code, 0) << info.err;
    EXPECT_EQ(fs::status(model).permissions() & fs::perms::all, fs::perms(0600));
    EXPECT_NE(info.out.find("differential_privacy"), std::string::npos);
    EXPECT_EQ(read_file(model).find("rare_only_once"), std::string::npos) << "seed " << seed;
  }
  // Without --dp every row's category is learned.
  const fs::path plain = scratch_directory() / "plain_colours.safetensors";
  ASSERT_EQ(run_cli("train --data " + data.string() + " --categorical colour --epochs 1 --verbose 0 --save " +
                    plain.string()).exit_code, 0);
  EXPECT_NE(read_file(plain).find("rare_only_once"), std::string::npos);
  // Under --dp without a declaration it would be learned: refused.
  EXPECT_NE(run_cli("train --data " + data.string() + " --categorical colour --dp --epochs 1 --no-save").exit_code, 0);
  const CliResult threshold = run_cli(train + "--loss-threshold 0.5 --no-save");
  EXPECT_EQ(threshold.exit_code, 1);
  EXPECT_NE(threshold.err.find("outside the privacy guarantee"), std::string::npos) << threshold.err;
  const CliResult reproducible = run_cli(train + "--dp-reproducible --dp-omit-training-metrics --no-save --report " +
                                         report.string());
  ASSERT_EQ(reproducible.exit_code, 0) << reproducible.err;
  EXPECT_NE(reproducible.err.find("NOT differentially private"), std::string::npos) << reproducible.err;
  const auto json = nlohmann::json::parse(read_file(report));
  EXPECT_EQ(json["protection"]["differential_privacy"]["noise"], "reproducible from the seed: NOT private");
  EXPECT_FALSE(json["history"].contains("loss"));
  EXPECT_TRUE(json["history"].contains("epsilon"));
}

// LiRA beside the baseline attacks: every attack's low-FPR figures and proven ε, the HTML
// page's log-scale ROC and columns, and its flags refused by name.
TEST(Protection, AuditWithLiraReportsTheLowFalsePositiveFigures) {
  const auto [train, unseen] = member_and_holdout_files(300, "lira_");
  const fs::path model = scratch_directory() / "lira_target.safetensors";
  ASSERT_EQ(run_cli("train --data " + train.string() + " --test-split 0.01 --epochs 60 --layers 32:relu,1:sigmoid "
                    "--verbose 0 --save " + model.string())
                .exit_code,
            0);
  const fs::path report = scratch_directory() / "lira.json", page = scratch_directory() / "lira.html";
  const std::string audit = "audit --model " + model.string() + " --train " + train.string() + " --holdout " +
                            unseen.string();
  const CliResult result = run_cli(audit + " --attack lira --shadows 4 --reference-epochs 20 --report " +
                                   report.string() + " --html " + page.string());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("TPR@0.1%FPR"), std::string::npos) << result.out;
  const auto json = nlohmann::json::parse(read_file(report));
  EXPECT_EQ(json["attack"], "lira");
  ASSERT_EQ(json["attacks"].size(), 4u);
  EXPECT_EQ(json["attacks"][2]["attack"], "lira_online");
  EXPECT_EQ(json["attacks"][3]["attack"], "lira_offline");
  for (const auto& attack : json["attacks"]) {
    EXPECT_EQ(attack["members"].get<int>(), 300);
    EXPECT_LE(attack["tpr_at_0_1_percent_fpr"].get<double>(), attack["tpr_at_1_percent_fpr"].get<double>());
    EXPECT_GE(attack["epsilon_lower_bound"].get<double>(), 0.0);
    // The ROC's points are the attack's: its TPR at 1 % FPR is the highest TPR at FPR ≤ 1 %
    // among them (the report thins the curve, so only as an upper bound).
    double best = 0;
    const auto& fpr = attack["roc"]["fpr"];
    for (size_t i = 0; i < fpr.size(); ++i)
      if (fpr[i].get<double>() <= 0.01) best = std::max(best, attack["roc"]["tpr"][i].get<double>());
    EXPECT_LE(best, attack["tpr_at_1_percent_fpr"].get<double>() + 1e-12) << attack["attack"];
  }
  const std::string html = read_file(page);
  EXPECT_NE(html.find("low false positive rates"), std::string::npos);
  EXPECT_NE(html.find("TPR at 0.1 % FPR"), std::string::npos);
  EXPECT_NE(html.find("lira_online"), std::string::npos);
  for (const auto& [flags, named] : std::vector<std::pair<std::string, std::string>>{
           {" --attack lira --shadows 1", "--shadows"}, {" --attack mia", "--attack"}}) {
    const CliResult refused = run_cli(audit + flags);
    EXPECT_NE(refused.exit_code, 0) << flags;
    EXPECT_NE(refused.err.find(named), std::string::npos) << flags << ": " << refused.err;
  }
}

}  // namespace protection_test
