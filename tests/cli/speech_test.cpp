// `citadel train --data FOLDER` on class folders of WAV files, and a saved speech model's
// evaluate and predict on raw WAVs: tones of three pitches (one class recorded at 8 kHz, the
// others at 16 kHz), learned and predicted on fresh files; the front end the model file
// saves reproduces the CLI's answers through the library; bad folders are refused by name.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <random>
#include <sstream>

#include "citadel/io/saved_model.hpp"
#include "cli_runner.hpp"
#include "tone_wavs.hpp"

namespace speech_test {

using citadel::testkit::kTones;
using citadel::testkit::run_cli;
using citadel::testkit::tone;
using citadel::testkit::write_wav;
namespace fs = std::filesystem;

namespace {

// ROOT/<class>/<i>.wav in the scratch folder, `per_class` files a class.
fs::path tone_folder(const std::string& name, int per_class, uint32_t seed) {
  return citadel::testkit::tone_folder(citadel::testkit::scratch_directory() / name, per_class, seed);
}

struct TrainedSpeech {
  fs::path model;
  citadel::testkit::CliResult result;
};

const TrainedSpeech& trained_speech_model() {
  static const TrainedSpeech trained = [] {
    const fs::path data = tone_folder("tones", 12, 1);
    const fs::path model = citadel::testkit::scratch_directory() / "tones.safetensors";
    return TrainedSpeech{model, run_cli("train --data " + data.string() +
                                        " --audio-features log_mel --mel-bins 16 --clip-seconds 0.25 "
                                        "--layers conv1d:8:3:relu,globalmaxpool1d,3:softmax --epochs 40 "
                                        "--learning-rate 0.02 --verbose 1 --save " +
                                        model.string())};
  }();
  return trained;
}

}  // namespace

TEST(SpeechCli, TrainsOnAFolderOfWavsAndPredictsFreshFiles) {
  const auto& [model, trained] = trained_speech_model();
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  EXPECT_NE(trained.out.find("3 classes"), std::string::npos) << trained.out;

  // The file records the front end, and the model reads what it makes.
  citadel::SavedModel saved = citadel::load_saved_model(model.string());
  ASSERT_TRUE(saved.audio);
  EXPECT_EQ(saved.audio->options().features, "log_mel");
  EXPECT_EQ(saved.audio->options().clip_samples, 4000);
  EXPECT_EQ(saved.model.input_shape(), (citadel::Shape{23, 16}));  // 1 + (4000 − 400) / 160 frames
  EXPECT_EQ(saved.schema.classes, (std::vector<std::string>{"high", "low", "mid"}));

  const fs::path fresh = tone_folder("fresh", 10, 2);
  const fs::path output = citadel::testkit::scratch_directory() / "speech_predictions.csv";
  const auto predicted =
      run_cli("predict --model " + model.string() + " --input " + fresh.string() + " --output " + output.string());
  ASSERT_EQ(predicted.exit_code, 0) << predicted.err;
  std::istringstream lines(citadel::testkit::read_file(output));
  std::string line;
  std::getline(lines, line);
  EXPECT_EQ(line, "file,predicted,p_high,p_low,p_mid");
  int rows = 0, right = 0;
  while (std::getline(lines, line)) {
    const size_t first = line.find(','), second = line.find(',', first + 1);
    const std::string file = line.substr(0, first), label = line.substr(first + 1, second - first - 1);
    right += fs::path(file).parent_path().filename() == label;
    // The library, reading the file through the saved front end, gives the CLI's probabilities.
    if (rows % 7 == 0) {
      const citadel::Tensor p = saved.model.predict(saved.audio->file_features(file));
      std::istringstream fields(line.substr(second + 1));
      std::string field;
      for (int c = 0; c < 3 && std::getline(fields, field, ','); ++c) EXPECT_NEAR(std::stod(field), p[c], 2e-6) << file;
    }
    ++rows;
  }
  ASSERT_EQ(rows, 30);
  EXPECT_GE(right, 28) << "of 30 fresh files predicted right";

  // One file, and evaluate on the labelled folder.
  const auto one = run_cli("predict --model " + model.string() + " --input " + (fresh / "low" / "3.wav").string() +
                           " --output " + output.string() + " --verbose 0");
  ASSERT_EQ(one.exit_code, 0) << one.err;
  EXPECT_NE(citadel::testkit::read_file(output).find("low/3.wav,low,"), std::string::npos);
  const auto evaluated = run_cli("evaluate --model " + model.string() + " --data " + fresh.string());
  ASSERT_EQ(evaluated.exit_code, 0) << evaluated.err;
  EXPECT_NE(evaluated.out.find("(30 rows)"), std::string::npos) << evaluated.out;

  // CSV rows cannot feed it (serving it: speech_serve_test).
  const auto csv = citadel::testkit::write_scratch_file("rows.csv", "a,b\n1,2\n");
  const auto csv_rows = run_cli("predict --model " + model.string() + " --input " + csv.string() + " --output " +
                                output.string() + " --verbose 0");
  EXPECT_NE(csv_rows.exit_code, 0);
  EXPECT_NE(csv_rows.err.find("rows.csv"), std::string::npos) << csv_rows.err;
}

// ONNX has no WAV reader or mel filter bank up to opset 17: the export is refused unless
// --no-preprocessing asks for the graph of feature frames, which carries the front end.
TEST(SpeechCli, OnnxExportOfASpeechModelAsksForTheFeatureGraphAndCarriesTheFrontEnd) {
  const auto& [model, trained] = trained_speech_model();
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  const auto onnx = citadel::testkit::scratch_directory() / "speech.onnx";
  const auto refused = run_cli("export " + model.string() + " --format onnx --output " + onnx.string());
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("reads WAV files through its audio front end"), std::string::npos) << refused.err;
  EXPECT_FALSE(std::filesystem::exists(onnx));
  const auto exported =
      run_cli("export " + model.string() + " --format onnx --no-preprocessing --output " + onnx.string());
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  EXPECT_NE(citadel::testkit::read_file(onnx).find("citadel.audio_preprocessing"), std::string::npos);
}

