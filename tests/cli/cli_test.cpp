// The `citadel` command run as a user runs it: the main job's accuracy and report,
// every command, the overfitting options, and clear errors for bad use.
#include <gtest/gtest.h>

#include <thread>

#include <fcntl.h>
#include <signal.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "citadel/io/saved_model.hpp"
#include "citadel/ops/precision.hpp"
#include "citadel/version.hpp"
#include "cli_runner.hpp"

namespace cli_test {

using namespace citadel::testkit;
namespace fs = std::filesystem;

namespace {

// A three-class problem with text labels, a categorical column and a missing value.
const char* kFruit =
    "weight;colour;sweetness;fruit\n"
    "150;red;7;apple\n120;green;5;apple\n170;red;8;apple\n140;green;6;apple\n160;red;7;apple\n"
    "130;yellow;9;banana\n125;yellow;8;banana\n135;yellow;9;banana\n128;yellow;8;banana\n132;yellow;9;banana\n"
    "300;orange;6;orange\n280;orange;7;orange\n310;orange;6;orange\n290;orange;7;orange\n305;orange;?;orange\n";

std::string data_file(const char* name) { return std::string(CITADEL_TEST_DATA) + "/" + name; }

}  // namespace

TEST(Cli, DefaultTrainingReachesTheAccuracyBarAndWritesTheReport) {
  const fs::path report = scratch_directory() / "report.json";
  const CliResult result = run_cli("train --verbose 2 --report " + report.string());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("Epoch 150/150"), std::string::npos);
  EXPECT_NE(result.out.find("Total params: 211"), std::string::npos);
  EXPECT_NE(result.out.find("Held-out test set (154 rows)"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("weighted avg"), std::string::npos) << result.out;
  const auto json = nlohmann::json::parse(read_file(report));
  EXPECT_GE(json["accuracy"].get<double>(), 0.72);
  for (const char* key : {"loss", "precision", "recall", "f1", "auc"}) EXPECT_TRUE(json[key].is_number()) << key;
  EXPECT_EQ(json["history"]["loss"].size(), 150u);
  EXPECT_EQ(json["train_rows"], 614);
  EXPECT_EQ(json["test_rows"], 154);
  const auto& confusion = json["classification_report"]["confusion_matrix"];
  EXPECT_EQ(confusion[0][0].get<int>() + confusion[0][1].get<int>() + confusion[1][0].get<int>() +
                confusion[1][1].get<int>(),
            154);
  EXPECT_EQ(json["preprocessing"]["scaling"], "standard");
}

TEST(Cli, SameSeedSameReport) {
  const fs::path a = scratch_directory() / "a.json", b = scratch_directory() / "b.json";
  ASSERT_EQ(run_cli("train --verbose 0 --epochs 5 --report " + a.string()).exit_code, 0);
  ASSERT_EQ(run_cli("train --verbose 0 --epochs 5 --report " + b.string()).exit_code, 0);
  // Everything but the run record (the command line names another file; the date moves).
  auto figures = [](const fs::path& path) {
    auto json = nlohmann::json::parse(read_file(path));
    EXPECT_EQ(json["run"]["citadel_version"], citadel::kVersion);
    json.erase("run");
    return json.dump();
  };
  EXPECT_EQ(figures(a), figures(b));
}

TEST(Cli, OptionsChangeTheRun) {
  const fs::path report = scratch_directory() / "options.json";
  const CliResult result = run_cli("train --verbose 1 --epochs 3 --layers 6:tanh,1:sigmoid --optimizer sgd "
                                   "--learning-rate 0.05 --batch-size 64 --validation-split 0.25 --label target "
                                   "--scale minmax --report " + report.string());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto json = nlohmann::json::parse(read_file(report));
  EXPECT_EQ(json["history"]["val_loss"].size(), 3u);
  EXPECT_EQ(json["preprocessing"]["scaling"], "minmax");
  EXPECT_NE(result.out.find("Total params: 61"), std::string::npos) << result.out;  // 8·6+6 + 6+1
}

// --precision: mixed_bfloat16 trains where the processor has bf16 instructions; where it
// has none (here: oneDNN held to AVX-512 without them) the run says so and computes in
// float32; an unknown precision is refused by name.
TEST(Cli, PrecisionOption) {
  const fs::path report = scratch_directory() / "bf16.json";
  const std::string train = "train --verbose 2 --epochs 20 --layers 128:relu,64:relu,1:sigmoid --report " +
                            report.string() + " --precision mixed_bfloat16";
  const CliResult native = run_cli(train);
  ASSERT_EQ(native.exit_code, 0) << native.err;
  const bool has_bf16 = citadel::ops::processor_has_bf16();
  EXPECT_EQ(native.out.find("no bf16 instructions") == std::string::npos, has_bf16) << native.out;
  EXPECT_GE(nlohmann::json::parse(read_file(report))["accuracy"].get<double>(), 0.7);

  ::setenv("ONEDNN_MAX_CPU_ISA", "AVX512_CORE", 1);
  const CliResult capped = run_cli(train);
  ::unsetenv("ONEDNN_MAX_CPU_ISA");
  ASSERT_EQ(capped.exit_code, 0) << capped.err;
  EXPECT_NE(capped.out.find("mixed_bfloat16 asked for, but this processor has no bf16 instructions"),
            std::string::npos) << capped.out;

  const CliResult wrong = run_cli("train --verbose 0 --epochs 1 --precision float16");
  EXPECT_NE(wrong.exit_code, 0);
  EXPECT_NE(wrong.err.find("--precision"), std::string::npos) << wrong.err;
}

TEST(Cli, OverfittingOptions) {
  const fs::path report = scratch_directory() / "overfit.json", log = scratch_directory() / "history.csv";
  const CliResult result = run_cli("train --verbose 2 --layers 64:relu,64:relu,1:sigmoid --dropout 0.2 --l2 1e-4 "
                                   "--early-stopping 3 --reduce-lr 2 --epochs 300 --csv-log " + log.string() +
                                   " --report " + report.string());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("dropout (Dropout)"), std::string::npos) << result.out;
  const auto json = nlohmann::json::parse(read_file(report));
  EXPECT_LT(json["epochs_run"].get<int>(), 300);  // the validation loss stops improving long before
  EXPECT_NE(json["stop_reason"].get<std::string>().find("early stopping"), std::string::npos);
  EXPECT_TRUE(json["history"].contains("val_loss"));
  EXPECT_TRUE(json["history"].contains("learning_rate"));
  const std::string csv = read_file(log);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), json["epochs_run"].get<int>() + 1);

  const CliResult scheduled = run_cli("train --verbose 0 --epochs 4 --lr-schedule step:0.5:2 --report " + report.string());
  ASSERT_EQ(scheduled.exit_code, 0) << scheduled.err;
  const auto rates = nlohmann::json::parse(read_file(report))["history"]["learning_rate"];
  EXPECT_NEAR(rates[3].get<double>(), 0.0005, 1e-9);  // 0.001 halved every 2 epochs: 0.001, 0.001, 0.0005, 0.0005
  const CliResult threshold = run_cli("train --verbose 0 --loss-threshold 0.6 --report " + report.string());
  ASSERT_EQ(threshold.exit_code, 0) << threshold.err;
  EXPECT_LT(nlohmann::json::parse(read_file(report))["history"]["loss"].back().get<double>(), 0.6);
}

