// A CI-sized run of the spoken-digit task (examples/spoken_digits) when scripts/
// setup_speech_data has put the data in build/speech-data; exits 77 (CTest's skip) when it
// has not. A few hundred clips for a few epochs: the unseen engine must be clearly above
// chance (10 %), not at the full run's level (docs/PERFORMANCE.md, "Spoken digits").
//   spoken_digits_check DATA_DIR
#include <cstdio>
#include <filesystem>

#include "spoken_digit_study.hpp"

using namespace citadel::spoken_digits;

int main(int argc, char** argv) try {
  if (argc != 2) return 2;
  StudySettings s;
  s.data = argv[1];
  if (!std::filesystem::exists(s.data + "/manifest.csv")) {
    std::printf("%s/manifest.csv is absent: run scripts/setup_speech_data (skipped)\n", s.data.c_str());
    return 77;
  }
  s.max_train_clips = 500;
  s.augmented_copies = 1;
  s.filters = 32;
  s.epochs = 8;
  s.verbose = 0;
  const StudyResult result = run_study(s);
  for (const Score& score : result.scores)
    std::printf("%-58s %5lld clips  accuracy %.4f\n", score.name.c_str(), static_cast<long long>(score.clips),
                score.accuracy);
  if (result.scores.size() != 6 || result.scores[0].accuracy < 0.3) {
    std::printf("FAIL: the unseen engine's accuracy is below 0.3 (chance: 0.1)\n");
    return 1;
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 1;
}
