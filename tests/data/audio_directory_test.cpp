// A folder of class folders read as Keras reads one: sorted class names, labels by folder,
// files at any depth in sorted order, other files ignored, every file resampled to one rate
// and padded or cut to one length; bad folders and files refused naming them.
#include "citadel/data/audio_directory.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <numbers>
#include <fstream>
#include <unistd.h>
#include <string>
#include <vector>

#include "citadel/core/error.hpp"
#include "wav_writer.hpp"

namespace audio_directory_test {

using namespace citadel;
using citadel::testkit::write_wav;
namespace fs = std::filesystem;

namespace {

struct Folder {
  fs::path root = fs::path(::testing::TempDir()) / ("citadel_audio_dir_" + std::to_string(::getpid()));
  Folder() { fs::remove_all(root); }
  ~Folder() { fs::remove_all(root); }
};

}  // namespace

TEST(AudioDirectory, ReadsClassFoldersAsKerasDoes) {
  Folder f;
  write_wav(f.root / "yes" / "b.wav", {16384, 16384, 16384}, 16000);
  write_wav(f.root / "yes" / "a.WAV", {-16384}, 16000);
  write_wav(f.root / "yes" / "deeper" / "c.wav", {8192, 8192}, 16000);
  write_wav(f.root / "no" / "z.wav", {1000, 2000, 3000, 4000, 5000}, 16000);
  std::ofstream(f.root / "no" / "notes.txt") << "not audio";
  std::ofstream(f.root / "README") << "a file beside the class folders is not a class";
  const AudioDirectory set = load_audio_directory(f.root.string());
  EXPECT_EQ(set.class_names, (std::vector<std::string>{"no", "yes"}));
  ASSERT_EQ(set.paths.size(), 4u);
  EXPECT_EQ(fs::path(set.paths[0]).filename(), "z.wav");
  EXPECT_EQ(fs::path(set.paths[1]).filename(), "a.WAV");  // sorted paths: "a.WAV" < "b.wav" < "deeper/c.wav"
  EXPECT_EQ(fs::path(set.paths[2]).filename(), "b.wav");
  EXPECT_EQ(fs::path(set.paths[3]).filename(), "c.wav");
  EXPECT_EQ(set.x.shape(), (Shape{4, 5, 1}));  // padded to the longest file
  EXPECT_EQ(std::vector<float>(set.y.data(), set.y.data() + 4), (std::vector<float>{0, 1, 1, 1}));
  EXPECT_FLOAT_EQ(set.x[4], 5000.0f / 32768.0f);
  EXPECT_FLOAT_EQ(set.x[5], -0.5f);
  EXPECT_EQ(set.x[6], 0.0f);  // padding
  // A fixed length cuts the longer files.
  const AudioDirectory cut = load_audio_directory(f.root.string(), {.output_sequence_length = 2});
  EXPECT_EQ(cut.x.shape(), (Shape{4, 2, 1}));
  EXPECT_FLOAT_EQ(cut.x[1], 2000.0f / 32768.0f);
}

TEST(AudioDirectory, ResamplesEveryFileToOneRate) {
  Folder f;
  std::vector<int16_t> tone(8000);  // 1 s of 440 Hz at 8 kHz
  for (size_t i = 0; i < tone.size(); ++i) tone[i] = int16_t(16000 * std::sin(2 * std::numbers::pi * 440 * double(i) / 8000));
  write_wav(f.root / "a" / "tone.wav", tone, 8000);
  const AudioDirectory set = load_audio_directory(f.root.string(), {.sampling_rate = 16000});
  ASSERT_EQ(set.x.shape(), (Shape{1, 16000, 1}));
  for (int64_t i = 1000; i < 15000; i += 997)  // the tone at 16 kHz, away from the edges
    EXPECT_NEAR(set.x[i], 16000.0 / 32768.0 * std::sin(2 * std::numbers::pi * 440 * double(i) / 16000), 5e-3) << i;
}

TEST(AudioDirectory, BadFoldersAndFilesAreRefusedNamingThem) {
  Folder f;
  auto refused = [&](const std::string& says, const AudioDirectoryOptions& options = {}) {
    try {
      load_audio_directory(f.root.string(), options);
      ADD_FAILURE() << "accepted; expected '" << says << "'";
    } catch (const IoError& e) {
      EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
    }
  };
  refused("not a folder");
  fs::create_directories(f.root);
  refused("no class folders");
  fs::create_directories(f.root / "empty");
  refused("no .wav files");
  std::ofstream(f.root / "empty" / "broken.wav") << "RIFF and nothing else";
  refused("broken.wav: not a WAV file");
  fs::remove(f.root / "empty" / "broken.wav");
  write_wav(f.root / "empty" / "one.wav", std::vector<int16_t>(100, 1), 16000);
  write_wav(f.root / "empty" / "two.wav", std::vector<int16_t>(100, 1), 16000);
  refused("more than 1 WAV files", {.max_files = 1});
  refused("more than 150 samples", {.max_total_samples = 150});
}

}  // namespace audio_directory_test
