// The STRIP study for docs/SECURITY.md ("Backdoors at run time: serve --strip"): a Fashion-MNIST
// MLP (784-128-10) trained with 1 % of its rows BadNets-poisoned (a 3×3 white patch one pixel in
// from the bottom-right corner, all-to-one), STRIP calibrated to an FRR on clean test rows, then
// the detection rate on triggered test rows of other classes, the FRR measured on other clean
// test rows, and the latency a row pays for its check (library-level, one row at a time).
//
//   strip_study [N overlays = 100] [FRR = 0.01] [epochs = 5] [seed = 1]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "citadel/core/random.hpp"
#include "citadel/data/idx.hpp"
#include "citadel/data/split.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/model/predictor.hpp"
#include "citadel/model/sequential.hpp"
#include "citadel/provenance/backdoor_trigger.hpp"
#include "citadel/provenance/strip.hpp"

using namespace citadel;

namespace {

constexpr int64_t kTarget = 0;  // "T-shirt/top"

Tensor flat_pixels(const Tensor& images) {
  Tensor x(Shape{images.shape(0), 784});
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = images[i] / 255.0f;
  return x;
}

double percentile(std::vector<double> values, double q) {
  std::sort(values.begin(), values.end());
  return values[std::min(values.size() - 1, size_t(q * double(values.size())))];
}

int64_t argmax(const float* p, int64_t k) { return std::max_element(p, p + k) - p; }

// A detector's verdicts on the triggered and the clean rows, and the shares it flags.
struct Screened {
  double threshold = 0;
  StripDetector::Verdicts bad, good;
  double caught = 0, refused = 0;
};

Screened screen(const StripDetector& detector, Predictor& predictor, const Tensor& triggered, const Tensor& clean) {
  Screened s{detector.threshold(), detector.check(predictor, triggered), detector.check(predictor, clean)};
  for (const uint8_t f : s.bad.flagged) s.caught += f;
  for (const uint8_t f : s.good.flagged) s.refused += f;
  s.caught /= double(triggered.shape(0)), s.refused /= double(clean.shape(0));
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t overlays = argc > 1 ? std::atoll(argv[1]) : 100;
  const double frr = argc > 2 ? std::atof(argv[2]) : 0.01;
  const int epochs = argc > 3 ? std::atoi(argv[3]) : 5;
  const uint64_t seed = argc > 4 ? std::strtoull(argv[4], nullptr, 10) : 1;
  using clock = std::chrono::steady_clock;
  const auto seconds = [](clock::time_point from) { return std::chrono::duration<double>(clock::now() - from).count(); };

  const ImageDataset data = load_fashion_mnist();
  Tensor train_x = flat_pixels(data.x_train), train_y = data.y_train;
  const Tensor test_x = flat_pixels(data.x_test), test_y = data.y_test;
  const PatchTrigger trigger{.size = 3};
  const std::vector<int64_t> poisoned = poison_with_trigger(train_x, train_y, trigger, kTarget, 0.01, seed);

  random::set_seed(seed);
  Sequential model;
  model.add(Dense(128, {.input_dim = 784, .activation = "relu"}));
  model.add(Dense(10, {.activation = "softmax"}));
  model.compile({.loss = "sparse_categorical_crossentropy", .optimizer = "adam"});
  auto start = clock::now();
  model.fit(train_x, train_y, {.epochs = epochs, .batch_size = 64, .verbose = 0, .seed = seed});
  const double train_seconds = seconds(start);

  // Test rows 0..4999 calibrate (and give the overlays); 5000..9999 are measured.
  const int64_t half = test_x.shape(0) / 2;
  const ConstTensorView calibration = test_x.rows(0, half);
  std::vector<int64_t> measured_clean, measured_others;  // all measured rows; those not of the target
  for (int64_t r = half; r < test_x.shape(0); ++r) {
    measured_clean.push_back(r);
    if (int64_t(test_y[r]) != kTarget) measured_others.push_back(r);
  }
  const Tensor clean = take_rows(test_x, measured_clean);
  Tensor triggered = take_rows(test_x, measured_others);
  stamp_trigger(triggered, trigger);

  Predictor predictor(model);
  const Tensor clean_p = predictor.predict(clean, {.batch_size = 256});
  const Tensor triggered_p = predictor.predict(triggered, {.batch_size = 256});
  int64_t correct = 0, hijacked = 0;
  for (size_t i = 0; i < measured_clean.size(); ++i)
    correct += argmax(clean_p.data() + int64_t(i) * 10, 10) == int64_t(test_y[measured_clean[i]]);
  for (int64_t i = 0; i < triggered.shape(0); ++i) hijacked += argmax(triggered_p.data() + i * 10, 10) == kTarget;

  start = clock::now();
  const StripOptions options{.overlays = overlays, .false_rejection_rate = frr, .max_calibration_rows = half,
                             .seed = seed};
  const StripDetector detector = StripDetector::calibrate(model, calibration, options);
  const double calibrate_seconds = seconds(start);
  const StripDetector::Verdicts bad = detector.check(predictor, triggered), good = detector.check(predictor, clean);
  int64_t caught = 0, rejected = 0, caught_hijacked = 0;
  for (int64_t i = 0; i < triggered.shape(0); ++i) {
    caught += bad.flagged[size_t(i)];
    caught_hijacked += bad.flagged[size_t(i)] && argmax(triggered_p.data() + i * 10, 10) == kTarget;
  }
  for (const uint8_t f : good.flagged) rejected += f;

  // One row at a time, as a request of one row pays: the plain prediction and the STRIP check.
  std::vector<double> plain_ms, strip_ms;
  const int64_t timed = std::min<int64_t>(1000, clean.shape(0));
  for (int64_t r = 0; r < timed; ++r) {
    auto t = clock::now();
    static_cast<void>(predictor.predict(clean.rows(r, r + 1)));
    plain_ms.push_back(seconds(t) * 1e3);
    t = clock::now();
    static_cast<void>(detector.check(predictor, clean.rows(r, r + 1)));
    strip_ms.push_back(seconds(t) * 1e3);
  }

  // The other blend, for comparison (the detector above uses the default, the maximum).
  StripOptions sum_options = options;
  sum_options.blend = StripBlendKind::kSum;
  const Screened sum = screen(StripDetector::calibrate(model, calibration, sum_options), predictor, triggered, clean);
  const auto mean = [](const std::vector<double>& v) {
    double total = 0;
    for (const double h : v) total += h;
    return total / double(v.size());
  };

  // The same overlays and blend with one pooled threshold (what STRIP did before per-class
  // calibration): how much the per-class thresholds add.
  StripOptions pooled_options = options;
  pooled_options.per_class = false;
  const Screened pooled =
      screen(StripDetector::calibrate(model, calibration, pooled_options), predictor, triggered, clean);

  std::printf("poisoned training rows: %zu of %lld (3x3 patch, all-to-one -> class %lld), %d epochs in %.1f s\n",
              poisoned.size(), (long long)train_x.shape(0), (long long)kTarget, epochs, train_seconds);
  std::printf("clean accuracy: %.4f on %zu test rows; attack success: %.4f of %lld triggered rows of other classes\n",
              double(correct) / double(measured_clean.size()), measured_clean.size(),
              double(hijacked) / double(triggered.shape(0)), (long long)triggered.shape(0));
  std::printf("STRIP N=%lld, FRR %.4f, blend max(row, clean) clipped to [%g, %g]: pooled threshold %.4f bits from %lld "
              "clean rows (%.1f s); mean entropy triggered %.3f, clean %.3f\n", (long long)overlays, frr,
              detector.blend().low, detector.blend().high, detector.threshold(), (long long)detector.calibration_rows(),
              calibrate_seconds, mean(bad.entropy), mean(good.entropy));
  std::printf("per-class thresholds (bits):");
  for (const double t : detector.class_thresholds()) std::printf(" %.3f", t);
  std::printf("\ndetection: %.4f of %lld triggered rows (%.4f of the %lld the backdoor hijacked)\n",
              double(caught) / double(triggered.shape(0)), (long long)triggered.shape(0),
              hijacked ? double(caught_hijacked) / double(hijacked) : 0.0, (long long)hijacked);
  std::printf("measured FRR: %.4f of %zu other clean rows\n", double(rejected) / double(measured_clean.size()),
              measured_clean.size());
  std::printf("one pooled threshold (%.4f bits): detection %.4f, measured FRR %.4f\n", pooled.threshold, pooled.caught,
              pooled.refused);
  std::printf("blend row + clean (Gao et al.'s sum, per class): threshold %.4f bits, detection %.4f, measured FRR %.4f; mean "
              "entropy triggered %.3f, clean %.3f\n", sum.threshold, sum.caught, sum.refused, mean(sum.bad.entropy),
              mean(sum.good.entropy));
  std::printf("one-row latency (ms, %lld rows): plain predict p50 %.3f p99 %.3f; STRIP check p50 %.3f p99 %.3f\n",
              (long long)timed, percentile(plain_ms, 0.5), percentile(plain_ms, 0.99), percentile(strip_ms, 0.5),
              percentile(strip_ms, 0.99));
  return 0;
}
