// The TREC-6 and SMS Spam loaders on small hand-made files of the real files' forms: the
// split, the SMS rows that swallowed raw lines, and malformed rows refused by line.
#include <gtest/gtest.h>

#include <fstream>

#include "citadel/core/error.hpp"
#include "citadel/data/text_datasets.hpp"
#include "scratch_folder.hpp"

namespace text_datasets_test {

using namespace citadel;

namespace {

std::string write_file(const std::string& name, const std::string& text) {
  const std::string path = (citadel::testing::scratch_folder() / name).string();
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

template <class Load>
std::string error_of(Load load) {
  try {
    load();
  } catch (const IoError& e) {
    return e.what();
  }
  return "";
}

const char* kTrecHeader = ",label-coarse,label-fine,text\n";

}  // namespace

TEST(Trec6Csv, SplitsTrainAndTestRows) {
  const std::string path = write_file("trec.csv", std::string(kTrecHeader) +
                                                      "0,0,0,How did serfdom develop ?\n"
                                                      "1,2,3,\"What does S.O.S. stand for , then ?\"\n"
                                                      "2,5,21,Where is Aspen ?\n");
  const Trec6Data data = load_trec6_csv(path, 2);
  EXPECT_EQ(data.train.texts,
            (std::vector<std::string>{"How did serfdom develop ?", "What does S.O.S. stand for , then ?"}));
  EXPECT_EQ(data.train.labels, (std::vector<int64_t>{0, 2}));
  EXPECT_EQ(data.test.texts, (std::vector<std::string>{"Where is Aspen ?"}));
  EXPECT_EQ(data.test.labels, (std::vector<int64_t>{5}));
  EXPECT_EQ(data.test.class_names[5], "LOC");
  const Tensor y = data.train.label_tensor();
  EXPECT_EQ(y.shape(), (Shape{2, 1}));
  EXPECT_EQ(y.data()[1], 2.0f);
  const TextDataset picked = data.train.take({1, 0});
  EXPECT_EQ(picked.labels, (std::vector<int64_t>{2, 0}));
  EXPECT_EQ(picked.texts[1], "How did serfdom develop ?");
  EXPECT_EQ(data.train.slice(1, 2).labels, (std::vector<int64_t>{2}));
  EXPECT_THROW(data.train.take({2}), ValueError);
}

TEST(Trec6Csv, RefusesMalformedRowsNamingTheLine) {
  const std::string bad_label =
      write_file("bad_label.csv", std::string(kTrecHeader) + "0,0,0,a ?\n1,6,0,b ?\n2,1,1,c ?\n");
  EXPECT_NE(error_of([&] { load_trec6_csv(bad_label, 1); }).find("bad_label.csv:3: label-coarse"), std::string::npos)
      << error_of([&] { load_trec6_csv(bad_label, 1); });
  const std::string bad_number = write_file("bad_number.csv", std::string(kTrecHeader) + "0,0,0,a ?\n7,1,0,b ?\n");
  EXPECT_NE(error_of([&] { load_trec6_csv(bad_number, 1); }).find("bad_number.csv:3: expected row number 1"),
            std::string::npos);
  const std::string short_row = write_file("short.csv", std::string(kTrecHeader) + "0,0,0,a ?\n1,1,b ?\n");
  EXPECT_NE(error_of([&] { load_trec6_csv(short_row, 1); }).find("short.csv:3"), std::string::npos);
  const std::string no_test = write_file("no_test.csv", std::string(kTrecHeader) + "0,0,0,a ?\n");
  EXPECT_NE(error_of([&] { load_trec6_csv(no_test, 1); }).find("no test rows"), std::string::npos);
  const std::string wrong_file = write_file("wrong.csv", ",spam,text\n0,0,hi\n");
  EXPECT_NE(error_of([&] {
              load_trec6_csv(wrong_file, 1);
            }).find("wrong.csv:1: expected a row-number column, then the columns label-coarse"),
            std::string::npos);
}

// Row 1's quoted field runs over two raw lines of the collection (as 8 fields of the real
// file do), closed by the doubled quote the CSV writer left: three messages come out of it.
TEST(SmsSpamCsv, SplitsSwallowedLinesBackIntoMessages) {
  const std::string path = write_file("sms.csv",
                                      ",spam,text\n"
                                      "0,0,Ok lar... Joking wif u oni...\n"
                                      "1,0,\"Keep-in-touch\"\" gdeve..\n"
                                      "ham\tOk. I asked for money how far\n"
                                      "spam\tFREE entry, txt WIN to 80086 now\"\n"
                                      "2,1,\"Free entry in 2 a wkly comp, text FA to 87121\"\n");
  SmsSpamRepairs repairs;
  const TextDataset data = load_sms_spam_csv(path, &repairs);
  EXPECT_EQ(data.texts, (std::vector<std::string>{"Ok lar... Joking wif u oni...", "Keep-in-touch\" gdeve..",
                                                  "Ok. I asked for money how far", "FREE entry, txt WIN to 80086 now",
                                                  "Free entry in 2 a wkly comp, text FA to 87121"}));
  EXPECT_EQ(data.labels, (std::vector<int64_t>{0, 0, 0, 1, 1}));
  EXPECT_EQ(repairs.rows_repaired, 1);
  EXPECT_EQ(repairs.lines_split, 2);
  EXPECT_EQ(data.class_names, (std::vector<std::string>{"ham", "spam"}));
}

TEST(SmsSpamCsv, RefusesMalformedRowsNamingTheLine) {
  const std::string bad_label = write_file("sms_label.csv", ",spam,text\n0,0,hi\n1,2,there\n");
  EXPECT_NE(error_of([&] { load_sms_spam_csv(bad_label); }).find("sms_label.csv:3: the spam column must be 0 or 1"),
            std::string::npos);
  // A swallowed line that is not "ham<TAB>..." / "spam<TAB>...": reported at its own line (5).
  const std::string bad_line = write_file("sms_line.csv", ",spam,text\n0,0,hi\n1,0,\"a\nham\tb\nmaybe c\"\n");
  const std::string message = error_of([&] { load_sms_spam_csv(bad_line); });
  EXPECT_NE(message.find("sms_line.csv:5: a line inside row 1's text"), std::string::npos) << message;
  const std::string empty = write_file("sms_empty.csv", ",spam,text\n0,0,\"\"\n");
  EXPECT_NE(error_of([&] { load_sms_spam_csv(empty); }).find("sms_empty.csv:2: the text is empty"), std::string::npos);
}

}  // namespace text_datasets_test