TEST(SpeechCli, BadFoldersAreRefusedByName) {
  const fs::path root = citadel::testkit::scratch_directory() / "bad_speech";
  std::mt19937 random(3);
  auto refused = [&](const fs::path& data, const std::string& flags, const std::string& expected) {
    const auto result =
        run_cli("train --data " + data.string() + " --clip-seconds 0.25 --epochs 1 --verbose 0 " + flags);
    EXPECT_NE(result.exit_code, 0) << flags;
    EXPECT_NE(result.err.find(expected), std::string::npos) << data << " " << flags << ": " << result.err;
  };
  write_wav(root / "one" / "only" / "a.wav", tone(kTones[0], random), 16000);
  refused(root / "one", "", "one class folder ('only')");
  write_wav(root / "empty" / "a" / "x.wav", tone(kTones[0], random), 16000);
  fs::create_directories(root / "empty" / "b");
  std::ofstream(root / "empty" / "b" / "notes.txt") << "not audio";
  refused(root / "empty", "", (root / "empty" / "b").string() + ": a class folder without .wav files");
  write_wav(root / "broken" / "a" / "x.wav", tone(kTones[0], random), 16000);
  fs::create_directories(root / "broken" / "b");
  std::ofstream(root / "broken" / "b" / "y.wav") << "RIFF and nothing else";
  refused(root / "broken", "", (root / "broken" / "b" / "y.wav").string());
  const fs::path good = tone_folder("good_speech", 3, 4);
  refused(good, "--scale standard", "--scale standard");
  refused(good, "--text message", "--text is for CSV data");
  refused(good, "--loss mean_squared_error", "use a cross-entropy loss");
  refused(good, "--layers conv1d:8", "must be conv1d:FILTERS:KERNEL");
  refused(good, "--clip-seconds 0.01", "0.01");
  refused(good, "--audio-augment 2 --validation-split 0.2", "--audio-augment 2: fit would validate on copies");

  // A 1-D global pooling first reads the (frames, coefficients) sequence, not its flattening.
  const auto pooled = run_cli("train --data " + good.string() +
                              " --clip-seconds 0.25 --epochs 1 --layers globalavgpool1d,3:softmax --no-save --verbose 0");
  EXPECT_EQ(pooled.exit_code, 0) << pooled.err;

  // Augmented copies join the training rows only: of 3 classes × 3 files each class keeps
  // round(3 × 0.2) = 1 for the report; the 6 others train, each with 2 copies.
  const auto augmented = run_cli("train --data " + good.string() +
                                 " --clip-seconds 0.25 --epochs 1 --audio-augment 2 --no-save --verbose 1");
  ASSERT_EQ(augmented.exit_code, 0) << augmented.err;
  EXPECT_NE(augmented.out.find("18 training rows, 3 held out"), std::string::npos) << augmented.out;
}

}  // namespace speech_test
