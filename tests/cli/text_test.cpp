// `citadel train --text` and `citadel predict --model` on raw text: a column of messages
// whose label says whether the word "free" is in it, learned and predicted on fresh rows.
#include <gtest/gtest.h>

#include <random>
#include <sstream>

#include "cli_runner.hpp"

using citadel::testkit::run_cli;
using citadel::testkit::write_scratch_file;

namespace {

// `rows` messages of 3 to 8 words, a third of them with "free" somewhere (label 1), as
// CSV with an id column the model does not use; `labels` receives each row's label.
std::string messages(int rows, uint32_t seed, std::vector<int>* labels, bool with_label = true) {
  const std::vector<std::string> words = {"hello",  "meeting", "lunch", "tomorrow", "project", "call",
                                          "report", "team",    "notes", "monday",   "budget",  "plan"};
  std::mt19937 random(seed);
  std::ostringstream csv;
  csv << "id,message" << (with_label ? ",spam" : "") << "\n";
  for (int r = 0; r < rows; ++r) {
    const int length = 3 + int(random() % 6);
    const bool spam = random() % 3 == 0;
    const int at = int(random() % uint32_t(length));
    std::string text;
    for (int w = 0; w < length; ++w) {
      const std::string word = spam && w == at ? "Free!" : words[random() % words.size()];
      text += (w ? " " : "") + word;
    }
    csv << r << "," << text << (with_label ? (spam ? ",1" : ",0") : "") << "\n";
    if (labels) labels->push_back(spam ? 1 : 0);
  }
  return csv.str();
}

}  // namespace

TEST(TextCli, TrainsOnATextColumnAndPredictsRawText) {
  const auto train = write_scratch_file("messages.csv", messages(240, 1, nullptr));
  const auto model = citadel::testkit::scratch_directory() / "text.safetensors";
  const auto trained = run_cli("train --data " + train.string() +
                               " --text message --label spam --layers "
                               "embedding:8,globalmaxpool1d,1:sigmoid --epochs 30 --learning-rate 0.02 --verbose 0 "
                               "--save " +
                               model.string());
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  EXPECT_NE(trained.err.find("the columns 'id' are not used"), std::string::npos) << trained.err;

  std::vector<int> labels;
  const auto fresh = write_scratch_file("fresh.csv", messages(60, 2, &labels, false));
  const auto output = citadel::testkit::scratch_directory() / "predictions.csv";
  const auto predicted = run_cli("predict --model " + model.string() + " --input " + fresh.string() + " --output " +
                                 output.string() + " --verbose 0");
  ASSERT_EQ(predicted.exit_code, 0) << predicted.err;
  std::istringstream lines(citadel::testkit::read_file(output));
  std::string line;
  std::getline(lines, line);
  EXPECT_EQ(line, "line,predicted,p_0,p_1");
  int rows = 0, right = 0;
  while (std::getline(lines, line)) {
    const size_t first = line.find(','), second = line.find(',', first + 1);
    right += line.substr(first + 1, second - first - 1) == std::to_string(labels[size_t(rows)]);
    ++rows;
  }
  ASSERT_EQ(rows, 60);
  EXPECT_GE(right, 57) << "of 60 fresh rows predicted right";

  // Rows without the text column are refused, naming it.
  const auto no_text = write_scratch_file("no_text.csv", "id,body\n1,free lunch\n");
  const auto refused = run_cli("predict --model " + model.string() + " --input " + no_text.string() + " --output " +
                               output.string() + " --verbose 0");
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("no_text.csv: has no column 'message', the text column the model was trained on"),
            std::string::npos)
      << refused.err;
}

TEST(TextCli, BadTextFlagsAreRefused) {
  const auto train = write_scratch_file("few.csv", messages(30, 3, nullptr));
  auto refused = [&](const std::string& flags, const std::string& expected) {
    const auto result = run_cli("train --data " + train.string() + " --label spam --epochs 1 --verbose 0 " + flags);
    EXPECT_NE(result.exit_code, 0) << flags;
    EXPECT_NE(result.err.find(expected), std::string::npos) << flags << ": " << result.err;
  };
  refused("--text body", "body");
  refused("--text spam", "--text spam: that column is the label");
  refused("--text message --layers 4:relu,embedding:8,1:sigmoid", "(embedding) reads token ids: put it first");
  refused("--text message --layers embedding:x", "must be embedding:DIM");
  refused("--text message --scale standard", "--scale standard: --text gives token ids");
  refused("--text message --max-tokens 2", "--max-tokens");
  // An Embedding without --text has no vocabulary to size it.
  const auto numbers = write_scratch_file("numbers.csv", "a,b,label\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n9,1,0\n");
  const auto result = run_cli("train --data " + numbers.string() +
                              " --epochs 1 --verbose 0 --layers "
                              "embedding:8,globalavgpool1d,1:sigmoid");
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.err.find("item 1 (embedding) reads token ids: give --text COLUMN"), std::string::npos) << result.err;
}
