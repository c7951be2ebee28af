// The `citadel` command run as a user runs it: the main job's accuracy and report, and
// one clear line on stderr with a non-zero exit for bad input.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

namespace fs = std::filesystem;

namespace {

struct Result {
  int exit_code;
  std::string out, err;
};

fs::path scratch() {
  const fs::path directory = fs::temp_directory_path() / ("citadel_cli_" + std::to_string(::getpid()));
  fs::create_directories(directory);
  return directory;
}

std::string read_all(const fs::path& path) {
  std::ifstream file(path);
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

Result run(const std::string& arguments) {
  const fs::path err = scratch() / "stderr.txt";
  const std::string command = std::string(CITADEL_BINARY) + " " + arguments + " 2>" + err.string();
  FILE* pipe = ::popen(command.c_str(), "r");
  std::string out;
  std::array<char, 4096> buffer;
  while (size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe)) out.append(buffer.data(), n);
  const int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out, read_all(err)};
}

fs::path write_file(const std::string& name, const std::string& text) {
  const fs::path path = scratch() / name;
  std::ofstream(path) << text;
  return path;
}

}  // namespace

TEST(Cli, DefaultTrainingReachesTheAccuracyBarAndWritesTheReport) {
  const fs::path report = scratch() / "report.json";
  const Result result = run("train --verbose 2 --report " + report.string());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("Epoch 150/150"), std::string::npos);
  EXPECT_NE(result.out.find("Total params: 211"), std::string::npos);
  EXPECT_NE(result.out.find("Held-out test set (154 rows)"), std::string::npos) << result.out;
  const auto json = nlohmann::json::parse(read_all(report));
  EXPECT_GE(json["accuracy"].get<double>(), 0.72);
  for (const char* key : {"loss", "precision", "recall", "f1", "auc"}) EXPECT_TRUE(json[key].is_number()) << key;
  EXPECT_EQ(json["history"]["loss"].size(), 150u);
  EXPECT_EQ(json["train_rows"], 614);
  EXPECT_EQ(json["test_rows"], 154);
}

TEST(Cli, SameSeedSameReport) {
  const fs::path a = scratch() / "a.json", b = scratch() / "b.json";
  ASSERT_EQ(run("train --verbose 0 --epochs 5 --report " + a.string()).exit_code, 0);
  ASSERT_EQ(run("train --verbose 0 --epochs 5 --report " + b.string()).exit_code, 0);
  EXPECT_EQ(read_all(a), read_all(b));
}

TEST(Cli, OptionsChangeTheRun) {
  const fs::path report = scratch() / "options.json";
  const Result result = run("train --verbose 1 --epochs 3 --layers 6:tanh,1:sigmoid --optimizer sgd "
                            "--learning-rate 0.05 --batch-size 64 --validation-split 0.25 --label target --report " +
                            report.string());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto json = nlohmann::json::parse(read_all(report));
  EXPECT_EQ(json["history"]["val_loss"].size(), 3u);
  EXPECT_NE(result.out.find("Total params: 61"), std::string::npos) << result.out;  // 8·6+6 + 6+1
}

TEST(Cli, HelpWorksForEveryCommand) {
  const Result top = run("--help");
  EXPECT_EQ(top.exit_code, 0);
  EXPECT_NE(top.out.find("train"), std::string::npos);
  const Result train = run("train --help");
  EXPECT_EQ(train.exit_code, 0);
  for (const char* option : {"--data", "--label", "--layers", "--loss", "--optimizer", "--learning-rate", "--epochs",
                             "--batch-size", "--validation-split", "--seed", "--verbose", "--report"})
    EXPECT_NE(train.out.find(option), std::string::npos) << option;
}

TEST(Cli, BadInputGetsOneClearLineAndANonZeroExit) {
  struct Case {
    std::string arguments, expected;
  };
  const fs::path text_cell = write_file("text.csv", "a,b,label\n1,2,0\n3,x7,1\n");
  const fs::path three_labels = write_file("labels.csv", "a,label\n1,0\n2,1\n3,2\n4,0\n5,1\n6,2\n");
  const std::vector<Case> cases{
      {"train --data /no/such/file.csv", "/no/such/file.csv: cannot open"},
      {"train --data " + text_cell.string(), "text.csv:3:2: column 'b': expected a number, got 'x7'"},
      {"train --layers 10:rleu,1:sigmoid", "unknown activation 'rleu'; known: linear, relu"},
      {"train --layers ten:relu", "--layers: item 1"},
      {"train --loss hinge", "unknown loss 'hinge'; known:"},
      {"train --optimizer adamax", "unknown optimizer 'adamax'; known:"},
      {"train --label outcome", "no column 'outcome'"},
      {"train --data " + three_labels.string() + " --epochs 1", "must lie in [0, 1]"},
      {"train --epochs 0", "--epochs"},
  };
  for (const auto& c : cases) {
    const Result result = run(c.arguments);
    EXPECT_NE(result.exit_code, 0) << c.arguments;
    EXPECT_NE(result.err.find(c.expected), std::string::npos) << c.arguments << " gave: " << result.err;
    if (result.err.rfind("error: ", 0) == 0) {
      EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
    }
  }
}

TEST(Cli, FailedRunLeavesAnExistingReportUntouched) {
  const fs::path report = write_file("kept.json", "{\"accuracy\": 0.8}\n");
  const Result result = run("train --layers 10:nope --report " + report.string());
  EXPECT_NE(result.exit_code, 0);
  EXPECT_EQ(read_all(report), "{\"accuracy\": 0.8}\n");
}