TEST(Cli, TextLabelsCategoricalColumnsAndMissingValues) {
  const fs::path fruit = write_scratch_file("fruit.csv", kFruit), report = scratch_directory() / "fruit.json";
  const CliResult refused = run_cli("train --data " + fruit.string() + " --categorical colour --epochs 2");
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("fruit.csv:16: column 'sweetness' has a missing value ('?')"), std::string::npos)
      << refused.err;
  const CliResult result = run_cli("train --data " + fruit.string() + " --categorical colour --missing mean "
                                   "--epochs 200 --learning-rate 0.05 --test-split 0.4 --report " + report.string());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("delimiter ';'"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("3 classes; loss sparse_categorical_crossentropy"), std::string::npos) << result.out;
  const auto json = nlohmann::json::parse(read_file(report));
  EXPECT_EQ(json["classes"], (nlohmann::json{"apple", "banana", "orange"}));
  EXPECT_EQ(json["preprocessing"]["imputation"], "training mean");
  EXPECT_GE(json["accuracy"].get<double>(), 0.8);
  const CliResult dropped = run_cli("train --data " + fruit.string() + " --categorical colour --missing drop --epochs 2");
  EXPECT_NE(dropped.out.find("Dropped 1 rows"), std::string::npos) << dropped.out;
}

