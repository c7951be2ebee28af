// The spoken-digit task of issue 31: train on some of Debian's speech engines, score on an
// engine and accents never heard, in noise, and on Asterisk's recorded digits; print the
// figures and write an HTML report. Data: scripts/setup_speech_data (build/speech-data).
// Seeded: a rerun prints the same figures.
//   build/examples/spoken_digits [--data DIR] [--report FILE.html] [--held-out-engine flite|festival|espeak-ng]
//       [--features log_mel|mfcc] [--epochs N] [--augmented-copies N] [--noisy-share X] [--filters N]
//       [--learning-rate X] [--seed N] [--unused-engines ENGINE]
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>

#include "spoken_digit_study.hpp"

using namespace citadel;
using namespace citadel::spoken_digits;

int main(int argc, char** argv) try {
  StudySettings s;
  std::string report_path;
  const std::map<std::string, std::function<void(const std::string&)>> options = {
      {"--data", [&](const std::string& v) { s.data = v; }},
      {"--report", [&](const std::string& v) { report_path = v; }},
      {"--held-out-engine", [&](const std::string& v) { s.held_out_engine = v; }},
      {"--features", [&](const std::string& v) { s.features = v; }},
      {"--epochs", [&](const std::string& v) { s.epochs = std::stoi(v); }},
      {"--augmented-copies", [&](const std::string& v) { s.augmented_copies = std::stoi(v); }},
      {"--filters", [&](const std::string& v) { s.filters = std::stoll(v); }},
      {"--noisy-share", [&](const std::string& v) { s.noisy_share = std::stod(v); }},
      {"--unused-engines", [&](const std::string& v) { s.unused_engines = {v}; }},
      {"--learning-rate", [&](const std::string& v) { s.learning_rate = std::stof(v); }},
      {"--sample-rate", [&](const std::string& v) { s.sample_rate = std::stoll(v); }},
      {"--seed", [&](const std::string& v) { s.seed = std::stoull(v); }},
      {"--verbose", [&](const std::string& v) { s.verbose = std::stoi(v); }},
  };
  for (int i = 1; i < argc; i += 2) {
    const auto option = options.find(argv[i]);
    CITADEL_CHECK(option != options.end(), ValueError, "unknown option ", argv[i]);
    CITADEL_CHECK(i + 1 < argc, ValueError, argv[i], " needs a value");
    option->second(argv[i + 1]);
  }
  CITADEL_CHECK(s.held_out_engine == "flite" || s.held_out_engine == "festival" || s.held_out_engine == "espeak-ng",
                ValueError, "--held-out-engine: flite, festival or espeak-ng");
  if (!std::filesystem::exists(s.data + "/manifest.csv")) {
    std::fprintf(stderr, "%s/manifest.csv is absent: run scripts/setup_speech_data first\n", s.data.c_str());
    return 77;
  }
  if (report_path.empty()) report_path = s.data + "/spoken_digits_" + s.held_out_engine + ".html";
  const StudyResult result = run_study(s);
  std::string engines;
  for (const std::string& e : result.training_engines) engines += (engines.empty() ? "" : " + ") + e;
  std::printf("Trained on %s (%lld clips, %d augmented copies each; %s, %lld parameters) in %.1f s\n", engines.c_str(),
              static_cast<long long>(result.training_clips), s.augmented_copies, s.features.c_str(),
              static_cast<long long>(result.parameters), result.train_seconds);
  for (const Score& score : result.scores)
    std::printf("  %-58s %5lld clips  accuracy %.4f\n", score.name.c_str(), static_cast<long long>(score.clips),
                score.accuracy);
  std::printf("  unseen engine, voice by voice:");
  for (const Score& voice : result.unseen_voices) std::printf(" %s %.3f", voice.name.c_str(), voice.accuracy);
  std::printf("\n");
  std::ofstream page(report_path, std::ios::binary);
  page << report::html_page({{.name = "spoken digits, " + s.held_out_engine + " unseen", .json = result.report_json}},
                            {.title = "Spoken digits: trained on " + engines + ", tested on " + s.held_out_engine});
  CITADEL_CHECK(page.flush(), IoError, report_path, ": cannot write the report");
  std::printf("report: %s\n", report_path.c_str());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 1;
}
