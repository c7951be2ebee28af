// `train --watermark-trigger-set` and `watermark verify --trigger-set` run as a user runs them,
// on a 4-class CSV made here: the watermarked model file records the commitment and is
// claimed (exit 0, p < 1e-9), the same file under another key and an independently trained
// model are not (exit 3), `citadel verify` of the signed file shows the commitment, a copy without the record is still tested with the range given, and
// the refusals name their flag.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "cli_runner.hpp"

namespace watermark_trigger_set_test {

using namespace citadel::testkit;
namespace fs = std::filesystem;

namespace {

// Four Gaussian blobs in 8 features, 1000 rows.
fs::path four_class_csv() {
  static const fs::path path = [] {
    std::mt19937 rng(1);
    std::normal_distribution<double> normal;
    double centre[4][8];
    for (auto& c : centre)
      for (double& v : c) v = 2.5 * normal(rng);
    std::ostringstream csv;
    csv << "f0,f1,f2,f3,f4,f5,f6,f7,label\n";
    for (int r = 0; r < 1000; ++r) {
      const int k = int(rng() % 4);
      for (int f = 0; f < 8; ++f) csv << centre[k][f] + normal(rng) << ',';
      csv << 'c' << k << '\n';
    }
    return write_scratch_file("four.csv", csv.str());
  }();
  return path;
}

std::string key(const std::string& name) {
  const fs::path path = scratch_directory() / name;
  if (!fs::exists(path)) {
    EXPECT_EQ(run_cli("watermark keygen --key " + path.string()).exit_code, 0);
  }
  return path.string();
}

const char* kNetwork = " --verbose 0 --epochs 60 --layers 128:relu,4:softmax";

}  // namespace

TEST(WatermarkTriggerSetCli, AWatermarkedFileIsClaimedAndOthersAreNot) {
  const std::string data = four_class_csv().string(), owner = key("owner.key"), other = key("other.key");
  const fs::path marked = scratch_directory() / "marked.safetensors", report = scratch_directory() / "train.json";
  const CliResult trained = run_cli("train --data " + data + kNetwork + " --watermark-trigger-set " + owner +
                                    " --save " + marked.string() + " --report " +
                                    report.string());
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  const auto recorded = nlohmann::json::parse(read_file(report))["protection"]["trigger_set_watermark"];
  EXPECT_EQ(recorded["size"], 100);
  EXPECT_EQ(recorded["classes"], 4);
  EXPECT_EQ(recorded["commitment"].get<std::string>().size(), 64u);
  EXPECT_EQ(read_file(owner).find(recorded["key_id"].get<std::string>()), std::string::npos);

  const fs::path verdict = scratch_directory() / "verdict.json";
  const CliResult claimed = run_cli("watermark verify --trigger-set " + owner + " --suspect " + marked.string() +
                                    " --report " + verdict.string());
  EXPECT_EQ(claimed.exit_code, 0) << claimed.out << claimed.err;
  EXPECT_NE(claimed.out.find("the file's record matches"), std::string::npos) << claimed.out;
  const auto v = nlohmann::json::parse(read_file(verdict));
  EXPECT_EQ(v["commitment"], recorded["commitment"]);
  EXPECT_EQ(v["commitment_in_file"], "matches");
  EXPECT_GE(v["trigger_accuracy"].get<double>(), 0.9);
  EXPECT_LT(v["p_value"].get<double>(), 1e-9);
  EXPECT_EQ(v["claimed"], true);

  const CliResult info = run_cli("info " + marked.string());
  EXPECT_NE(info.out.find("Trigger-set watermark: commitment " + recorded["commitment"].get<std::string>()),
            std::string::npos)
      << info.out;

  // Signed, the statement carries the commitment: `citadel verify` shows it with the signed time.
  const fs::path pub = scratch_directory() / "sign.pub", sec = scratch_directory() / "sign.key";
  ASSERT_EQ(run_cli("keygen --public " + pub.string() + " --secret " + sec.string()).exit_code, 0);
  ASSERT_EQ(run_cli("sign " + marked.string() + " --key " + sec.string()).exit_code, 0);
  const CliResult verified = run_cli("verify " + marked.string() + " --pubkey " + pub.string());
  EXPECT_EQ(verified.exit_code, 0) << verified.err;
  EXPECT_NE(verified.out.find("trigger-set watermark commitment " + recorded["commitment"].get<std::string>() +
                              ", signed 20"),
            std::string::npos)
      << verified.out;

  const CliResult wrong_key = run_cli("watermark verify --trigger-set " + other + " --suspect " + marked.string());
  EXPECT_EQ(wrong_key.exit_code, 3) << wrong_key.out << wrong_key.err;
  EXPECT_NE(wrong_key.out.find("Commitment MISMATCH"), std::string::npos) << wrong_key.out;

  const fs::path plain = scratch_directory() / "plain.safetensors";
  ASSERT_EQ(run_cli("train --data " + data + kNetwork + " --seed 2 --save " + plain.string()).exit_code, 0);
  // The owner's range, as the watermarked file recorded it.
  const std::string range = " --trigger-range " + nlohmann::json(recorded["low"]).dump() + "," +
                            nlohmann::json(recorded["high"]).dump();
  const CliResult independent =
      run_cli("watermark verify --trigger-set " + owner + " --suspect " + plain.string() + range);
  EXPECT_EQ(independent.exit_code, 3) << independent.out << independent.err;
  EXPECT_NE(independent.out.find("the file records none"), std::string::npos) << independent.out;
  ASSERT_EQ(run_cli("sign " + plain.string() + " --key " + sec.string()).exit_code, 0);
  const CliResult unmarked = run_cli("verify " + plain.string() + " --pubkey " + pub.string());
  EXPECT_EQ(unmarked.exit_code, 0) << unmarked.err;
  EXPECT_EQ(unmarked.out.find("watermark"), std::string::npos) << unmarked.out;
}

TEST(WatermarkTriggerSetCli, RefusalsNameTheFlag) {
  const std::string data = four_class_csv().string(), owner = key("owner.key");
  const CliResult dp = run_cli("train --data " + data + " --dp --no-save --watermark-trigger-set " + owner);
  EXPECT_EQ(dp.exit_code, 1);
  EXPECT_NE(dp.err.find("--watermark-trigger-set cannot be combined with --dp"), std::string::npos) << dp.err;
  const CliResult certified = run_cli("train --data " + data + " --no-save --verbose 0 --epochs 1 --certified-training "
                                      "ibp --eps 0.1 --watermark-trigger-set " + owner);
  EXPECT_NE(certified.exit_code, 0);
  EXPECT_NE(certified.err.find("--watermark-trigger-set"), std::string::npos) << certified.err;
  const CliResult alone = run_cli("train --data " + data + " --no-save --watermark-size 10");
  EXPECT_NE(alone.exit_code, 0);
  EXPECT_NE(alone.err.find("--watermark-trigger-set"), std::string::npos) << alone.err;
  const CliResult not_a_key =
      run_cli("train --data " + data + " --no-save --verbose 0 --epochs 1 --watermark-trigger-set " +
              write_scratch_file("not.key", "citadel-encryption-key AAAA\n").string());
  EXPECT_EQ(not_a_key.exit_code, 1);
  EXPECT_NE(not_a_key.err.find("not a watermark key file"), std::string::npos) << not_a_key.err;
  const CliResult both = run_cli("watermark verify --trigger-set " + owner + " --log x.log --suspect x.safetensors");
  EXPECT_EQ(both.exit_code, 1);
  EXPECT_NE(both.err.find("not both"), std::string::npos) << both.err;
  const CliResult neither = run_cli("watermark verify --suspect x.safetensors");
  EXPECT_EQ(neither.exit_code, 1);
  EXPECT_NE(neither.err.find("--trigger-set"), std::string::npos) << neither.err;
}

}  // namespace watermark_trigger_set_test