TEST(Cli, MismatchedOutputLayerSaysWhatToUse) {
  const fs::path fruit = write_scratch_file("fruit.csv", kFruit);
  const CliResult result = run_cli("train --data " + fruit.string() + " --categorical colour --missing mean "
                                   "--layers 8:relu,1:sigmoid --epochs 1");
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.err.find("'fruit' has 3 classes ('apple', 'banana', 'orange') but the model has 1 outputs; "
                            "end the network with 3:softmax"),
            std::string::npos)
      << result.err;
  const CliResult binary = run_cli("train --data " + fruit.string() + " --categorical colour --missing mean "
                                   "--loss binary_crossentropy --epochs 1");
  EXPECT_NE(binary.err.find("--loss sparse_categorical_crossentropy"), std::string::npos) << binary.err;
}

TEST(Cli, EvaluateOnAnotherFile) {
  const fs::path report = scratch_directory() / "evaluate.json";
  const CliResult result = run_cli("evaluate --verbose 0 --epochs 20 --test " +
                                   std::string(CITADEL_SOURCE_DATA) + " --report " + report.string());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("Evaluation on " + std::string(CITADEL_SOURCE_DATA) + " (768 rows)"), std::string::npos)
      << result.out;
  EXPECT_NE(result.out.find("Confusion matrix"), std::string::npos);
  const auto json = nlohmann::json::parse(read_file(report));
  EXPECT_EQ(json["test_rows"], 768);
  EXPECT_GT(json["accuracy"].get<double>(), 0.7);
}

TEST(Cli, PredictWritesLabelsInTheDatasOwnTerms) {
  const fs::path fruit = write_scratch_file("fruit.csv", kFruit), output = scratch_directory() / "predictions.csv";
  const fs::path input = write_scratch_file("new.csv", "colour;weight;sweetness\nyellow;130;9\norange;295;6\n");
  const CliResult result = run_cli("predict --verbose 0 --data " + fruit.string() + " --categorical colour --missing mean "
                                   "--epochs 300 --learning-rate 0.05 --input " + input.string() + " --output " + output.string());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const std::string csv = read_file(output);
  EXPECT_EQ(csv.substr(0, csv.find('\n')), "line,predicted,p_apple,p_banana,p_orange");
  EXPECT_NE(csv.find("\n2,banana,"), std::string::npos) << csv;
  EXPECT_NE(csv.find("\n3,orange,"), std::string::npos) << csv;
}

TEST(Cli, CrossValidationReportsFoldsMeanAndStd) {
  const fs::path report = scratch_directory() / "cv.json";
  const CliResult result = run_cli("cv --verbose 0 --epochs 30 --folds 4 --report " + report.string());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("mean"), std::string::npos);
  const auto json = nlohmann::json::parse(read_file(report));
  ASSERT_EQ(json["folds"].size(), 4u);
  int tested = 0;
  double sum = 0;
  for (const auto& fold : json["folds"]) tested += fold["test_rows"].get<int>(), sum += fold["accuracy"].get<double>();
  EXPECT_EQ(tested, 768);
  EXPECT_NEAR(json["mean"]["accuracy"].get<double>(), sum / 4, 1e-9);
  EXPECT_TRUE(json["stratified"].get<bool>());
}

