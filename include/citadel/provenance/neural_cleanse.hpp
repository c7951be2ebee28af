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
  // With references (judge_against_references): the median of the same label's norm in the
  // clean reference scans, and l1_norm over it, the value the anomaly index then ranks.
  double reference_l1 = 0, relative_l1 = 0;
  double anomaly_index = 0;
  // The judged value (l1_norm, or relative_l1 with references) below (1 − min_relative_gap)
  // times its median over the labels, and anomaly_index above flag_threshold.
  bool flagged = false;
  double final_lambda = 0;
  int64_t steps = 0;           // steps run (early stopping may end sooner)
  Tensor mask;                 // (H, W) in [0, 1]
  Tensor pattern;              // (H, W, C) in [pattern_min, pattern_max]
};

struct NeuralCleanseResult {
  std::vector<ReversedTrigger> labels;  // one per class, in class order
  std::vector<int64_t> flagged;         // the flagged labels, most anomalous first
  // The median and MAD of the judged values: L1 norms, or with references their ratios.
  double median_l1 = 0, median_absolute_deviation = 0;
  int64_t references = 0;  // clean reference scans it was judged against (0: the paper's rule)
  int64_t height = 0, width = 0, channels = 0;
  double seconds = 0;
};

// Reverses a trigger for every class of a compiled classifier (one input, one softmax or
// logits output of at least 3 classes; cross-entropy loss) from clean inputs x shaped as
// the model's input. The gradients of mask and pattern follow from
// model.input_gradient by the chain rule through x'. Weights are unchanged.
NeuralCleanseResult neural_cleanse(Model& model, ConstTensorView x, const NeuralCleanseOptions& options = {});

// Judges a scan again against scans of clean models of the same architecture, trained on the
// same kind of data and scanned on the same rows with the same options: each label's norm
// over the median of that label's norms in the references, then the anomaly index of those
// ratios. Labels differ naturally in the trigger they need (on Fashion-MNIST a Bag ≈ 25
// pixels, a Sneaker ≈ 100), which one median across labels cannot tell from a planted
// trigger; a label's own clean norm can. Replaces the scan's indices, flags and medians.
// ValueError for no references, or references of another number of labels.
void judge_against_references(NeuralCleanseResult& scan, const std::vector<NeuralCleanseResult>& references,
                              const NeuralCleanseOptions& options = {});

}  // namespace citadel
