// Neural Cleanse (Wang et al., "Neural Cleanse: Identifying and Mitigating Backdoor Attacks in
// Neural Networks", S&P 2019): for every label, the smallest trigger — a mask m and a pattern p,
// x' = (1 − m)⊙x + m⊙p — that sends clean inputs to it. A backdoored label needs a far smaller
// mask than the others; the median-absolute-deviation anomaly index of the masks' L1 norms
// flags it.
#pragma once

#include <cstdint>
#include <vector>

#include "citadel/core/tensor.hpp"

namespace citadel {

class Model;

struct NeuralCleanseOptions {
  int64_t steps = 300;        // optimization steps per label (each on one batch of clean rows)
  int64_t batch_size = 128;   // clean rows per step
  float learning_rate = 0.1f; // Adam's, on the tanh-parameters of mask and pattern
  // λ, the weight of |m|₁ beside the cross-entropy: set to initial_lambda once the attack
  // first succeeds, then raised (× lambda_factor) after `patience` checks at or above the
  // success threshold and lowered (÷ lambda_factor^1.5) after `patience` checks below it,
  // as the paper's code does. A check looks at the evaluation rows every check_every steps.
  double initial_lambda = 1e-3;
  double lambda_factor = 1.5;
  int64_t patience = 3;
  int64_t check_every = 10;
  double success_threshold = 0.99;  // the share of clean rows sent to the label
  // Stops a label early once its best mask has not shrunk by 1 % over this many checks
  // (after λ was set); 0: always run every step.
  int64_t early_stop_checks = 10;
  int64_t evaluation_rows = 256;  // the rows checks judge success on (the first of x)
  double flag_threshold = 2.0;    // anomaly index above which a small mask is flagged
  // And only a mask this share below the median (citadel's addition to the paper's rule): when
  // the clean labels' norms cluster tightly the MAD is tiny, and a label 10 % below the median
  // would score an index of 5 without any trigger.
  double min_relative_gap = 0.25;
  uint64_t seed = 42;             // the initial mask and pattern, the batches
  // The model's input as an image, channels last: 0 takes it from the model's input shape
  // ((H, W, C); a vector of D values is a √D × √D image when D is a square, else 1 × D).
  int64_t height = 0, width = 0, channels = 0;
  // The range of the pattern's values: pixels in [0, 1]; a model of scaled features takes the
  // range its clean rows span.
  float pattern_min = 0.0f, pattern_max = 1.0f;
};

struct ReversedTrigger {
  int64_t label = 0;
  double l1_norm = 0;          // Σ m of the kept mask
  double attack_success = 0;   // the share of evaluation rows the kept trigger sends to the label
  bool reached = false;        // whether any mask reached success_threshold (else the last is kept)
  double anomaly_index = 0;
  bool flagged = false;        // l1_norm below (1 − min_relative_gap) · median, anomaly_index above flag_threshold
  double final_lambda = 0;
  int64_t steps = 0;           // steps run (early stopping may end sooner)
  Tensor mask;                 // (H, W) in [0, 1]
  Tensor pattern;              // (H, W, C) in [pattern_min, pattern_max]
};

struct NeuralCleanseResult {
  std::vector<ReversedTrigger> labels;  // one per class, in class order
  std::vector<int64_t> flagged;         // the flagged labels, most anomalous first
  double median_l1 = 0, median_absolute_deviation = 0;
  int64_t height = 0, width = 0, channels = 0;
  double seconds = 0;
};

// Reverses a trigger for every class of a compiled classifier (one input, one softmax or
// logits output of at least 3 classes; cross-entropy loss) from clean inputs x shaped as
// the model's input. The gradients of mask and pattern follow from
// model.input_gradient by the chain rule through x'. Weights are unchanged.
NeuralCleanseResult neural_cleanse(Model& model, ConstTensorView x, const NeuralCleanseOptions& options = {});

}  // namespace citadel