TEST(Cli, ModelConfigFile) {
  const fs::path config = write_scratch_file("model.json", R"({"class_name": "Sequential", "config": {"layers": [
      {"class_name": "Dense", "config": {"units": 12, "activation": "relu", "input_dim": 8}},
      {"class_name": "Dropout", "config": {"rate": 0.1}},
      {"class_name": "Dense", "config": {"units": 1, "activation": "sigmoid"}}]}})");
  const CliResult result = run_cli("train --verbose 1 --epochs 2 --model-config " + config.string());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("Total params: 121"), std::string::npos) << result.out;  // 8·12+12 + 12+1
  const fs::path bad = write_scratch_file("bad_model.json", R"({"layers": [{"class_name": "Dense", "config": {"units": 0}}]})");
  const CliResult refused = run_cli("train --model-config " + bad.string());
  EXPECT_NE(refused.err.find("layers[0] (Dense): 'units'"), std::string::npos) << refused.err;
}

TEST(Cli, SavedModelsPredictExactlyAsTheModelThatWasTrained) {
  const fs::path fruit = write_scratch_file("fruit.csv", kFruit), model = scratch_directory() / "fruit.safetensors";
  const fs::path input = write_scratch_file("new.csv", "colour;weight;sweetness\nyellow;130;9\norange;295;6\ngreen;150;?\n");
  const fs::path direct = scratch_directory() / "direct.csv", from_file = scratch_directory() / "from_file.csv";
  const CliResult trained = run_cli("predict --verbose 0 --data " + fruit.string() + " --categorical colour --missing mean "
                                    "--epochs 300 --learning-rate 0.05 --input " + input.string() + " --output " +
                                    direct.string() + " --save " + model.string());
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  // The saved file carries the schema (columns, one-hot categories, classes), the imputer's
  // means and the scaler: predictions from it are byte-identical.
  const CliResult loaded = run_cli("predict --verbose 0 --missing mean --model " + model.string() + " --input " +
                                   input.string() + " --output " + from_file.string());
  ASSERT_EQ(loaded.exit_code, 0) << loaded.err;
  const std::string csv = read_file(from_file);
  EXPECT_EQ(csv, read_file(direct));
  EXPECT_NE(csv.find("\n2,banana,"), std::string::npos) << csv;
  EXPECT_NE(csv.find("\n3,orange,"), std::string::npos) << csv;
}

