// The backdoor study for docs/SECURITY.md ("Poisoned data and backdoors"): Fashion-MNIST MLPs
// trained with and without a BadNets backdoor (3×3 patch, all-to-one, 1 % of the training rows
// poisoned), and what each provenance check makes of them. Modes, one per check:
//
//   backdoor_study scan [models per kind = 10] [epochs = 3] [clean rows = 1000] [steps = 300]
//     Neural Cleanse (citadel/provenance/neural_cleanse.hpp) on every model: flagged labels,
//     the anomaly index of the target label, time per scan.
//
//   backdoor_study inspect [runs per kind = 10] [epochs = 3] [core % = 75] [ridge ×1e4 = 1000]
//                          [row threshold ×10 = 150] [whiten = 1] [Ashman's D ×10 = 36] [first seed = 1000]
//     Poison inspection (citadel/provenance/poison_inspection.hpp) of each model's training rows:
//     per poisoned run the recall of the poisoned rows, the false positives within the target
//     class, the classes flagged, and a model retrained without the flagged rows (clean accuracy
//     and attack success before and after); per clean run the classes flagged.
//
// Other checks (STRIP) add their own mode over the same models.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "citadel/core/random.hpp"
#include "citadel/data/idx.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/layers/flatten.hpp"
#include "citadel/model/sequential.hpp"
#include "citadel/optim/optimizer.hpp"
#include "citadel/provenance/backdoor_trigger.hpp"
#include "citadel/provenance/neural_cleanse.hpp"
#include "citadel/provenance/poison_inspection.hpp"

using namespace citadel;

