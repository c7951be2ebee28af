// STRIP (Gao, Xu, Wang, Chen, Ranasinghe and Nepal 2019): run-time detection of backdoored
// inputs. A row is blended with N clean images and each blend predicted; a trigger keeps
// pulling the blends to its target class (low entropy), a clean row does not. The entropy
// threshold is calibrated on clean rows to a stated false-rejection rate (FRR).
#pragma once

#include <cstdint>
#include <vector>

#include "citadel/core/tensor.hpp"

namespace citadel {

class Model;
class Predictor;

// How a row and a clean image are superimposed, clipped to the range [low, high] of the clean
// data (an image's pixel range, [0, 1] for scaled Fashion-MNIST):
//  kSum:     a·row + b·clean, as Gao et al. add images (OpenCV's saturating addWeighted);
//  kMaximum: max(a·row, b·clean) per value, the "lighten" blend: a bright trigger keeps its
//            pixels, as in the sum, but the images do not saturate each other into a blob the
//            model reads confidently. On bench/strip_study's Fashion-MNIST MLP it caught more
//            triggered rows at the same FRR (docs/SECURITY.md, "Backdoors at run time").
// Both keep a bright trigger whole (a weighted average would halve it); neither keeps a dark
// one.
enum class StripBlendKind { kSum, kMaximum };

struct StripOptions {
  int64_t overlays = 100;           // N: clean images each row is blended with (N forward passes a row)
  StripBlendKind blend = StripBlendKind::kMaximum;
  float row_weight = 1.0f;          // a
  float overlay_weight = 1.0f;      // b
  double false_rejection_rate = 0.01;  // the share of clean rows the threshold flags, at most
  int64_t max_calibration_rows = 2000;  // clean rows calibrated on, at most (startup time)
  uint64_t seed = 0;                // which clean rows become the overlays
  // A threshold per class the model predicts for the row (each at the FRR among the
  // calibration rows predicted that class), or one pooled threshold. Classes whose clean
  // blends are naturally certain (trousers, bags) then do not set the bar for the rest: on
  // bench/strip_study it caught 83-91 % of triggered rows at 1 % FRR against 0.2-51 % pooled.
  bool per_class = true;
};

// Per row of `rows` (R, ...): the mean Shannon entropy (bits) of the model's predicted class
// distributions over its blends with each of `overlays` (N, ...), rows of the same shape,
// each blend clip(a·row + b·overlay, low, high) or clip(max(a·row, b·overlay), low, high). The
// model outputs probabilities (softmax, or one sigmoid read as 1 − p, p); a row that does not
// sum to 1 is read as logits and softmaxed. One forward of (rows × N) blends per slice of rows,
// at most about 16 MiB of blends at once. Thread-safe over distinct Predictors.
struct StripBlend {
  StripBlendKind kind = StripBlendKind::kMaximum;
  float row_weight = 1.0f, overlay_weight = 1.0f;  // a, b
  float low = 0.0f, high = 1.0f;                   // the clip range
};
std::vector<double> strip_entropy(Predictor& predictor, ConstTensorView rows, ConstTensorView overlays,
                                  const StripBlend& blend);

// The class the model predicts for each row, read as strip_entropy reads its outputs (one
// sigmoid: 1 when p >= 0.5).
std::vector<int64_t> predicted_classes(Predictor& predictor, ConstTensorView rows);

// The flagging threshold for a false-rejection rate: the ⌊rate·M⌋-th smallest of M clean
// entropies (0-based), so that at most rate·M of them lie strictly below it. ValueError when
// rate is not in (0, 1) or M < ⌈1/rate⌉ (too few rows to place that quantile).
double strip_threshold(std::vector<double> clean_entropies, double false_rejection_rate);

class StripDetector {
 public:
  struct Verdicts {
    std::vector<double> entropy;
    std::vector<uint8_t> flagged;  // 1: entropy below the threshold
    std::vector<double> threshold;  // the threshold each row was held to (its predicted class's)
  };

  // Draws options.overlays rows of `clean` (seeded) as the overlay set and calibrates the
  // threshold on up to max_calibration_rows of the others; the clip range is the range of
  // all of `clean`. ValueError when there are too few rows. Per class (options.per_class), a
  // class with fewer than ⌈1/FRR⌉ calibration rows predicted it keeps the pooled threshold.
  static StripDetector calibrate(const Model& model, ConstTensorView clean, const StripOptions& options);
  StripDetector(Tensor overlays, double threshold, const StripBlend& blend, int64_t calibration_rows = 0,
                std::vector<double> class_thresholds = {});

  Verdicts check(Predictor& predictor, ConstTensorView rows) const;

  double threshold() const { return threshold_; }  // the pooled one
  // Per predicted class (empty: pooled only); a row is flagged below its predicted class's.
  const std::vector<double>& class_thresholds() const { return class_thresholds_; }
  double threshold_for(int64_t predicted_class) const;
  int64_t overlay_count() const { return overlays_.shape(0); }
  int64_t calibration_rows() const { return calibration_rows_; }
  const StripBlend& blend() const { return blend_; }
  const Tensor& overlays() const { return overlays_; }

 private:
  Tensor overlays_;
  double threshold_;
  std::vector<double> class_thresholds_;
  StripBlend blend_;
  int64_t calibration_rows_;
};

}  // namespace citadel