TEST(Cli, SaveInfoAndEvaluateASavedModel) {
  const fs::path model = scratch_directory() / "pima.safetensors", report = scratch_directory() / "info.json";
  const fs::path train_report = scratch_directory() / "train.json", evaluate_report = scratch_directory() / "eval.json";
  ASSERT_EQ(run_cli("train --verbose 0 --epochs 20 --save " + model.string() + " --report " + train_report.string()).exit_code, 0);
  const CliResult info = run_cli("info " + model.string() + " --report " + report.string());
  ASSERT_EQ(info.exit_code, 0) << info.err;
  EXPECT_NE(info.out.find("Total params: 211"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("dense_2/kernel"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("loss binary_crossentropy, optimizer adam"), std::string::npos) << info.out;
  const auto json = nlohmann::json::parse(read_file(report));
  EXPECT_EQ(json["parameters"], 211);
  EXPECT_EQ(json["tensors"]["dense/kernel"], (nlohmann::json{8, 10}));
  const CliResult evaluated = run_cli("evaluate --verbose 0 --model " + model.string() + " --test " +
                                      std::string(CITADEL_SOURCE_DATA) + " --report " + evaluate_report.string());
  ASSERT_EQ(evaluated.exit_code, 0) << evaluated.err;
  EXPECT_EQ(nlohmann::json::parse(read_file(evaluate_report))["test_rows"], 768);
  EXPECT_GT(nlohmann::json::parse(read_file(evaluate_report))["accuracy"].get<double>(), 0.7);
  // evaluate --model takes --batch-size: the same figures (to float rounding) in batches of 7.
  const fs::path batched_report = scratch_directory() / "eval_batched.json";
  ASSERT_EQ(run_cli("evaluate --verbose 0 --batch-size 7 --model " + model.string() + " --test " +
                    std::string(CITADEL_SOURCE_DATA) + " --report " + batched_report.string()).exit_code, 0);
  const auto whole = nlohmann::json::parse(read_file(evaluate_report));
  const auto batched = nlohmann::json::parse(read_file(batched_report));
  EXPECT_EQ(batched["accuracy"], whole["accuracy"]);
  EXPECT_NEAR(batched["loss"].get<double>(), whole["loss"].get<double>(), 1e-5);
  const fs::path broken = write_scratch_file("broken.safetensors", read_file(model).substr(0, 100));
  const CliResult refused = run_cli("info " + broken.string());
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("broken.safetensors: header length"), std::string::npos) << refused.err;
}

TEST(Cli, SignedModelsAndTampering) {
  const fs::path model = scratch_directory() / "signed.safetensors", pub = scratch_directory() / "k.pub",
                 key = scratch_directory() / "k.key", input = write_scratch_file("rows.csv",
                 "NumTimesPrg,PlGlcConc,BloodP,SkinThick,TwoHourSerIns,BMI,DiPedFunc,Age\n6,148,72,35,0,33.6,0.627,50\n");
  const fs::path output = scratch_directory() / "signed_predictions.csv";
  ASSERT_EQ(run_cli("keygen --public " + pub.string() + " --secret " + key.string()).exit_code, 0);
  ASSERT_EQ(run_cli("train --verbose 0 --epochs 5 --save " + model.string()).exit_code, 0);
  const std::string predict = "predict --verbose 0 --model " + model.string() + " --pubkey " + pub.string() +
                              " --input " + input.string() + " --output " + output.string();
  const CliResult unsigned_model = run_cli(predict);
  EXPECT_EQ(unsigned_model.exit_code, 1);
  EXPECT_NE(unsigned_model.err.find("refusing an unsigned model"), std::string::npos) << unsigned_model.err;
  ASSERT_EQ(run_cli("sign " + model.string() + " --key " + key.string()).exit_code, 0);
  EXPECT_EQ(run_cli("verify " + model.string() + " --pubkey " + pub.string()).exit_code, 0);
  EXPECT_EQ(run_cli(predict).exit_code, 0);
  EXPECT_NE(run_cli("info " + model.string() + " --pubkey " + pub.string()).out.find("Signature: valid"),
            std::string::npos);
  std::string bytes = read_file(model);
  bytes[bytes.size() / 2] ^= 0x10;  // one flipped bit in the weights
  std::ofstream(model, std::ios::binary) << bytes;
  const CliResult verify = run_cli("verify " + model.string() + " --pubkey " + pub.string());
  EXPECT_EQ(verify.exit_code, 3);
  EXPECT_NE(verify.out.find("INVALID"), std::string::npos);
  const CliResult tampered = run_cli(predict);
  EXPECT_EQ(tampered.exit_code, 1);
  EXPECT_NE(tampered.err.find("signature does not match"), std::string::npos) << tampered.err;
}

TEST(Cli, EncryptedModelsLoadDirectly) {
  const fs::path model = scratch_directory() / "secret.safetensors", key = scratch_directory() / "model.key";
  const fs::path sealed = scratch_directory() / "secret.safetensors.enc", report = scratch_directory() / "enc.json";
  ASSERT_EQ(run_cli("train --verbose 0 --epochs 5 --save " + model.string()).exit_code, 0);
  ASSERT_EQ(run_cli("keygen --encryption-key " + key.string()).exit_code, 0);
  ASSERT_EQ(run_cli("encrypt " + model.string() + " --key-file " + key.string()).exit_code, 0);
  const std::string evaluate = "evaluate --verbose 0 --model " + sealed.string() + " --test " + CITADEL_SOURCE_DATA;
  const CliResult without_key = run_cli(evaluate);
  EXPECT_EQ(without_key.exit_code, 1);
  EXPECT_NE(without_key.err.find("the model is encrypted; give --key-file"), std::string::npos) << without_key.err;
  const CliResult with_key = run_cli(evaluate + " --key-file " + key.string() + " --report " + report.string());
  ASSERT_EQ(with_key.exit_code, 0) << with_key.err;
  const fs::path plain_report = scratch_directory() / "plain.json";
  ASSERT_EQ(run_cli("evaluate --verbose 0 --model " + model.string() + " --test " + CITADEL_SOURCE_DATA +
                    " --report " + plain_report.string()).exit_code, 0);
  // The decrypted model is the saved model: identical figures.
  EXPECT_EQ(nlohmann::json::parse(read_file(report))["loss"], nlohmann::json::parse(read_file(plain_report))["loss"]);
  std::string bytes = read_file(sealed);
  bytes[bytes.size() - 20] ^= 0x01;
  std::ofstream(sealed, std::ios::binary) << bytes;
  const CliResult tampered = run_cli(evaluate + " --key-file " + key.string());
  EXPECT_EQ(tampered.exit_code, 1);
  EXPECT_NE(tampered.err.find("decryption failed"), std::string::npos) << tampered.err;
  ::setenv("CITADEL_TEST_PASSPHRASE", "a long test passphrase", 1);
  ASSERT_EQ(run_cli("encrypt " + model.string() + " --passphrase-env CITADEL_TEST_PASSPHRASE --output " +
                    sealed.string()).exit_code, 0);
  EXPECT_EQ(run_cli("info " + sealed.string() + " --passphrase-env CITADEL_TEST_PASSPHRASE").exit_code, 0);
}

TEST(Cli, KilledTrainingResumesToTheSameWeights) {
  const fs::path straight = scratch_directory() / "straight.safetensors", resumed = scratch_directory() / "resumed.safetensors";
  const fs::path checkpoint = scratch_directory() / "run.ckpt";
  fs::remove(checkpoint);
  const std::string run = "train --verbose 0 --epochs 3000 --dropout 0.1 ";
  ASSERT_EQ(run_cli(run + "--save " + straight.string()).exit_code, 0);
  // The same run, killed with SIGKILL as soon as a checkpoint exists.
  std::vector<std::string> words{CITADEL_BINARY, "train", "--verbose", "0", "--epochs", "3000", "--dropout", "0.1",
                                 "--no-save", "--checkpoint", checkpoint.string()};
  std::vector<char*> argv;
  for (auto& word : words) argv.push_back(word.data());
  argv.push_back(nullptr);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 1);
    ::dup2(null, 2);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  for (int i = 0; i < 5000 && !fs::exists(checkpoint); ++i) ::usleep(1000);
  ::usleep(20000);  // let it run on past the first checkpoint
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "the run ended before it was killed";
  ASSERT_TRUE(fs::exists(checkpoint));
  const fs::path info_report = scratch_directory() / "ckpt_info.json";
  const CliResult info = run_cli("info " + checkpoint.string() + " --report " + info_report.string());
  ASSERT_EQ(info.exit_code, 0) << info.err;  // a complete, valid file, whatever the instant of the kill
  const auto training = nlohmann::json::parse(
      nlohmann::json::parse(read_file(info_report))["metadata"]["training"].get<std::string>());
  EXPECT_LT(training["epoch"].get<int>(), 3000);  // the kill came before the end
  EXPECT_GE(training["epoch"].get<int>(), 1);
  const CliResult continued = run_cli(run + "--resume " + checkpoint.string() + " --save " + resumed.string());
  ASSERT_EQ(continued.exit_code, 0) << continued.err;
  // Bit-identical weights: the two model files hold the same tensors.
  const std::string a = read_file(straight), b = read_file(resumed);
  EXPECT_EQ(a.substr(a.size() - 211 * 4), b.substr(b.size() - 211 * 4));
}

