// Adversarial examples (evasion attacks) and adversarial training.
//
// FGSM (Goodfellow et al. 2015) and PGD (Madry et al. 2018), under the L∞ or L2 norm,
// untargeted or targeted, with random starts and restarts. Every example stays inside its
// ε-ball around the original input and inside the valid input range. Both are measured in
// the model's input units: pixels in [0, 1] for images; for tabular data the units of
// the features as the model sees them (after scaling), and the valid range is what the
// caller gives (the CLI uses the range observed in the training rows). The range of an
// example is widened to include the example itself, so the original is always valid.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "citadel/core/tensor.hpp"
#include "citadel/model/sequential.hpp"

namespace citadel {

struct AttackOptions {
  std::string method = "pgd";  // "fgsm" or "pgd"
  std::string norm = "linf";   // "linf" or "l2"
  float epsilon = 0.1f;        // radius of the ball around each input
  float step_size = 0.0f;      // PGD's step; 0: 2.5·ε/steps (Madry et al.)
  int steps = 10;              // PGD iterations
  bool random_start = true;    // PGD starts at a uniform point of the ball
  int restarts = 1;            // PGD runs; each example keeps its strongest result
  // Targeted: move each input towards these labels (encoded as y) instead of away from y.
  std::optional<Tensor> targets = std::nullopt;
  // The valid input range: scalars, or per feature (shape of one input) when given.
  float clip_min = 0.0f, clip_max = 1.0f;
  std::optional<Tensor> feature_min = std::nullopt, feature_max = std::nullopt;
  int64_t batch_size = 256;
  uint64_t seed = 0;  // random starts
  // A model of several inputs: the one the attack moves (the others stay as given); the
  // valid range and ε are in its units.
  int input = 0;
};

// Adversarial versions of x (same shape) against `model` for labels y.
Tensor adversarial_examples(Model& model, ConstTensorView x, ConstTensorView y, const AttackOptions& options);
// A model of several inputs and outputs: adversarial versions of input `options.input`
// (its shape), the other inputs held as given, against the loss of every output's targets.
Tensor adversarial_examples(Model& model, const std::vector<ConstTensorView>& inputs,
                            const std::vector<ConstTensorView>& targets, const AttackOptions& options);

// Rows of x that the model classifies as y says (a 0/1 per row).
std::vector<uint8_t> correct_predictions(Model& model, ConstTensorView x, ConstTensorView y);

// The class per row of predictions (one sigmoid output: p ≥ ½ is class 1; several: the
// largest), and of labels (class indices, or one-hot rows when y has `classes` > 1 columns;
// with classes = 1, y ≥ ½ is class 1).
std::vector<int64_t> predicted_classes(const Tensor& predictions);
std::vector<int64_t> label_classes(ConstTensorView y, int64_t classes);
// 1 for each row whose predicted class (the first output's) is y's, else 0.
std::vector<uint8_t> correct_rows(const Tensor& predictions, ConstTensorView y);

struct RobustnessPoint {
  double epsilon = 0;
  double accuracy = 0;           // on the adversarial examples (untargeted), or
  double attack_success = 0;     // the share moved off their label (targeted: onto the target)
  double mean_linf = 0, mean_l2 = 0;  // the perturbations' average size
};

// Accuracy under attack for each ε (ε = 0 is the clean accuracy).
std::vector<RobustnessPoint> robustness_curve(Model& model, ConstTensorView x, ConstTensorView y,
                                              const AttackOptions& attack, const std::vector<double>& epsilons);
// The same on a model of several inputs (its first output classifies): input `attack.input`
// is attacked, the others held as given; the perturbation sizes are that input's.
std::vector<RobustnessPoint> robustness_curve(Model& model, const std::vector<ConstTensorView>& inputs,
                                              ConstTensorView y, const AttackOptions& attack,
                                              const std::vector<double>& epsilons);

// A FitOptions::batch_transform for adversarial training (Madry et al. 2018): each batch
// is replaced by attacked examples made against the current weights, except a
// `clean_fraction` of its rows that stay clean. On a model of several inputs, the attack's
// `input` is the one attacked.
BatchTransform adversarial_training(const AttackOptions& attack, double clean_fraction = 0.0);

}  // namespace citadel
