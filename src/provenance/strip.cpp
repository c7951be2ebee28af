// STRIP's entropy, threshold and detector (Gao et al. 2019, arXiv:1902.06531, §IV): blends
// predicted in batches of rows × N, the mean entropy per row, the FRR quantile of clean rows.
#include "citadel/provenance/strip.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"
#include "citadel/data/split.hpp"
#include "citadel/model/predictor.hpp"

namespace citadel {
namespace {

// Blends per forward pass: about 16 MiB of them, so memory stays flat for wide rows.
constexpr int64_t kBlendFloatsPerPass = int64_t{1} << 22;

// Entropy in bits of one output row read as a class distribution (see strip_entropy).
double row_entropy(const float* out, int64_t classes) {
  if (classes == 1) {  // one sigmoid: (1 − p, p)
    const double p = std::clamp(double(out[0]), 0.0, 1.0);
    double h = 0;
    for (const double q : {p, 1 - p})
      if (q > 0) h -= q * std::log2(q);
    return h;
  }
  double sum = 0, lowest = out[0], highest = out[0];
  for (int64_t c = 0; c < classes; ++c) sum += out[c], lowest = std::min<double>(lowest, out[c]),
                                        highest = std::max<double>(highest, out[c]);
  const bool probabilities = lowest >= 0 && std::abs(sum - 1) < 1e-3;
  double h = 0;
  if (probabilities) {
    for (int64_t c = 0; c < classes; ++c)
      if (out[c] > 0) h -= (out[c] / sum) * std::log2(out[c] / sum);
    return h;
  }
  double z = 0;  // logits: a softmax shifted by the largest for stability
  for (int64_t c = 0; c < classes; ++c) z += std::exp(out[c] - highest);
  for (int64_t c = 0; c < classes; ++c) {
    const double q = std::exp(out[c] - highest) / z;
    if (q > 0) h -= q * std::log2(q);
  }
  return h;
}

}  // namespace

std::vector<double> strip_entropy(Predictor& predictor, ConstTensorView rows, ConstTensorView overlays,
                                  const StripBlend& blend) {
  const int64_t count = rows.shape(0), n = overlays.shape(0);
  CITADEL_CHECK(n >= 1, ValueError, "strip_entropy: no overlay images");
  const float a = blend.row_weight, b = blend.overlay_weight, low = blend.low, high = blend.high;
  CITADEL_CHECK(low <= high, ValueError, "strip_entropy: the clip range [", low, ", ", high, "] is empty");
  const int64_t features = count == 0 ? overlays.numel() / n : rows.numel() / count;
  CITADEL_CHECK(overlays.numel() / n == features && overlays.rank() == rows.rank(), ShapeError,
                "strip_entropy: rows ", rows.shape().str(), " and overlays ", overlays.shape().str(),
                " differ in shape");
  std::vector<double> entropy(size_t(count), 0.0);
  const int64_t per_pass = std::clamp<int64_t>(kBlendFloatsPerPass / std::max<int64_t>(n * features, 1), 1, count);
  for (int64_t begin = 0; begin < count; begin += per_pass) {
    const int64_t slice = std::min(per_pass, count - begin);
    Shape shape = rows.shape();
    shape[0] = slice * n;
    Tensor blends(shape);
    for (int64_t r = 0; r < slice; ++r) {
      const float* x = rows.data() + (begin + r) * features;
      for (int64_t k = 0; k < n; ++k) {
        const float* c = overlays.data() + k * features;
        float* out = blends.data() + (r * n + k) * features;
        if (blend.kind == StripBlendKind::kSum)
          for (int64_t i = 0; i < features; ++i) out[i] = std::clamp(a * x[i] + b * c[i], low, high);
        else
          for (int64_t i = 0; i < features; ++i) out[i] = std::clamp(std::max(a * x[i], b * c[i]), low, high);
      }
    }
    const Tensor predicted = predictor.predict(blends, {.batch_size = slice * n});
    const int64_t classes = predicted.numel() / (slice * n);
    for (int64_t r = 0; r < slice; ++r) {
      double sum = 0;
      for (int64_t k = 0; k < n; ++k) sum += row_entropy(predicted.data() + (r * n + k) * classes, classes);
      entropy[size_t(begin + r)] = sum / double(n);
    }
  }
  return entropy;
}

std::vector<int64_t> predicted_classes(Predictor& predictor, ConstTensorView rows) {
  const int64_t count = rows.shape(0);
  std::vector<int64_t> classes(size_t(count), 0);
  if (count == 0) return classes;
  const Tensor out = predictor.predict(rows, {.batch_size = std::min<int64_t>(count, 1024)});
  const int64_t width = out.numel() / count;
  for (int64_t r = 0; r < count; ++r) {
    const float* p = out.data() + r * width;
    classes[size_t(r)] = width == 1 ? (p[0] >= 0.5f ? 1 : 0) : std::max_element(p, p + width) - p;
  }
  return classes;
}

double strip_threshold(std::vector<double> clean_entropies, double false_rejection_rate) {
  CITADEL_CHECK(false_rejection_rate > 0 && false_rejection_rate < 1, ValueError,
                "STRIP: the false-rejection rate must lie in (0, 1), got ", false_rejection_rate);
  const auto m = int64_t(clean_entropies.size());
  const auto needed = int64_t(std::ceil(1 / false_rejection_rate - 1e-9));
  CITADEL_CHECK(m >= needed, ValueError, "STRIP: calibrating to a false-rejection rate of ", false_rejection_rate,
                " needs at least ", needed, " clean rows, got ", m);
  const auto k = int64_t(std::floor(false_rejection_rate * double(m) + 1e-9));
  std::nth_element(clean_entropies.begin(), clean_entropies.begin() + k, clean_entropies.end());
  return clean_entropies[size_t(k)];
}

StripDetector::StripDetector(Tensor overlays, double threshold, const StripBlend& blend, int64_t calibration_rows,
                             std::vector<double> class_thresholds)
    : overlays_(std::move(overlays)),
      threshold_(threshold),
      class_thresholds_(std::move(class_thresholds)),
      blend_(blend),
      calibration_rows_(calibration_rows) {}

double StripDetector::threshold_for(int64_t predicted_class) const {
  if (predicted_class < 0 || predicted_class >= int64_t(class_thresholds_.size())) return threshold_;
  return class_thresholds_[size_t(predicted_class)];
}

StripDetector StripDetector::calibrate(const Model& model, ConstTensorView clean, const StripOptions& options) {
  const int64_t m = clean.shape(0);
  CITADEL_CHECK(options.overlays >= 1 && options.overlays < m, ValueError, "STRIP: ", options.overlays,
                " overlay images asked of ", m, " clean rows; the overlays and the calibration rows must both come "
                "from them");
  // A seeded shuffle: the first N rows are the overlays, the next ones calibrate. No row is both,
  // or a row blended with itself would look cleaner than it is.
  std::vector<int64_t> order(static_cast<size_t>(m));
  std::iota(order.begin(), order.end(), 0);
  Rng rng(options.seed);
  for (int64_t i = m - 1; i > 0; --i) std::swap(order[size_t(i)], order[rng.below(uint64_t(i + 1))]);
  const std::vector<int64_t> overlay_rows(order.begin(), order.begin() + options.overlays);
  const int64_t calibrating = std::min(options.max_calibration_rows, m - options.overlays);
  const std::vector<int64_t> calibration_rows(order.begin() + options.overlays,
                                              order.begin() + options.overlays + calibrating);
  Tensor overlays = take_rows(clean, overlay_rows);
  const Tensor calibration = take_rows(clean, calibration_rows);
  const auto [low, high] = std::minmax_element(clean.data(), clean.data() + clean.numel());
  const StripBlend blend{options.blend, options.row_weight, options.overlay_weight, *low, *high};
  Predictor predictor(model);
  const std::vector<double> entropy = strip_entropy(predictor, calibration, overlays, blend);
  const double threshold = strip_threshold(entropy, options.false_rejection_rate);
  std::vector<double> class_thresholds;
  if (options.per_class) {
    const std::vector<int64_t> predicted = predicted_classes(predictor, calibration);
    const int64_t classes = std::max<int64_t>(2, *std::max_element(predicted.begin(), predicted.end()) + 1);
    std::vector<std::vector<double>> by_class(static_cast<size_t>(classes));
    for (size_t r = 0; r < predicted.size(); ++r) by_class[size_t(predicted[r])].push_back(entropy[r]);
    const auto needed = size_t(std::ceil(1 / options.false_rejection_rate - 1e-9));
    for (const std::vector<double>& rows : by_class)
      class_thresholds.push_back(rows.size() >= needed ? strip_threshold(rows, options.false_rejection_rate)
                                                       : threshold);
  }
  return StripDetector(std::move(overlays), threshold, blend, calibrating, std::move(class_thresholds));
}

StripDetector::Verdicts StripDetector::check(Predictor& predictor, ConstTensorView rows) const {
  Verdicts verdicts;
  verdicts.entropy = strip_entropy(predictor, rows, overlays_, blend_);
  std::vector<int64_t> predicted;
  if (!class_thresholds_.empty()) predicted = predicted_classes(predictor, rows);
  for (size_t r = 0; r < verdicts.entropy.size(); ++r) {
    const double bar = predicted.empty() ? threshold_ : threshold_for(predicted[r]);
    verdicts.flagged.push_back(verdicts.entropy[r] < bar ? 1 : 0);
    verdicts.threshold.push_back(bar);
  }
  return verdicts;
}

}  // namespace citadel
