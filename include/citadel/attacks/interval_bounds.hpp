// Interval bound propagation (IBP; Gowal et al. 2018): sound bounds on a model's logits over
// every input in an ℓ∞ box, and certified (verified) accuracy from them.
//
// Each layer maps a box [l, u] to a box that holds all its outputs: an affine layer (Dense,
// Conv2D, Conv1D) as centre W·m + b and radius |W|·r, then its activation if monotone; a
// monotone layer (ReLU and the other monotone activations, max and average pooling, Flatten,
// Reshape, Dropout at inference) takes l to f(l) and u to f(u). The bounds are loose but sound:
// a row whose worst-case logits still name its label is classified right for every input of the
// box, whatever an attack tries. They are differentiable, which is what certified training
// (citadel/attacks/certified_training.hpp) descends.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#include "citadel/core/parameter_store.hpp"
#include "citadel/core/tensor.hpp"
#include "citadel/model/model.hpp"

namespace citadel {

// The input box of each row: [max(x − ε, clip_min), min(x + ε, clip_max)].
struct IntervalBoxOptions {
  double epsilon = 0.1;
  float clip_min = -std::numeric_limits<float>::infinity();
  float clip_max = std::numeric_limits<float>::infinity();
};

// Propagates boxes through a Sequential model (or a graph that is a chain) of the layers above.
// It holds copies of the layers that read the model's weights as they are at each call, so a
// model may train between calls. The constructor refuses, naming the layer, what it cannot
// bound: BatchNormalization, recurrent and merge layers, a softmax, GELU or swish inside the
// network. The last layer's own activation (softmax, sigmoid) is left out: bounds are on logits.
class IntervalPropagation {
 public:
  explicit IntervalPropagation(Model& model);
  ~IntervalPropagation();
  IntervalPropagation(IntervalPropagation&&) noexcept;
  IntervalPropagation& operator=(IntervalPropagation&&) noexcept;

  // Bounds (N, classes) on the logits of every input x' with lower ≤ x' ≤ upper (per row).
  // Mode::kTrain keeps what backward() needs.
  void forward(ConstTensorView lower, ConstTensorView upper, Tensor& logits_lower, Tensor& logits_upper,
               Mode mode = Mode::kInfer);
  // From ∂L/∂(logits_lower) and ∂L/∂(logits_upper) of the last forward (in Mode::kTrain): adds
  // ∂L/∂w to the model's parameter gradients (the input's gradient is not computed).
  void backward(ConstTensorView d_lower, ConstTensorView d_upper);

  // Lower bounds (N, classes) on logit(label) − logit(j) over each row's box (0 in the label's
  // column); one sigmoid logit: (N, 1), the logit's bound signed towards the label. With a Dense
  // last layer the differences are bounded through its kernel directly ("elision of the last
  // layer", Gowal et al.), which is tighter than subtracting the logits' bounds.
  void margin_lower_bounds(ConstTensorView lower, ConstTensorView upper, const std::vector<int64_t>& labels,
                           Tensor& margins);

  // The last layer's activation that the bounds leave out: softmax, sigmoid or linear.
  ops::ActivationKind output_activation() const;

 private:
  struct Chain;
  std::unique_ptr<Chain> chain_;
  void forward_until(size_t end, ConstTensorView lower, ConstTensorView upper, Mode mode);
};

// The box of each row of x under `box`.
void input_box(ConstTensorView x, const IntervalBoxOptions& box, Tensor& lower, Tensor& upper);

// Rows (0/1) whose label no input of their box can change: every margin bound above is positive.
std::vector<uint8_t> verified_rows(Model& model, ConstTensorView x, ConstTensorView y, const IntervalBoxOptions& box,
                                   int64_t batch_size = 256);

struct VerifiedAccuracyPoint {
  double epsilon = 0;
  double verified_accuracy = 0;  // rows verified at ε and classified right, over all rows
};
// Verified accuracy at each ε (ε = 0 is the clean accuracy, up to ties).
std::vector<VerifiedAccuracyPoint> verified_accuracy(Model& model, ConstTensorView x, ConstTensorView y,
                                                     const std::vector<double>& epsilons, float clip_min,
                                                     float clip_max, int64_t batch_size = 256);

}  // namespace citadel