TEST(Cli, HelpWorksForEveryCommand) {
  const CliResult top = run_cli("--help");
  EXPECT_EQ(top.exit_code, 0);
  for (const char* command : {"train", "evaluate", "predict", "cv", "info"}) {
    EXPECT_NE(top.out.find(command), std::string::npos);
    const CliResult help = run_cli(std::string(command) + " --help");
    EXPECT_EQ(help.exit_code, 0) << command;
    if (std::string(command) == "info") continue;
    for (const char* option : {"--data", "--label", "--layers", "--loss", "--optimizer", "--epochs", "--seed"})
      EXPECT_NE(help.out.find(option), std::string::npos) << command << " " << option;
  }
  const CliResult train = run_cli("train --help");
  for (const char* option : {"--learning-rate", "--batch-size", "--validation-split", "--verbose", "--report",
                             "--dropout", "--l2", "--early-stopping", "--model-config", "--categorical", "--missing"})
    EXPECT_NE(train.out.find(option), std::string::npos) << option;
}

TEST(Cli, BadUseGetsOneClearLineAndANonZeroExit) {
  struct Case {
    std::string arguments, expected;
  };
  const std::vector<Case> cases{
      {"train --layers 10:rleu,1:sigmoid", "unknown activation 'rleu'; known: linear, relu"},
      {"train --layers ten:relu", "--layers: item 1"},
      {"train --loss hinge", "unknown loss 'hinge'; known:"},
      {"train --optimizer adamax", "unknown optimizer 'adamax'; known:"},
      {"train --epochs 0", "--epochs"},
      {"train --lr-schedule linear", "--lr-schedule 'linear'; use step:FACTOR:EVERY"},
      {"evaluate --test /no/such/test.csv", "/no/such/test.csv: cannot open"},
      {"predict --input " + data_file("bad/good.csv"), "--output is required"},
  };
  for (const auto& c : cases) {
    const CliResult result = run_cli(c.arguments);
    EXPECT_NE(result.exit_code, 0) << c.arguments;
    EXPECT_NE(result.err.find(c.expected), std::string::npos) << c.arguments << " gave: " << result.err;
    if (result.err.rfind("error: ", 0) == 0) {
      EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
    }
  }
}

