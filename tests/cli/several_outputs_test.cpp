// A Functional config of two outputs (a class and an amount) trained from one CSV through
// the command line: --label OUTPUT=COLUMN per output, --loss and --loss-weights per output,
// figures named as Keras names them, and each bad combination refused naming the argument.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli_runner.hpp"
#include "several_outputs_data.hpp"

namespace several_outputs_test {

using namespace citadel::testkit;
namespace fs = std::filesystem;

namespace {

nlohmann::json read_json(const fs::path& path) { return nlohmann::json::parse(read_file(path)); }

struct Files {
  fs::path data = write_scratch_file("two_labels.csv", two_labels_csv());
  fs::path config = write_scratch_file("two_outputs.json", two_outputs_config());
  std::string common() const {
    return " --verbose 0 --data " + data.string() + " --model-config " + config.string();
  }
};

}  // namespace

TEST(CliSeveralOutputs, EachOutputLearnsItsLabelWithItsLossAndWeight) {
  const Files f;
  const fs::path report = scratch_directory() / "two_outputs_report.json", page = scratch_directory() / "two_outputs.html";
  const CliResult trained = run_cli("train" + f.common() + " --epochs 80 --batch-size 8 --validation-split 0.2 --no-save "
                                    "--label kind_out=kind --label amount_out=amount --loss amount_out=mse "
                                    "--loss-weights amount_out=0.5 --report " + report.string() + " --html " +
                                    page.string());
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  const nlohmann::json r = read_json(report);
  EXPECT_EQ(r["label"], nlohmann::json::parse(R"({"kind_out": "kind", "amount_out": "amount"})"));
  EXPECT_EQ(r["loss_function"], nlohmann::json::parse(R"({"kind_out": "binary_crossentropy", "amount_out": "mse"})"));
  EXPECT_EQ(r["loss_weights"], nlohmann::json::parse(R"({"amount_out": 0.5})"));
  // Held-out figures per output, by Keras's names; the total is the weighted sum.
  for (const char* key : {"loss", "kind_out_loss", "amount_out_loss", "kind_out_accuracy", "kind_out_auc",
                          "amount_out_mae", "amount_out_mse"})
    EXPECT_TRUE(r.contains(key)) << key << " in " << r.dump();
  EXPECT_NEAR(r["loss"].get<double>(), r["kind_out_loss"].get<double>() + 0.5 * r["amount_out_loss"].get<double>(),
              1e-4);
  EXPECT_NEAR(r["amount_out_loss"].get<double>(), r["amount_out_mse"].get<double>(), 1e-5);  // mse is its loss
  EXPECT_GT(r["kind_out_accuracy"].get<double>(), 0.7);  // 63 of 120 rows are "small"
  // Training curves per output, validation too; the amount is learned.
  const nlohmann::json& history = r["history"];
  for (const char* key : {"kind_out_accuracy", "amount_out_mae", "val_kind_out_loss", "val_amount_out_mae"}) {
    ASSERT_TRUE(history.contains(key)) << key;
    EXPECT_EQ(history[key].size(), 80u) << key;
  }
  EXPECT_LT(history["amount_out_mae"].back().get<double>(), 0.5 * history["amount_out_mae"].front().get<double>());
  // Printed and drawn by those names.
  EXPECT_NE(trained.out.find("amount_out_mae"), std::string::npos) << trained.out;
  const std::string html = read_file(page);
  EXPECT_NE(html.find("amount_out_mae"), std::string::npos);
  EXPECT_NE(html.find("kind_out_accuracy"), std::string::npos);
}

// One row is one example for every output: DP-SGD trains both heads, ε per epoch.
TEST(CliSeveralOutputs, TrainsUnderDifferentialPrivacy) {
  const Files f;
  const fs::path schema = write_scratch_file("two_labels.schema.json",
                                             R"({"label": {"name": "kind", "classes": ["big", "small"]}})");
  const fs::path report = scratch_directory() / "two_outputs_dp.json";
  const CliResult trained = run_cli("train" + f.common() + " --epochs 3 --no-save --dp --dp-reproducible --scale none "
                                    "--validation-split 0.25 --schema " + schema.string() + " --label kind_out=kind "
                                    "--label amount_out=amount --loss amount_out=mse --report " + report.string());
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  const nlohmann::json r = read_json(report);
  EXPECT_EQ(r["history"]["epsilon"].size(), 3u);
  EXPECT_EQ(r["history"]["val_amount_out_loss"].size(), 3u);
  EXPECT_EQ(r["epsilon"], r["history"]["epsilon"].back());
  // A second classification label's classes would be learned from the private rows.
  const CliResult learned = run_cli("train" + f.common() + " --epochs 1 --no-save --dp --scale none --schema " +
                                    schema.string() + " --label kind_out=kind --label amount_out=x1");
  EXPECT_NE(learned.exit_code, 0);
  EXPECT_NE(learned.err.find("--dp: the classes of the label 'x1' (output 'amount_out') would be learned"),
            std::string::npos) << learned.err;
}

TEST(CliSeveralOutputs, BadLabelsAndLossesAreRefusedNamingTheArgument) {
  const Files f;
  const std::string train = "train" + f.common() + " --epochs 1 --no-save ";
  auto expect_error = [&](const std::string& arguments, const std::string& message) {
    const CliResult result = run_cli(train + arguments);
    EXPECT_NE(result.exit_code, 0) << arguments;
    EXPECT_NE(result.err.find(message), std::string::npos) << arguments << "\n" << result.err;
  };
  expect_error("--label kind_out=kind", "--label: the model's output 'amount_out' has no label column; give "
                                        "--label amount_out=COLUMN");
  expect_error("--label kind_out=kind --label amount_out=kind",
               "--label: the column 'kind' is given to both 'kind_out' and 'amount_out'");
  expect_error("--label kind_out=kind --label kind_out=amount", "--label: the output 'kind_out' is given two label "
                                                                 "columns");
  expect_error("--label kind_out=kind --label amount_out=amount --loss nope=mse",
               "--loss nope=mse: no --label names the output 'nope' (the outputs with labels: 'kind_out', "
               "'amount_out')");
  expect_error("--label kind_out=kind --label nope=amount",
               "--label nope=amount: the model has no output 'nope'; its outputs are 'kind_out', 'amount_out'");
  expect_error("--label kind_out=kind --label amount_out=amount --loss amount_out=mse --loss-weights amount_out=lots",
               "--loss-weights amount_out=lots: 'lots' is not a number >= 0");
  expect_error("--label kind_out=kind --label amount_out=amount --loss-weights other=1",
               "--loss-weights other=1: no --label names the output 'other'");
  expect_error("--label kind --label amount_out=amount", "give either one label column (--label COLUMN, a model of "
                                                         "one output) or one per output (--label OUTPUT=COLUMN)");
  expect_error("--label kind", "the model has 2 outputs ('kind_out', 'amount_out'); give each its label column: "
                               "--label kind_out=COLUMN --label amount_out=COLUMN");
  expect_error("--label kind_out=kind --label amount_out=total", "no column 'total'");
  // A regression loss reads its label as numbers: a class name is refused naming the label.
  expect_error("--label kind_out=kind --label amount_out=amount --loss mse", "label 'kind': expected a finite number, "
                                                                            "got 'small'");
  // A classification loss on the amount: refused naming the output and the fix.
  expect_error("--label kind_out=kind --label amount_out=amount --loss amount_out=binary_crossentropy",
               "binary_crossentropy is for two. Use --loss amount_out=sparse_categorical_crossentropy");
  // Not cross-validated: said, not done wrongly.
  const CliResult cv = run_cli("cv --folds 2 --epochs 1 --verbose 0 --data " + f.data.string() + " --model-config " +
                               f.config.string() + " --label kind_out=kind --label amount_out=amount --loss "
                               "amount_out=mse");
  EXPECT_NE(cv.exit_code, 0);
  EXPECT_NE(cv.err.find("cv takes a model of one output"), std::string::npos) << cv.err;
  // A loss per output for a model of one output.
  const CliResult one = run_cli("train --verbose 0 --epochs 1 --no-save --loss out=mse");
  EXPECT_NE(one.exit_code, 0);
  EXPECT_NE(one.err.find("--loss out=mse: a loss per output is for a model of several outputs"), std::string::npos)
      << one.err;
}

// evaluate trains in-process and reports on --test each output's figures by Keras's names.
TEST(CliSeveralOutputs, EvaluateTrainsInProcessAndReportsEachOutput) {
  const Files f;
  const fs::path report = scratch_directory() / "two_outputs_evaluated.json";
  const std::string evaluate = "evaluate" + f.common() + " --epochs 20 --batch-size 8 --label kind_out=kind "
                               "--label amount_out=amount --loss amount_out=mse --loss-weights amount_out=0.5 ";
  const CliResult evaluated = run_cli(evaluate + "--test " + f.data.string() + " --report " + report.string());
  ASSERT_EQ(evaluated.exit_code, 0) << evaluated.err;
  const nlohmann::json r = read_json(report);
  for (const char* key : {"loss", "kind_out_loss", "amount_out_loss", "kind_out_accuracy", "amount_out_mae"})
    ASSERT_TRUE(r.contains(key)) << key << " in " << r.dump();
  EXPECT_NEAR(r["loss"].get<double>(), r["kind_out_loss"].get<double>() + 0.5 * r["amount_out_loss"].get<double>(),
              1e-4);
  EXPECT_EQ(r["test_rows"], 120);
  const fs::path no_amount = write_scratch_file("evaluate_no_amount.csv", "x1,x2,kind,x3\n0.1,0.2,big,0.3\n");
  const CliResult refused = run_cli(evaluate + "--test " + no_amount.string());
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("has no label column 'amount' (of the output 'amount_out') to evaluate against"),
            std::string::npos) << refused.err;
}

}  // namespace several_outputs_test
