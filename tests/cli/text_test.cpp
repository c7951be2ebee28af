// `citadel train --text` and `citadel predict --model` on raw text: a column of messages
// whose label says whether the word "free" is in it, learned and predicted on fresh rows.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "citadel/core/error.hpp"
#include "citadel/io/saved_model.hpp"
#include "cli_runner.hpp"
#include "running_server.hpp"

namespace text_test {

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

struct TrainedText {
  std::filesystem::path model;
  citadel::testkit::CliResult result;
};

// One text model for the tests that read it: trained once per test program.
const TrainedText& trained_text_model() {
  static const TrainedText trained = [] {
    const auto train = write_scratch_file("messages.csv", messages(240, 1, nullptr));
    const auto model = citadel::testkit::scratch_directory() / "text.safetensors";
    return TrainedText{model, run_cli("train --data " + train.string() +
                                      " --text message --label spam --layers "
                                      "embedding:8,globalmaxpool1d,1:sigmoid --epochs 30 --learning-rate 0.02 "
                                      "--verbose 0 --save " +
                                      model.string())};
  }();
  return trained;
}

}  // namespace

TEST(TextCli, TrainsOnATextColumnAndPredictsRawText) {
  const auto& [model, trained] = trained_text_model();
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

// ONNX has no tokenizer up to opset 17: exporting a text model is refused unless
// --no-preprocessing asks for the graph of token ids, which then carries the vectorizer's
// record (its vocabulary) in metadata_props. Nothing is written when refused.
TEST(TextCli, OnnxExportOfATextModelAsksForTheTokenIdGraphAndCarriesTheVectorizer) {
  const auto& [model, trained] = trained_text_model();
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  const auto onnx = citadel::testkit::scratch_directory() / "text.onnx";
  const auto refused = run_cli("export " + model.string() + " --format onnx --output " + onnx.string());
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("reads raw text through its vectorizer"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("--no-preprocessing"), std::string::npos) << refused.err;
  EXPECT_FALSE(std::filesystem::exists(onnx));
  const auto exported =
      run_cli("export " + model.string() + " --format onnx --no-preprocessing --output " + onnx.string());
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  const std::string bytes = citadel::testkit::read_file(onnx);
  EXPECT_NE(bytes.find("citadel.text_vectorization"), std::string::npos);
  EXPECT_NE(bytes.find("\"free\""), std::string::npos) << "the vocabulary travels with the graph";
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

// `serve` takes a text model's raw strings (BYTES, one a row) and answers what `predict`
// answers for the same text read from a CSV file; malformed text inputs are 400s naming the
// input while the server keeps serving; policies that perturb real-valued inputs refuse it.
TEST(TextCli, ServedTextModelsTakeRawStrings) {
  using citadel::testkit::infer_request;
  using nlohmann::json;
  const auto& [model, trained] = trained_text_model();
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  auto served = [&] {
    return citadel::serving::ServedModel{"text", model.string(), citadel::load_saved_model(model.string()),
                                         citadel::serving::OutputPolicy::parse("full", "test")};
  };
  std::vector<citadel::serving::ServedModel> models;
  models.push_back(served());
  const auto running = citadel::testkit::start_server(std::move(models));

  const json metadata = json::parse(
      citadel::testkit::http_exchange(running.port, citadel::testkit::http_request("GET", "/v2/models/text", "",
                                                                                   running.token))
          .body);
  EXPECT_EQ(metadata["inputs"], json::parse(R"([{"name": "message", "datatype": "BYTES", "shape": [-1]}])"));

  const std::vector<std::string> texts = {"free lunch tomorrow", "team meeting notes", "Free! budget, plan",
                                          "words never seen before", ""};
  const auto fresh = write_scratch_file("served_rows.csv", [&] {
    std::string csv = "message\n";
    for (const std::string& text : texts)  // quoted: a comma, and the empty text, which is a row of padding
      csv += "\"" + text + "\"\n";
    return csv;
  }());
  const auto output = citadel::testkit::scratch_directory() / "served_predictions.csv";
  const auto predicted = run_cli("predict --model " + model.string() + " --input " + fresh.string() + " --output " +
                                 output.string() + " --verbose 0");
  ASSERT_EQ(predicted.exit_code, 0) << predicted.err;
  std::istringstream lines(citadel::testkit::read_file(output));
  std::string line;
  std::getline(lines, line);  // line,predicted,p_0,p_1
  std::vector<double> expected_p1;
  while (std::getline(lines, line)) expected_p1.push_back(std::stod(line.substr(line.rfind(',') + 1)));
  ASSERT_EQ(expected_p1.size(), texts.size());

  for (const json& shape : {json{5}, json{5, 1}}) {
    const json body{{"inputs", {{{"name", "message"}, {"datatype", "BYTES"}, {"shape", shape}, {"data", texts}}}}};
    const auto answer = infer_request(running, "text", body.dump(), running.token);
    ASSERT_EQ(answer.status, 200) << answer.body;
    const json outputs = json::parse(answer.body)["outputs"];
    int compared = 0;
    for (const json& out : outputs) {
      if (out["name"] != "probabilities") continue;
      for (size_t r = 0; r < texts.size(); ++r, ++compared)
        EXPECT_NEAR(out["data"][2 * r + 1].get<double>(), expected_p1[r], 1e-5) << "row " << r;
    }
    EXPECT_EQ(compared, 5) << answer.body;
  }

  auto refused = [&](const json& input, const std::string& expected) {
    const auto answer = infer_request(running, "text", json{{"inputs", {input}}}.dump(), running.token);
    EXPECT_EQ(answer.status, 400) << input.dump();
    EXPECT_NE(answer.body.find(expected), std::string::npos) << answer.body;
  };
  refused({{"name", "message"}, {"datatype", "FP32"}, {"shape", {1}}, {"data", {1.0}}}, "datatype 'FP32'");
  refused({{"name", "message"}, {"datatype", "BYTES"}, {"shape", {1, 2}}, {"data", {"a", "b"}}}, "must be [N] or [N, 1]");
  refused({{"name", "message"}, {"datatype", "BYTES"}, {"shape", {1}}, {"data", {7}}}, "element 0 must be a string");
  refused({{"name", "message"}, {"datatype", "BYTES"}, {"shape", {1}}, {"data", {std::string(5000, 'a')}}},
          "at most 4096 bytes");
  refused({{"name", "features"}, {"datatype", "FP32"}, {"shape", {1, 1}}, {"data", {1.0}}}, "input 'message' is missing");
  const json two_inputs{{"inputs",
                         {{{"name", "message"}, {"datatype", "BYTES"}, {"shape", {1}}, {"data", {"free"}}},
                          {{"name", "extra"}, {"datatype", "BYTES"}, {"shape", {1}}, {"data", {"x"}}}}}};
  const auto unknown = infer_request(running, "text", two_inputs.dump(), running.token);
  EXPECT_EQ(unknown.status, 400);
  EXPECT_NE(unknown.body.find("unknown input 'extra'"), std::string::npos) << unknown.body;
  const json still{{"inputs", {{{"name", "message"}, {"datatype", "BYTES"}, {"shape", {1}}, {"data", {"free"}}}}}};
  EXPECT_EQ(infer_request(running, "text", still.dump(), running.token).status, 200);

  // Smoothing adds Gaussian noise to the inputs: ids are not real values, so it is refused.
  std::vector<citadel::serving::ServedModel> smoothed;
  smoothed.push_back(served());
  smoothed.back().policy = citadel::serving::OutputPolicy::parse("label", "test");
  smoothed.back().smoothing = citadel::serving::SmoothingPolicy::parse("0.25,100", 0.001, "--smoothing text=0.25,100");
  try {
    citadel::testkit::start_server(std::move(smoothed));
    ADD_FAILURE() << "a smoothed text model was served";
  } catch (const citadel::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("reads raw text (the column 'message')"), std::string::npos) << e.what();
  }
}

// --dp reads text only through a vocabulary given from outside the rows and a fixed length:
// learned from the private rows, either would be released outside what ε covers. A bad
// vocabulary file is refused naming the file and the line.
TEST(TextCli, PrivateTrainingTakesAGivenVocabularyAndAFixedLength) {
  const auto train = write_scratch_file("dp_messages.csv", messages(240, 4, nullptr));
  const auto schema = write_scratch_file("dp_messages.schema.json",
                                         R"({"label": {"name": "spam", "classes": ["0", "1"]}, "columns": {}})");
  // Keras's own form: "" and [UNK] first, then the tokens.
  const auto vocabulary = write_scratch_file(
      "dp_vocabulary.txt",
      "\n[UNK]\nfree\nhello\nmeeting\nlunch\ntomorrow\nproject\ncall\nreport\nteam\nnotes\nmonday\nbudget\nplan\n");
  const auto model = citadel::testkit::scratch_directory() / "dp_text.safetensors";
  const std::string common = "train --data " + train.string() + " --text message --label spam --schema " +
                             schema.string() + " --dp --dp-reproducible --epochs 15 --learning-rate 0.05 --verbose 0 " +
                             "--layers embedding:8,globalmaxpool1d,1:sigmoid ";
  const auto trained =
      run_cli(common + "--vocabulary " + vocabulary.string() + " --sequence-length 8 --save " + model.string());
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  const auto info = run_cli("info " + model.string());
  EXPECT_NE(info.out.find("differential_privacy"), std::string::npos) << info.out;

  std::vector<int> labels;
  const auto fresh = write_scratch_file("dp_fresh.csv", messages(60, 5, &labels, false));
  const auto output = citadel::testkit::scratch_directory() / "dp_predictions.csv";
  ASSERT_EQ(run_cli("predict --model " + model.string() + " --input " + fresh.string() + " --output " +
                    output.string() + " --verbose 0")
                .exit_code,
            0);
  std::istringstream lines(citadel::testkit::read_file(output));
  std::string line;
  std::getline(lines, line);
  int rows = 0, right = 0;
  for (; std::getline(lines, line); ++rows) {
    const size_t first = line.find(','), second = line.find(',', first + 1);
    right += line.substr(first + 1, second - first - 1) == std::to_string(labels[size_t(rows)]);
  }
  EXPECT_GE(right, 50) << "of " << rows << " fresh rows right under DP";

  auto refused = [&](const std::string& flags, const std::string& expected) {
    const auto result = run_cli(common + flags);
    EXPECT_NE(result.exit_code, 0) << flags;
    EXPECT_NE(result.err.find(expected), std::string::npos) << flags << ": " << result.err;
  };
  refused("--sequence-length 8", "give a public one with --vocabulary FILE");
  refused("--vocabulary " + vocabulary.string(), "give --sequence-length");
  const std::vector<std::pair<std::string, std::string>> bad_files = {
      {"free\nhello\n\nlunch\n", "line 3 is empty"},
      {"free\nhello\nfree\n", "line 3 repeats the token 'free'"},
      {"free\n[UNK]\n", "line 2: [UNK] is reserved"},
      {"free\nbad \xff\n", "line 2 is not valid UTF-8"},
      {"\n[UNK]\n", "the vocabulary file holds no token"},
      {std::string(1025, 'a') + "\n", "line 1 has 1025 bytes"}};
  for (size_t i = 0; i < bad_files.size(); ++i) {
    const auto file = write_scratch_file("bad_vocabulary" + std::to_string(i) + ".txt", bad_files[i].first);
    refused("--sequence-length 8 --vocabulary " + file.string(), file.string() + ": " + bad_files[i].second);
  }
  const auto without_text = run_cli("train --data " + train.string() + " --label spam --epochs 1 --verbose 0 " +
                                    "--vocabulary " + vocabulary.string());
  EXPECT_NE(without_text.exit_code, 0);
  EXPECT_NE(without_text.err.find("--vocabulary applies to --text COLUMN"), std::string::npos) << without_text.err;
}

}  // namespace text_test
