// CI-sized runs of the real text tasks (examples/text_tasks) when scripts/setup_text_data
// has put the data in build/text-data; exits 77 (CTest's skip) when it has not. A few epochs
// on part of the training rows: the figures must be clearly above chance, not at the full
// runs' level (docs/PERFORMANCE.md, "Text tasks", has those).
//   text_tasks_check trec6|sms DATA_DIR
#include <cstdio>
#include <filesystem>
#include <string>

#include "citadel/data/split.hpp"
#include "text_task_models.hpp"

using namespace citadel;
using namespace citadel::text_tasks;

namespace {

int failures = 0;

void expect_at_least(const ModelResult& result, double accuracy, double last_class_f1 = 0) {
  std::printf("%s\n", summary_line(result).c_str());
  if (result.test.accuracy < accuracy) {
    std::printf("FAIL: %s's test accuracy %.4f is below %.4f\n", result.name.c_str(), result.test.accuracy, accuracy);
    ++failures;
  }
  if (result.test.classes.back().f1 < last_class_f1) {
    std::printf("FAIL: %s's F1 on %s %.4f is below %.4f\n", result.name.c_str(),
                result.test.classes.back().name.c_str(), result.test.classes.back().f1, last_class_f1);
    ++failures;
  }
}

// Small and quick: the networks see part of the training rows for a few epochs.
TrainingSettings small_settings() {
  return {.epochs = 3,
          .patience = 3,
          .batch_size = 32,
          .learning_rate = 5e-3f,
          .max_tokens = 3000,
          .sequence_length = 24,
          .embedding_dim = 32,
          .units = 16,
          .baseline_epochs = 8,
          .baseline_features = 2000};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: text_tasks_check trec6|sms DATA_DIR\n");
    return 2;
  }
  const std::string task = argv[1], directory = argv[2];
  const std::string file = directory + (task == "trec6" ? "/trec.csv" : "/sms-spam.csv");
  if (!std::filesystem::exists(file)) {
    std::printf("%s is absent (scripts/setup_text_data fetches it): skipped\n", file.c_str());
    return 77;
  }
  const TrainingSettings settings = small_settings();
  if (task == "trec6") {
    const Trec6Data data = load_trec6_csv(file);
    if (data.train.size() != kTrec6TrainRows || data.test.size() != 500) {
      std::printf("FAIL: %lld training and %lld test rows, expected 5452 and 500\n",
                  static_cast<long long>(data.train.size()), static_cast<long long>(data.test.size()));
      return 1;
    }
    // Chance: the largest test class (DESC) is 138 of 500 rows, 27.6 %.
    expect_at_least(tfidf_logistic(data.train, data.test, settings), 0.75);
    expect_at_least(bilstm(data.train.slice(0, 2000), data.test, settings), 0.50);
    expect_at_least(transformer(data.train.slice(0, 2000), data.test, settings), 0.50);
  } else {
    SmsSpamRepairs repairs;
    const TextDataset all = load_sms_spam_csv(file, &repairs);
    if (all.size() != kSmsSpamMessages || repairs.rows_repaired != 8 || repairs.lines_split != 737) {
      std::printf("FAIL: %lld messages (%lld fields repaired, %lld lines split), expected 5574 (8, 737)\n",
                  static_cast<long long>(all.size()), static_cast<long long>(repairs.rows_repaired),
                  static_cast<long long>(repairs.lines_split));
      return 1;
    }
    const SplitIndices split = train_test_split(all.label_tensor(), 0.2, settings.seed);
    const TextDataset train = all.take(split.train), test = all.take(split.test);
    // Chance: ham is 86.6 % of the messages; spam F1 is what a guess of "ham" gets 0 on.
    expect_at_least(tfidf_logistic(train, test, settings), 0.95, 0.80);
    expect_at_least(bilstm(train.slice(0, 2000), test, settings), 0.90, 0.50);
  }
  return failures == 0 ? 0 : 1;
}
