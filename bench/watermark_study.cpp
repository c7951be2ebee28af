// The served-watermark study for docs/SECURITY.md ("Ownership watermarks"):
// bench/extraction_study's three attackers (reused from extraction_attacks)
// query a Fashion-MNIST MLP served with a DAWN watermark at a rate, each as a
// client of its own; the owner's test of each surrogate on at most 1,000 of
// that client's recorded rows; the same test of independently trained models
// (other training rows, other seeds, other widths); and the served test
// accuracy with and without the watermark. The watermark is the library's
// (citadel/provenance/served_watermark.hpp), applied as `serve --watermark`
// applies it: before the output policy.
//
//   watermark_study [queries 5000] [independent models 20] [rate ...]
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "citadel/data/dataset.hpp"
#include "citadel/data/split.hpp"
#include "citadel/data/idx.hpp"
#include "citadel/provenance/served_watermark.hpp"
#include "extraction_attacks.hpp"

using namespace citadel;
using namespace citadel::bench;

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string processor() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);)
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown";
}

// The server's watermark for one client: selected rows' probabilities moved to
// the keyed label, and recorded.
AnswerHook watermark_hook(const WatermarkKey& key, const std::string& token, double rate,
                          std::vector<WatermarkRecord>& records) {
  return [&key, token, rate, &records](const Tensor& x, Tensor& p) {
    const int64_t width = x.shape(1), classes = p.shape(1);
    for (int64_t r = 0; r < x.shape(0); ++r) {
      const float* row = x.data() + r * width;
      const WatermarkTag tag = served_watermark_tag(key, token, row, width);
      if (!watermark_selects(tag, rate)) continue;
      float* probabilities = p.data() + r * classes;
      const int64_t top = std::max_element(probabilities, probabilities + classes) - probabilities;
      WatermarkRecord record;
      record.token = token;
      record.row.assign(row, row + width);
      record.label = watermark_label(tag, top, classes);
      record.class_name = std::to_string(record.label);
      record.classes = classes;
      record.tag = watermark_tag_hex(tag);
      bool known = false;
      for (const WatermarkRecord& other : records) known = known || other.tag == record.tag;
      if (!known) records.push_back(record);
      watermark_probabilities(probabilities, classes, record.label);
    }
  };
}

SuspectAnswers answers_of(Model& model) {
  return [&model](const std::vector<WatermarkRecord>& records) {
    const int64_t width = int64_t(records.front().row.size());
    Tensor x(Shape{int64_t(records.size()), width});
    for (size_t i = 0; i < records.size(); ++i)
      std::copy(records[i].row.begin(), records[i].row.end(), x.data() + i * width);
    std::vector<std::string> labels;
    for (int64_t c : labels_of(model.predict(x))) labels.push_back(std::to_string(c));
    return labels;
  };
}