TEST(Cli, FailedRunLeavesAnExistingReportUntouched) {
  const fs::path report = write_scratch_file("kept.json", "{\"accuracy\": 0.8}\n");
  const CliResult result = run_cli("train --layers 10:nope --report " + report.string());
  EXPECT_NE(result.exit_code, 0);
  EXPECT_EQ(read_file(report), "{\"accuracy\": 0.8}\n");
}

// The library's saved-model path and the command give the same bytes.
TEST(Cli, LibraryPredictRowsMatchesThePredictCommandByteForByte) {
  const fs::path model = scratch_directory() / "rows_model.safetensors", output = scratch_directory() / "rows_out.csv";
  const fs::path input = write_scratch_file(
      "rows_in.csv", "NumTimesPrg,PlGlcConc,BloodP,SkinThick,TwoHourSerIns,BMI,DiPedFunc,Age\n6,148,72,35,0,33.6,0.627,50\n"
                     "1,85,66,29,0,26.6,0.351,31\n8,183,64,0,0,23.3,0.672,32\n");
  ASSERT_EQ(run_cli("train --verbose 0 --epochs 20 --save " + model.string()).exit_code, 0);
  ASSERT_EQ(run_cli("predict --verbose 0 --model " + model.string() + " --input " + input.string() + " --output " +
                    output.string()).exit_code, 0);
  citadel::SavedModel saved = citadel::load_saved_model(model.string());
  const std::string library = saved.predict_rows(citadel::read_csv(input.string())).csv();
  EXPECT_EQ(library, read_file(output));
  EXPECT_EQ(std::count(library.begin(), library.end(), '\n'), 4);
  // --batch-size applies to a saved model too (rows in batches of 1 and 2 here), and
  // changes nothing of what is written; 0 is refused.
  for (const char* batch : {"1", "2"}) {
    const fs::path batched = scratch_directory() / ("rows_out_" + std::string(batch) + ".csv");
    ASSERT_EQ(run_cli("predict --verbose 0 --batch-size " + std::string(batch) + " --model " + model.string() +
                      " --input " + input.string() + " --output " + batched.string()).exit_code, 0);
    EXPECT_EQ(read_file(batched), library) << "--batch-size " << batch;
  }
  EXPECT_NE(run_cli("predict --batch-size 0 --model " + model.string() + " --input " + input.string() +
                    " --output " + output.string()).exit_code, 0);
  // A loaded model serves concurrent callers.
  const citadel::CsvTable table = citadel::read_csv(input.string());
  std::vector<std::string> results(8);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) results[t] = saved.predict_rows(table).csv();
    });
  for (auto& thread : threads) thread.join();
  for (const auto& result : results) EXPECT_EQ(result, library);
}

}  // namespace cli_test
