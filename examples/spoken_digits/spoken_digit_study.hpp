// The spoken-digit task of issue 31: "zero" to "nine" synthesized by Debian's speech engines
// (scripts/setup_speech_data), a model trained on some engines and voices and scored on an
// engine and accents it never heard, on the same in white noise at 20, 10 and 5 dB SNR, and
// on the ten digits Allison recorded for Asterisk. Shared by examples/spoken_digits and its
// CI-sized check (tests/data/spoken_digits_check.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "citadel/citadel.hpp"

namespace citadel::spoken_digits {

struct StudySettings {
  std::string data = "build/speech-data";
  std::string held_out_engine = "flite";    // never heard in training; the other engines train
  std::vector<std::string> unused_engines;  // neither trained on nor scored (festival: flite's kal is its voice)
  // espeak-ng accents never heard in training (when espeak-ng trains).
  std::vector<std::string> held_out_accents = {"en-gb-scotland", "en-029"};
  std::string features = "log_mel";  // the front end (AudioPreprocessing): mfcc or log_mel
  int64_t sample_rate = 8000;        // telephone band: Asterisk's digits are 8 kHz recordings
  int64_t mel_bins = 40, mfcc_count = 20;
  double clip_seconds = 1.0;
  int augmented_copies = 3;     // per training clip: speed 0.85-1.15, shift, gain, noise at 5-30 dB
  double noisy_share = 0.7;     // of the augmented copies, those with noise
  int64_t max_train_clips = 0;  // 0: all (the CI-sized check keeps a few)
  int64_t filters = 64;
  int epochs = 25, patience = 6;
  int64_t batch_size = 32;
  float learning_rate = 2e-3f;
  float dropout = 0.3f;
  uint64_t seed = 7;
  int verbose = 2;
};

struct Score {
  std::string name;  // which test set
  int64_t clips = 0;
  double accuracy = 0;
};

struct StudyResult {
  std::vector<std::string> training_engines;
  int64_t training_clips = 0;          // before augmentation
  std::vector<Score> scores;           // unseen engine (clean, 20/10/5 dB), unseen accents, Asterisk
  std::vector<Score> unseen_voices;    // the unseen engine's clean clips, voice by voice
  ClassificationReport unseen_engine;  // per digit, on the unseen engine's clean clips
  History history;
  double train_seconds = 0;
  int64_t parameters = 0;
  std::string report_json;  // for the HTML page (report::html_page)
};

// IoError naming the folder when the data is absent (the caller says to run the script).
StudyResult run_study(const StudySettings& settings);

}  // namespace citadel::spoken_digits
