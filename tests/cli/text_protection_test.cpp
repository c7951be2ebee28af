// Protection on text models (train --text): the membership audit reads raw-text rows through
// the model's saved vectorizer (baseline, LiRA, and the DP verdict), and `attack --space
// embedding` attacks the embeddings, reporting the nearest-token projection beside; pixel-
// or feature-space attacks and attribute inference are refused where they cannot apply.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "cli_runner.hpp"

namespace text_protection_test {

using citadel::testkit::read_file;
using citadel::testkit::run_cli;
using citadel::testkit::scratch_directory;
using citadel::testkit::write_scratch_file;
namespace fs = std::filesystem;

namespace {

// `rows` sentences of 5 to 8 words drawn from 150 made-up words, each with a random label:
// nothing to learn, so a model can only memorise them.
std::string random_sentences(int rows, uint32_t seed) {
  std::mt19937 random(seed);
  std::ostringstream csv;
  csv << "message,label\n";
  for (int r = 0; r < rows; ++r) {
    const int length = 5 + int(random() % 4);
    std::string text;
    for (int w = 0; w < length; ++w) text += (w ? " " : "") + std::string("w") + std::to_string(random() % 150);
    csv << text << "," << random() % 2 << "\n";
  }
  return csv.str();
}

// Messages whose label says whether "free" is in them (as text_test's).
std::string messages(int rows, uint32_t seed) {
  const std::vector<std::string> words = {"hello",  "meeting", "lunch", "tomorrow", "project", "call",
                                          "report", "team",    "notes", "monday",   "budget",  "plan"};
  std::mt19937 random(seed);
  std::ostringstream csv;
  csv << "message,spam\n";
  for (int r = 0; r < rows; ++r) {
    const int length = 3 + int(random() % 6);
    const bool spam = random() % 2 == 0;
    const int at = int(random() % uint32_t(length));
    std::string text;
    for (int w = 0; w < length; ++w) text += (w ? " " : "") + (spam && w == at ? "free" : words[random() % words.size()]);
    csv << text << (spam ? ",1" : ",0") << "\n";
  }
  return csv.str();
}

nlohmann::json audit_report(const fs::path& model, const fs::path& members, const fs::path& holdout,
                            const std::string& name, const std::string& flags = "") {
  const fs::path report = scratch_directory() / (name + ".json");
  const auto result = run_cli("audit --model " + model.string() + " --train " + members.string() + " --holdout " +
                              holdout.string() + " --reference-epochs 20 --report " + report.string() + " " + flags);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  return result.exit_code == 0 ? nlohmann::json::parse(read_file(report)) : nlohmann::json::object();
}

double auc_of(const nlohmann::json& report, const std::string& attack) {
  for (const auto& each : report["attacks"])
    if (each["attack"] == attack) return each["auc"].get<double>();
  ADD_FAILURE() << "no attack " << attack << " in " << report.dump();
  return 0.5;
}

}  // namespace

// A model that memorised 100 random-label sentences gives its members away; a model trained on
// other sentences of the same kind cannot tell them from the holdout rows.
TEST(TextProtection, AuditFindsMembersOfAnOverfitTextModelOnly) {
  const auto members = write_scratch_file("members.csv", random_sentences(100, 1));
  const auto holdout = write_scratch_file("holdout.csv", random_sentences(100, 2));
  const auto others = write_scratch_file("others.csv", random_sentences(100, 3));
  const std::string train = " --text message --label label --layers embedding:16,globalavgpool1d,32:relu,1:sigmoid "
                            "--epochs 150 --learning-rate 0.02 --test-split 0.01 --verbose 0 --save ";
  const fs::path overfit = scratch_directory() / "memorised.safetensors";
  const fs::path unrelated = scratch_directory() / "unrelated.safetensors";
  ASSERT_EQ(run_cli("train --data " + members.string() + train + overfit.string()).exit_code, 0);
  ASSERT_EQ(run_cli("train --data " + others.string() + train + unrelated.string()).exit_code, 0);

  const auto leaky = audit_report(overfit, members, holdout, "memorised", "--attack lira --shadows 4");
  ASSERT_EQ(leaky["attacks"].size(), 4u);
  EXPECT_GT(auc_of(leaky, "loss_threshold"), 0.8);
  EXPECT_GT(auc_of(leaky, "lira_offline"), 0.75);
  EXPECT_GT(auc_of(leaky, "lira_online"), 0.7);
  const auto blind = audit_report(unrelated, members, holdout, "unrelated", "--attack lira --shadows 4");
  for (const auto& attack : blind["attacks"])
    EXPECT_NEAR(attack["auc"].get<double>(), 0.5, 0.15) << attack["attack"] << ": a model that saw no member";

  // The text column has no candidate values to try; a text model has no other input column.
  auto refused = [&](const std::string& column, const std::string& expected) {
    const auto result = run_cli("audit --model " + overfit.string() + " --train " + members.string() + " --holdout " +
                                holdout.string() + " --attribute " + column);
    EXPECT_NE(result.exit_code, 0) << column;
    EXPECT_NE(result.err.find(expected), std::string::npos) << result.err;
  };
  refused("message", "audit --attribute message: that is the model's text column");
  refused("other", "audit --attribute other: the model reads only its text column 'message'");
}

// A text model trained with DP (a public vocabulary, a fixed length) is audited against its
// own (ε, δ): the report carries the guarantee and each attack's verdict.
TEST(TextProtection, AuditOfAPrivateTextModelCarriesTheVerdict) {
  const auto members = write_scratch_file("dp_members.csv", random_sentences(100, 4));
  const auto holdout = write_scratch_file("dp_holdout.csv", random_sentences(100, 5));
  const auto schema = write_scratch_file("dp_sentences.schema.json",
                                         R"({"label": {"name": "label", "classes": ["0", "1"]}, "columns": {}})");
  std::string vocabulary = "\n[UNK]\n";
  for (int w = 0; w < 150; ++w) vocabulary += "w" + std::to_string(w) + "\n";
  const auto vocabulary_file = write_scratch_file("dp_words.txt", vocabulary);
  const fs::path model = scratch_directory() / "dp_sentences.safetensors";
  const auto trained = run_cli("train --data " + members.string() + " --text message --label label --schema " +
                               schema.string() + " --vocabulary " + vocabulary_file.string() +
                               " --sequence-length 8 --dp --dp-reproducible --epochs 5 --test-split 0.01 --layers "
                               "embedding:8,globalavgpool1d,1:sigmoid --verbose 0 --save " + model.string());
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  const auto report = audit_report(model, members, holdout, "dp_sentences");
  ASSERT_TRUE(report.contains("differential_privacy")) << report.dump();
  ASSERT_EQ(report["attacks"].size(), 2u);
  for (const auto& attack : report["attacks"]) {
    EXPECT_EQ(attack["within_dp_bound"], true) << attack["attack"];
    EXPECT_LE(attack["epsilon_lower_bound"].get<double>(), report["differential_privacy"]["epsilon"].get<double>());
  }
}

// attack --space embedding on a trained text model: ε = 0 changes nothing (the same accuracy
// on vectors and on real tokens, no token changed); accuracy falls as ε grows.
TEST(TextProtection, EmbeddingSpaceAttackOnATextModel) {
  const auto train = write_scratch_file("spam.csv", messages(240, 6));
  const auto test = write_scratch_file("spam_test.csv", messages(80, 7));
  const fs::path model = scratch_directory() / "spam.safetensors";
  const auto trained = run_cli("train --data " + train.string() + " --text message --label spam --layers "
                               "embedding:8,globalmaxpool1d,1:sigmoid --epochs 30 --learning-rate 0.02 --verbose 0 "
                               "--save " + model.string());
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  const fs::path report_file = scratch_directory() / "embedding_attack.json";
  const auto attacked = run_cli("attack --model " + model.string() + " --data " + test.string() +
                                " --space embedding --epsilon 0,0.5,1,2 --norm l2 --report " + report_file.string() +
                                " --html " + (scratch_directory() / "embedding_attack.html").string());
  ASSERT_EQ(attacked.exit_code, 0) << attacked.err;
  // The page draws the accuracy on the vectors and, dashed, on the nearest real tokens.
  const std::string page = read_file(scratch_directory() / "embedding_attack.html");
  EXPECT_NE(page.find(">pgd l2 (vectors)<"), std::string::npos);
  EXPECT_NE(page.find(">pgd l2 real tokens<"), std::string::npos);
  EXPECT_NE(page.find("series c0 dashed"), std::string::npos);
  EXPECT_NE(attacked.out.find("accuracy on"), std::string::npos) << attacked.out;
  const auto report = nlohmann::json::parse(read_file(report_file));
  EXPECT_EQ(report["space"], "embedding");
  EXPECT_EQ(report["layer"], "embedding");
  EXPECT_GT(report["scale"].get<double>(), 0);
  const auto& results = report["results"];
  ASSERT_EQ(results.size(), 4u);
  const double clean = results[0]["accuracy"].get<double>();
  EXPECT_GT(clean, 0.9);
  EXPECT_EQ(results[0]["nearest_token_projection"]["accuracy"].get<double>(), clean);
  EXPECT_EQ(results[0]["nearest_token_projection"]["tokens_changed"], 0);
  EXPECT_GT(results[0]["nearest_token_projection"]["tokens"].get<int64_t>(), 80 * 3 - 1);
  EXPECT_LT(results[3]["accuracy"].get<double>(), clean - 0.3);
  for (size_t i = 1; i < results.size(); ++i)
    EXPECT_LE(results[i]["accuracy"].get<double>(), results[i - 1]["accuracy"].get<double>() + 0.03);

  // Ids are symbols: an attack on the inputs points at --space embedding; a model without an
  // Embedding has no embedding space, and the refusal names its file.
  const auto on_ids = run_cli("attack --model " + model.string() + " --data " + test.string() + " --eps 0.1");
  EXPECT_NE(on_ids.exit_code, 0);
  EXPECT_NE(on_ids.err.find("reads text (the column 'message')"), std::string::npos) << on_ids.err;
  EXPECT_NE(on_ids.err.find("--space embedding"), std::string::npos) << on_ids.err;
  const fs::path numbers = scratch_directory() / "numbers.safetensors";
  ASSERT_EQ(run_cli("train --data " CITADEL_SOURCE_DATA " --epochs 1 --verbose 0 --save " + numbers.string()).exit_code,
            0);
  const auto no_embedding = run_cli("attack --model " + numbers.string() + " --data " CITADEL_SOURCE_DATA
                                    " --space embedding --eps 0.1");
  EXPECT_NE(no_embedding.exit_code, 0);
  EXPECT_NE(no_embedding.err.find(numbers.string() + ": embedding attack: the model"), std::string::npos)
      << no_embedding.err;
  EXPECT_NE(no_embedding.err.find("has no Embedding layer"), std::string::npos) << no_embedding.err;
  for (const std::string flag : {"--adversarial pgd --eps 0.1", "--gaussian-augmentation 0.25"}) {
    const auto adversarial = run_cli("train --data " + train.string() + " --text message --label spam --epochs 1 "
                                     "--verbose 0 " + flag);
    EXPECT_NE(adversarial.exit_code, 0) << flag;
    EXPECT_NE(adversarial.err.find("--text message makes the model's input token ids"), std::string::npos)
        << adversarial.err;
  }
  const auto examples = run_cli("attack --model " + model.string() + " --data " + test.string() +
                                " --space embedding --eps 0.1 --save-examples " +
                                (scratch_directory() / "x.csv").string());
  EXPECT_NE(examples.exit_code, 0);
  EXPECT_NE(examples.err.find("--save-examples"), std::string::npos) << examples.err;
}

}  // namespace text_protection_test
