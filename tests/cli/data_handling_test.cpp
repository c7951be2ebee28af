// How the CLI reads rows beyond their numbers: one-hot encodings bounded before they are
// allocated (a small file of many categories) and streamed when predicting, a saved model's
// missing-value policy applied to new rows, what was imputed or unseen said per column, and
// text from the data shown on the terminal escaped.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>

#include "cli_runner.hpp"

namespace citadel {
namespace data_handling_test {
namespace {

using testkit::read_file;
using testkit::run_cli;
using testkit::run_cli_measured;
using testkit::scratch_directory;
using testkit::write_scratch_file;

// `rows` rows of (category, x, label) with `categories` distinct categories.
std::string categorical_csv(int rows, int categories, bool label = true) {
  std::string text = label ? "kind,x,y\n" : "kind,x\n";
  for (int i = 0; i < rows; ++i) {
    text += "c" + std::to_string(i % categories) + "," + std::to_string(i % 7);
    text += label ? "," + std::to_string(i % 2) + "\n" : "\n";
  }
  return text;
}

// The attack as found: a 198 kB CSV with 10,000 categories made `train --categorical` use
// 1.6 GB. The encoded size is checked before anything is allocated.
TEST(DataHandling, AOneHotBombIsRefusedBeforeItIsAllocated) {
  const auto data = write_scratch_file("bomb.csv", categorical_csv(20000, 10000));
  ASSERT_LT(std::filesystem::file_size(data), 260'000u);
  const auto run = run_cli_measured("train --data " + data.string() + " --categorical kind --epochs 1 --no-save");
  EXPECT_NE(run.result.exit_code, 0);
  EXPECT_NE(run.result.err.find("more than the limit"), std::string::npos) << run.result.err;
  EXPECT_NE(run.result.err.find("column 'kind' alone is 10000 one-hot features"), std::string::npos) << run.result.err;
  EXPECT_LT(run.peak_mb, CITADEL_TEST_PEAK_MB) << "peak memory of the refused run";
  // The limit is the user's to raise: a smaller encoding passes, and so does this one with
  // --max-encoded-mb high enough (not run: it would take the memory the test keeps from).
  EXPECT_EQ(run_cli("train --data " + data.string() + " --categorical kind --epochs 1 --no-save --verbose 0 "
                    "--max-encoded-mb 1")
                .exit_code,
            1);
}

// A model with a wide one-hot column predicting a long file: encoded a slice of rows at a
// time (the whole file's encoding would take 480 MB here).
TEST(DataHandling, WideOneHotPredictionsAreStreamed) {
  const auto train = write_scratch_file("wide_train.csv", categorical_csv(3000, 3000));
  const auto model = scratch_directory() / "wide.safetensors";
  ASSERT_EQ(run_cli("train --data " + train.string() + " --categorical kind --epochs 1 --verbose 0 --scale none "
                    "--save " + model.string())
                .exit_code,
            0);
  const auto input = write_scratch_file("wide_input.csv", categorical_csv(40000, 3000, false));
  const auto output = scratch_directory() / "wide_predictions.csv";
  const auto run = run_cli_measured("predict --model " + model.string() + " --input " + input.string() +
                                    " --output " + output.string() + " --verbose 0");
  ASSERT_EQ(run.result.exit_code, 0) << run.result.err;
  const std::string predictions = read_file(output);
  EXPECT_EQ(std::count(predictions.begin(), predictions.end(), '\n'), 40001);
  EXPECT_LT(run.peak_mb, std::max(250.0, 2.0 * CITADEL_TEST_PEAK_MB)) << "peak memory of the prediction";
}

const char* kTrainWithGaps =
    "a,b,colour,y\n1,2,red,0\n2,?,blue,1\n3,4,red,0\n?,5,blue,1\n5,?,red,0\n6,7,blue,1\n7,8,red,0\n8,?,blue,1\n"
    "9,10,red,0\n10,11,blue,1\n11,12,red,0\n12,13,blue,1\n";

// A model trained with --missing mean fills new rows' gaps with its training means, as its
// training rows' were; training and prediction say how many cells per column.
TEST(DataHandling, ASavedModelReadsNewRowsAsItsTrainingRowsWereRead) {
  const auto data = write_scratch_file("gaps.csv", kTrainWithGaps);
  const auto model = scratch_directory() / "gaps.safetensors";
  const auto report = scratch_directory() / "gaps.json";
  const auto trained = run_cli("train --data " + data.string() + " --categorical colour --missing mean --epochs 2 "
                               "--test-split 0.25 --seed 3 --save " + model.string() + " --report " + report.string());
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  // Every missing cell is counted, whichever side of the split its row fell on.
  EXPECT_NE(trained.out.find("Missing cells to impute per column (--missing mean): a 1, b 3"), std::string::npos)
      << trained.out;
  const auto json = nlohmann::json::parse(read_file(report));
  EXPECT_EQ(json.at("data_handling").at("imputed_cells").at("b"), 3);
  EXPECT_EQ(json.at("preprocessing").at("missing_values"), "mean");

  const auto input = write_scratch_file("gaps_input.csv", "a,b,colour\n?,3,red\n4,?,green\n4,?,green\n5,6,blue\n");
  const auto output = scratch_directory() / "gaps_predictions.csv";
  const auto predicted = run_cli("predict --model " + model.string() + " --input " + input.string() + " --output " +
                                 output.string());
  ASSERT_EQ(predicted.exit_code, 0) << predicted.err;
  EXPECT_NE(predicted.err.find("filled missing cells per column: a 1, b 2"), std::string::npos) << predicted.err;
  // green was never seen in training: said once, with its count.
  EXPECT_NE(predicted.err.find("column 'colour' has 2 cell(s) of a category the model was not trained on"),
            std::string::npos)
      << predicted.err;
  const std::string rows = read_file(output);
  EXPECT_EQ(std::count(rows.begin(), rows.end(), '\n'), 5) << rows;
  // evaluate --model reads labelled rows the same way.
  const auto labelled = write_scratch_file("gaps_labelled.csv", "a,b,colour,y\n?,3,red,0\n4,?,blue,1\n");
  EXPECT_EQ(run_cli("evaluate --model " + model.string() + " --data " + labelled.string()).exit_code, 0);
  // A flag still overrides the model's policy.
  const auto strict = run_cli("predict --model " + model.string() + " --input " + input.string() + " --output " +
                              output.string() + " --missing error");
  EXPECT_NE(strict.exit_code, 0);
  EXPECT_NE(strict.err.find("missing value"), std::string::npos) << strict.err;
  // --unseen-categories error names the cell.
  const auto refused = run_cli("predict --model " + model.string() + " --input " + input.string() + " --output " +
                               output.string() + " --unseen-categories error");
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find(":3:3: column 'colour': category 'green' was not among the 2"), std::string::npos)
      << refused.err;
  // A model trained without imputation has no means to fill with.
  const auto plain_model = scratch_directory() / "plain.safetensors";
  const auto complete = write_scratch_file("complete.csv", "a,b,y\n1,2,0\n2,3,1\n3,4,0\n4,5,1\n5,6,0\n6,7,1\n");
  ASSERT_EQ(run_cli("train --data " + complete.string() + " --epochs 1 --verbose 0 --test-split 0.34 --save " +
                    plain_model.string())
                .exit_code,
            0);
  const auto no_means = run_cli("predict --model " + plain_model.string() + " --input " + input.string() +
                                " --output " + output.string() + " --missing mean");
  EXPECT_NE(no_means.exit_code, 0);
  EXPECT_NE(no_means.err.find("trained without imputation"), std::string::npos) << no_means.err;
}

// Class names and cells reach the terminal through train, evaluate and their errors: a
// label that is an escape sequence (set the window title, clear the screen) is shown
// escaped, never sent to the terminal as is.
TEST(DataHandling, ControlSequencesFromTheDataAreShownEscaped) {
  std::string text = "a,b,label\n";
  for (int i = 0; i < 40; ++i)
    text += std::to_string(i) + "," + std::to_string(i % 5) + "," +
            (i % 3 == 0 ? "\x1b]0;owned\x07" : i % 3 == 1 ? "\x1b[2Jclear" : "plain") + "\n";
  const auto data = write_scratch_file("escapes.csv", text);
  for (const std::string command : {"train --epochs 2 --no-save", "evaluate --epochs 2", "cv --folds 2 --epochs 1"}) {
    const auto result = run_cli(command + " --data " + data.string());
    EXPECT_EQ(result.exit_code, 0) << command << ": " << result.err;
    EXPECT_EQ(result.out.find('\x1b'), std::string::npos) << command;
    EXPECT_EQ(result.err.find('\x1b'), std::string::npos) << command;
    EXPECT_EQ(result.out.find('\x07'), std::string::npos) << command;
  }
  // In an error message too (binary cross-entropy on three classes names them).
  const auto refused = run_cli("train --data " + data.string() + " --loss binary_crossentropy --epochs 1 --no-save");
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_EQ(refused.err.find('\x1b'), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("\\x1B"), std::string::npos) << refused.err;
}

}  // namespace
}  // namespace data_handling_test
}  // namespace citadel