namespace {

constexpr PatchTrigger kTrigger{.size = 3};

struct Fashion {
  Tensor train_x, train_y, test_x, test_y;
};

Fashion load() {
  ImageDataset images = load_fashion_mnist();
  for (Tensor* x : {&images.x_train, &images.x_test})
    for (int64_t i = 0; i < x->numel(); ++i) (*x)[i] /= 255.0f;
  return {images.x_train, images.y_train, images.x_test, images.y_test};
}

int64_t argmax_row(const Tensor& out, int64_t r) {
  const int64_t k = out.shape(1);
  return std::max_element(out.data() + r * k, out.data() + (r + 1) * k) - (out.data() + r * k);
}

struct Trained {
  Sequential model;
  double accuracy = 0, backdoor_success = 0;  // clean test accuracy; triggered non-target rows sent to target
};

// Trains on rows x, y (already poisoned or not) and measures on the test split.
Trained train_on(const Fashion& data, ConstTensorView x, ConstTensorView y, int64_t target, int epochs, uint64_t seed) {
  random::set_seed(seed);
  Trained t;
  t.model.add(Flatten({.input_shape = {28, 28, 1}}));
  t.model.add(Dense(128, {.activation = "relu"}));
  t.model.add(Dense(10, {.activation = "softmax"}));
  t.model.compile({.loss = "sparse_categorical_crossentropy", .optimizer = Adam{.learning_rate = 1e-3f}});
  t.model.fit(x, y, {.epochs = epochs, .batch_size = 128, .verbose = 0, .seed = seed});
  const Tensor out = t.model.predict(data.test_x, {.batch_size = 512});
  int64_t right = 0;
  for (int64_t r = 0; r < out.shape(0); ++r) right += argmax_row(out, r) == int64_t(data.test_y[r]);
  t.accuracy = double(right) / double(out.shape(0));
  Tensor stamped = data.test_x;
  stamp_trigger(stamped, kTrigger);
  const Tensor triggered = t.model.predict(stamped, {.batch_size = 512});
  int64_t sent = 0, others = 0;
  for (int64_t r = 0; r < triggered.shape(0); ++r)
    if (int64_t(data.test_y[r]) != target) ++others, sent += argmax_row(triggered, r) == target;
  t.backdoor_success = double(sent) / double(std::max<int64_t>(others, 1));
  return t;
}

Trained train(const Fashion& data, bool backdoored, int64_t target, int epochs, uint64_t seed) {
  Tensor x = data.train_x, y = data.train_y;
  if (backdoored) poison_with_trigger(x, y, kTrigger, target, 0.01, seed);
  return train_on(data, x, y, target, epochs, seed);
}

// The rows of x, y not in `dropped` (ascending).
void drop_rows(const Tensor& x, const Tensor& y, const std::vector<int64_t>& dropped, Tensor& kept_x, Tensor& kept_y) {
  const int64_t n = x.shape(0), width = x.numel() / n, kept = n - int64_t(dropped.size());
  Shape shape = x.shape();
  shape[0] = kept;
  kept_x = Tensor(shape), kept_y = Tensor(Shape{kept});
  size_t next = 0;
  int64_t out = 0;
  for (int64_t r = 0; r < n; ++r) {
    if (next < dropped.size() && dropped[next] == r) {
      ++next;
      continue;
    }
    std::copy_n(x.data() + r * width, width, kept_x.data() + out * width);
    kept_y[out++] = y[r];
  }
}

int inspect(int runs, int epochs, const PoisonInspectionOptions& settings, uint64_t first_seed) {
  const Fashion data = load();
  std::printf(
      "kind        target  accuracy  backdoor  flagged classes  recall    target FP  rows flagged  seconds  "
      "retrained: accuracy  backdoor\n");
  int found = 0, met_goal = 0, false_alarms = 0;
  for (int kind = 0; kind < 2; ++kind) {
    const bool backdoored = kind == 0;
    for (int m = 0; m < runs; ++m) {
      const int64_t target = m % 10;
      const uint64_t seed = first_seed + uint64_t(m) * 7 + uint64_t(kind);
      Tensor x = data.train_x, y = data.train_y;
      std::vector<int64_t> poisoned;
      if (backdoored) poisoned = poison_with_trigger(x, y, kTrigger, target, 0.01, seed);
      Trained t = train_on(data, x, y, target, epochs, seed);
      const auto start = std::chrono::steady_clock::now();
      PoisonInspectionOptions options = settings;
      options.seed = seed;
      const PoisonInspection result = inspect_poison(t.model, x, y, options);
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const std::vector<int64_t> flagged = result.flagged_rows();
      std::string classes;
      for (int64_t label : result.flagged_classes()) classes += (classes.empty() ? "" : ",") + std::to_string(label);
      int64_t caught = 0, target_clean = 0, target_false = 0;
      std::vector<uint8_t> is_poisoned(size_t(x.shape(0)), 0);
      for (int64_t r : poisoned) is_poisoned[size_t(r)] = 1;
      for (int64_t r = 0; r < x.shape(0); ++r)
        if (int64_t(y[r]) == target && !is_poisoned[size_t(r)])
          ++target_clean, target_false += result.flagged[size_t(r)];
      int64_t candidates = 0, target_candidates = 0;
      for (int64_t r : poisoned)
        caught += result.flagged[size_t(r)], candidates += result.score[size_t(r)] > options.row_threshold;
      for (int64_t r = 0; r < x.shape(0); ++r)
        target_candidates +=
            int64_t(y[r]) == target && !is_poisoned[size_t(r)] && result.score[size_t(r)] > options.row_threshold;
      if (backdoored)
        std::printf("  candidates: %lld of %zu poisoned rows, %lld of %lld clean rows of the target\n",
                    static_cast<long long>(candidates), poisoned.size(), static_cast<long long>(target_candidates),
                    static_cast<long long>(target_clean));
      const double recall = poisoned.empty() ? 0 : double(caught) / double(poisoned.size());
      const double false_share = double(target_false) / double(std::max<int64_t>(target_clean, 1));
      char retrained[64] = "-";
      if (!flagged.empty()) {
        Tensor kept_x, kept_y;
        drop_rows(x, y, flagged, kept_x, kept_y);
        const Trained again = train_on(data, kept_x, kept_y, target, epochs, seed);
        std::snprintf(retrained, sizeof retrained, "%.4f               %.4f", again.accuracy, again.backdoor_success);
      }
      if (backdoored) {
        const std::vector<int64_t> labels = result.flagged_classes();
        found += std::find(labels.begin(), labels.end(), target) != labels.end();
        met_goal += recall >= 0.9 && false_share <= 0.05;
      } else {
        false_alarms += !classes.empty();
      }
      std::printf("%-11s %-7lld %-9.4f %-9.4f %-16s %-9.4f %-10.4f %-13zu %-8.1f %s\n",
                  backdoored ? "backdoored" : "clean", static_cast<long long>(target), t.accuracy, t.backdoor_success,
                  classes.empty() ? "none" : classes.c_str(), recall, false_share, flagged.size(), seconds, retrained);
      for (const ClassInspection& c : result.classes)
        std::printf(
            "  class %lld: skew %.2f, candidates %lld, 2-means share %.4f D %.2f, disagreement %.3f vs %.3f "
            "z %.1f%s\n",
            static_cast<long long>(c.label), c.skewness, static_cast<long long>(c.candidates), c.cluster_share,
            c.ashman_d, c.candidate_disagreement, c.typical_disagreement, c.disagreement_z,
            c.flagged ? " FLAGGED" : "");
      std::fflush(stdout);
    }
  }
  std::printf(
      "poisoned runs whose target was flagged: %d of %d; meeting recall >= 90 %% at <= 5 %% target FP: %d of "
      "%d; clean runs with any class flagged: %d of %d\n",
      found, runs, met_goal, runs, false_alarms, runs);
  return 0;
}

int scan(int models, int epochs, int64_t rows, int64_t steps, double initial_lambda, int64_t early_stop,
         double threshold) {
  const Fashion data = load();
  // The scan's clean rows: the first of the test split, never trained on.
  Tensor clean(Shape{rows, 28, 28, 1});
  std::copy_n(data.test_x.data(), clean.numel(), clean.data());
  std::printf("kind        target  accuracy  backdoor  flagged        target index  max index  seconds\n");
  int detected = 0, false_alarms = 0, smallest_target = 0;
  double total_seconds = 0, slowest = 0;
  std::vector<NeuralCleanseResult> backdoored_scans, clean_scans;  // for the judgement against references
  std::vector<int64_t> targets;
  for (int kind = 0; kind < 2; ++kind) {
    const bool backdoored = kind == 0;
    for (int m = 0; m < models; ++m) {
      const int64_t target = m % 10;
      const uint64_t seed = 1000 + uint64_t(m) * 7 + uint64_t(kind);
      Trained t = train(data, backdoored, target, epochs, seed);
      const NeuralCleanseResult result = neural_cleanse(t.model, clean,
                                                        {.steps = steps,
                                                         .initial_lambda = initial_lambda,
                                                         .success_threshold = threshold,
                                                         .early_stop_checks = early_stop,
                                                         .seed = seed});
      (backdoored ? backdoored_scans : clean_scans).push_back(result);
      if (backdoored) targets.push_back(target);
      double max_index = 0;
      std::string flagged;
      for (const ReversedTrigger& label : result.labels)
        if (label.l1_norm < result.median_l1) max_index = std::max(max_index, label.anomaly_index);
      for (int64_t label : result.flagged) {
        if (!flagged.empty()) flagged += ',';
        flagged += std::to_string(label);
      }
      const bool target_flagged =
          std::find(result.flagged.begin(), result.flagged.end(), target) != result.flagged.end();
      if (backdoored) detected += target_flagged;
      // Whether the target's mask is the smallest: what the anomaly index should turn into a flag.
      bool smallest = true;
      for (const ReversedTrigger& label : result.labels)
        smallest = smallest && (label.label == target || label.l1_norm > result.labels[size_t(target)].l1_norm);
      if (backdoored)
        smallest_target += smallest;
      else
        false_alarms += !result.flagged.empty();
      total_seconds += result.seconds, slowest = std::max(slowest, result.seconds);
      char success[16] = "-";
      if (backdoored) std::snprintf(success, sizeof success, "%.4f", t.backdoor_success);
      std::printf("%-11s %-7lld %-9.4f %-9s %-14s %-13.2f %-10.2f %.1f\n", backdoored ? "backdoored" : "clean",
                  static_cast<long long>(target), t.accuracy, success, flagged.empty() ? "none" : flagged.c_str(),
                  result.labels[size_t(target)].anomaly_index, max_index, result.seconds);
      std::printf("  L1 per label:");
      for (const ReversedTrigger& label : result.labels)
        std::printf(" %.1f%s(%lld)", label.l1_norm, label.reached ? "" : "!", static_cast<long long>(label.steps));
      std::printf("\n");
      std::fflush(stdout);
    }
  }
  std::printf("backdoored models whose target was flagged: %d of %d; clean models with any flag: %d of %d\n", detected,
              models, false_alarms, models);
  std::printf("backdoored models whose target had the smallest mask: %d of %d\n", smallest_target, models);
  std::printf("scan time: mean %.1f s, slowest %.1f s (%lld clean rows, %lld steps per label)\n",
              total_seconds / (2.0 * models), slowest, static_cast<long long>(rows), static_cast<long long>(steps));

  // Each label judged against its own norm in clean reference models (judge_against_references):
  // the first kReferences clean models other than the one judged.
  constexpr size_t kReferences = 3;
  auto references_for = [&](const NeuralCleanseResult* self) {
    std::vector<NeuralCleanseResult> chosen;
    for (const NeuralCleanseResult& r : clean_scans)
      if (&r != self && chosen.size() < kReferences) chosen.push_back(r);
    return chosen;
  };
  int detected_ref = 0, false_ref = 0;
  for (size_t m = 0; m < backdoored_scans.size(); ++m) {
    NeuralCleanseResult judged = backdoored_scans[m];
    judge_against_references(judged, references_for(nullptr));
    detected_ref += std::find(judged.flagged.begin(), judged.flagged.end(), targets[m]) != judged.flagged.end();
    std::printf("with references: backdoored target %lld: ratio %.3f index %.2f%s\n",
                static_cast<long long>(targets[m]), judged.labels[size_t(targets[m])].relative_l1,
                judged.labels[size_t(targets[m])].anomaly_index, judged.flagged.empty() ? " (nothing flagged)" : "");
  }
  for (const NeuralCleanseResult& scan : clean_scans) {
    NeuralCleanseResult judged = scan;
    judge_against_references(judged, references_for(&scan));
    false_ref += !judged.flagged.empty();
  }
  std::printf(
      "against %zu clean reference models: backdoored models whose target was flagged: %d of %zu; clean models "
      "with any flag: %d of %zu\n",
      kReferences, detected_ref, backdoored_scans.size(), false_ref, clean_scans.size());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "scan";
  auto arg = [&](int i, long long fallback) { return argc > i ? std::atoll(argv[i]) : fallback; };
  if (mode == "inspect") {
    PoisonInspectionOptions options;
    options.whitening.core_share = double(arg(4, 75)) / 100;
    options.whitening.ridge = double(arg(5, 1000)) / 1e4;
    options.row_threshold = double(arg(6, 150)) / 10;
    options.whiten = arg(7, 1) != 0;
    options.min_ashman_d = double(arg(8, 36)) / 10;
    return inspect(int(arg(2, 10)), int(arg(3, 3)), options, uint64_t(arg(9, 1000)));
  }
  if (mode == "scan")
    return scan(int(arg(2, 10)), int(arg(3, 3)), arg(4, 1000), arg(5, 300), arg(6, 1000) / 1e6, arg(7, 10),
                double(arg(8, 99)) / 100);
  std::fprintf(stderr,
               "usage: backdoor_study scan [models per kind] [epochs] [clean rows] [steps]\n"
               "       backdoor_study inspect [runs per kind] [epochs]\n");
  return 2;
}