double accuracy(const std::vector<int64_t>& predicted, const Tensor& y) {
  int64_t right = 0;
  for (size_t i = 0; i < predicted.size(); ++i) right += predicted[i] == int64_t(y[int64_t(i)]);
  return double(right) / double(predicted.size());
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t queries = argc > 1 ? std::atoll(argv[1]) : 5000;
  const int independents = argc > 2 ? std::atoi(argv[2]) : 20;
  std::vector<double> rates;
  for (int i = 3; i < argc; ++i) rates.push_back(std::atof(argv[i]));
  if (rates.empty()) rates = {0.005, 0.02, 0.05};
  const auto begun = std::chrono::steady_clock::now();
  std::printf("# processor: %s\n", processor().c_str());
  Task t = fashion();
  set_input_range(t);
  Sequential victim = network(t, t.hidden * 2, 1);
  victim.fit(t.train_x, one_hot(t.train_y, t.classes), {.epochs = t.victim_epochs, .batch_size = 32, .verbose = 0});
  const std::vector<int64_t> clean = labels_of(victim.predict(t.test_x));
  std::printf(
      "# victim (784-256-10, 5 epochs on 20,000 rows): test accuracy "
      "%.4f; trained in %.0f s\n",
      accuracy(clean, t.test_y), seconds_since(begun));

  // Independent models: the same task learnt from other rows (the 40,000
  // training rows the victim never saw), other seeds and widths; they never saw
  // a watermarked answer.
  const auto independent_start = std::chrono::steady_clock::now();
  const ImageDataset all = load_fashion_mnist();
  std::vector<std::unique_ptr<Sequential>> others;
  for (int m = 0; m < independents; ++m) {
    std::vector<int64_t> rows(10'000);
    std::iota(rows.begin(), rows.end(), 20'000 + (m % 4) * 10'000);
    Tensor x = take_rows(all.x_train, rows), y = take_rows(all.y_train, rows);
    x.reshape(Shape{int64_t(rows.size()), 784}), y.reshape(Shape{int64_t(rows.size()), 1});
    for (int64_t i = 0; i < x.numel(); ++i) x[i] /= 255.0f;
    auto model = std::make_unique<Sequential>(network(t, m % 2 ? 128 : 256, 100 + uint64_t(m)));
    model->fit(x, one_hot(y, t.classes),
               {.epochs = 3 + m % 3, .batch_size = 32, .verbose = 0, .seed = 100 + uint64_t(m)});
    others.push_back(std::move(model));
  }
  std::printf(
      "# %d independent models (10,000 other rows each, widths "
      "128/256, 3-5 epochs) trained in %.0f s\n",
      independents, seconds_since(independent_start));

  std::array<unsigned char, 32> key_bytes{};
  for (size_t i = 0; i < key_bytes.size(); ++i) key_bytes[i] = static_cast<unsigned char>(i * 37 + 11);
  const WatermarkKey key(key_bytes);
  const serving::OutputPolicy policy = serving::OutputPolicy::parse("label", "study");
  std::printf(
      "\n| rate | served test accuracy (drop, points) | attacker | "
      "queries | surrogate agreement | "
      "recorded rows | verification queries | matches | p-value | "
      "independent models claimed at "
      "p < 1e-3 | smallest independent p | seconds "
      "|\n|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (const double rate : rates) {
    // Benign accuracy: the test rows as one client's queries, answered
    // watermarked.
    std::vector<WatermarkRecord> benign_records;
    Tensor p = victim.predict(t.test_x);
    watermark_hook(key, "benign", rate, benign_records)(t.test_x, p);
    const double served = accuracy(labels_of(p), t.test_y);
    const double drop = 100 * (accuracy(clean, t.test_y) - served);
    for (const std::string attack : {"real rows", "Papernot synthetic", "boundary search"}) {
      const auto start = std::chrono::steady_clock::now();
      std::vector<WatermarkRecord> records;
      const AnswerHook hook = watermark_hook(key, attack, rate, records);
      const Result r = attack == "real rows"            ? real_row_attack(t, victim, policy, queries, hook)
                       : attack == "Papernot synthetic" ? papernot_attack(t, victim, policy, queries, hook)
                                                        : boundary_search_attack(t, victim, policy, queries, hook);
      if (records.empty()) {
        std::printf(
            "| %g | %.4f (%.2f) | %s | %lld | %.3f | 0 | - | - | - | - "
            "| - | %.0f |\n",
            rate, served, drop, attack.c_str(), static_cast<long long>(r.queries), r.agreement, seconds_since(start));
        continue;
      }
      const WatermarkVerdict v = verify_served_watermark(records, answers_of(*r.surrogate), 1000, 1e-9);
      int claimed = 0;
      double smallest = 1;
      for (auto& other : others) {
        const WatermarkVerdict o = verify_served_watermark(records, answers_of(*other), 1000, 1e-3);
        claimed += o.claimed;
        smallest = std::min(smallest, o.p_value);
      }
      std::printf(
          "| %g | %.4f (%.2f) | %s | %lld | %.3f | %zu | %lld | %lld | "
          "%.3g | %d of %d | %.3g | %.0f |\n",
          rate, served, drop, attack.c_str(), static_cast<long long>(r.queries), r.agreement, records.size(),
          static_cast<long long>(v.queries), static_cast<long long>(v.matches), v.p_value, claimed, independents,
          smallest, seconds_since(start));
      std::fflush(stdout);
    }
  }
  std::printf("\n# total %.0f s\n", seconds_since(begun));
}
