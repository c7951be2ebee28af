#include "citadel/attacks/certified_training.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>

#include "citadel/attacks/adversarial.hpp"
#include "citadel/attacks/interval_bounds.hpp"
#include "citadel/core/error.hpp"
#include "citadel/ops/activations.hpp"

namespace citadel {
namespace {

void check_options(const CertifiedTrainingOptions& options) {
  CITADEL_CHECK(std::isfinite(options.epsilon) && options.epsilon >= 0, ValueError,
                "certified training: epsilon must be a finite number >= 0, got ", options.epsilon);
  CITADEL_CHECK(options.final_kappa >= 0 && options.final_kappa <= 1, ValueError,
                "certified training: final_kappa must lie in [0, 1], got ", options.final_kappa);
  CITADEL_CHECK(options.warmup_steps >= 0 && options.ramp_steps >= 0, ValueError,
                "certified training: warmup_steps and ramp_steps must be >= 0, got ", options.warmup_steps, " and ",
                options.ramp_steps);
}

// The mean cross-entropy of the worst-case logits and, with weight ≠ 0, weight × its gradient
// with respect to the logits' bounds.
double robust_cross_entropy(const Tensor& lower, const Tensor& upper,
                            const std::vector<int64_t>& labels, double weight, Tensor& d_lower, Tensor& d_upper) {
  const int64_t rows = lower.shape(0), classes = lower.numel() / std::max<int64_t>(rows, 1);
  d_lower = Tensor(lower.shape()), d_upper = Tensor(upper.shape());
  double total = 0;
  const double scale = weight / double(std::max<int64_t>(rows, 1));
  std::vector<double> worst(static_cast<size_t>(classes));  // a row's worst-case logits
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t y = labels[size_t(r)];
    if (classes == 1) {  // one sigmoid unit: the logit pushed away from the label
      const double z = y == 1 ? lower[r] : upper[r];
      // −log σ(z) for class 1, −log(1 − σ(z)) = log(1 + e^z) for class 0
      total += y == 1 ? ops::stable_softplus(float(-z)) : ops::stable_softplus(float(z));
      const double g = ops::stable_sigmoid(float(z)) - (y == 1 ? 1.0 : 0.0);
      (y == 1 ? d_lower[r] : d_upper[r]) = float(scale * g);
      continue;
    }
    for (int64_t j = 0; j < classes; ++j) worst[size_t(j)] = j == y ? lower.at(r, j) : upper.at(r, j);
    const double top = *std::max_element(worst.begin(), worst.end());
    double sum = 0;
    for (double z : worst) sum += std::exp(z - top);
    total += top + std::log(sum) - worst[size_t(y)];
    for (int64_t j = 0; j < classes; ++j) {
      const double g = std::exp(worst[size_t(j)] - top) / sum - (j == y ? 1.0 : 0.0);
      (j == y ? d_lower.at(r, j) : d_upper.at(r, j)) = float(scale * g);
    }
  }
  return rows > 0 ? total / double(rows) : 0.0;
}

double worst_case_loss(IntervalPropagation& bounds, ConstTensorView x, ConstTensorView y,
                       const CertifiedTrainingOptions& box, double epsilon, double gradient_weight) {
  const ops::ActivationKind output = bounds.output_activation();
  Tensor lower, upper, logits_lower, logits_upper;
  input_box(x, {.epsilon = epsilon, .clip_min = box.clip_min, .clip_max = box.clip_max}, lower, upper);
  bounds.forward(lower, upper, logits_lower, logits_upper, gradient_weight != 0 ? Mode::kTrain : Mode::kInfer);
  const int64_t classes = logits_lower.numel() / std::max<int64_t>(logits_lower.shape(0), 1);
  CITADEL_CHECK(classes == 1 ? output == ops::ActivationKind::kSigmoid : output == ops::ActivationKind::kSoftmax,
                ValueError, "certified training: the model's output is ", classes == 1 ? "one unit" : "several units",
                " without a ", classes == 1 ? "sigmoid" : "softmax",
                "; the worst-case loss here is the cross-entropy of a softmax or of one sigmoid unit");
  Tensor d_lower, d_upper;
  const double loss = robust_cross_entropy(logits_lower, logits_upper, label_classes(y, classes),
                                           gradient_weight, d_lower, d_upper);
  if (gradient_weight != 0) bounds.backward(d_lower, d_upper);
  return loss;
}

// The weight penalties' gradient alone (compute_gradients' includes it once, scaled by κ with
// the rest): added (1 − κ) times so that it counts in full.
void add_penalty_gradient(ParameterStore& params, double weight) {
  bool any = false;
  for (const ParameterInfo& info : params.parameters()) any = any || info.regularizer.active();
  if (!any) return;
  ParameterStore penalties = params;
  penalties.zero_grad();
  penalties.add_regularization_gradient();
  std::span<float> grads = params.grads();
  std::span<const float> extra = penalties.grads();
  for (size_t i = 0; i < grads.size(); ++i) grads[i] += float(weight) * extra[i];
}

}  // namespace

CertifiedTrainingSchedule certified_training_schedule(const CertifiedTrainingOptions& options, int64_t step) {
  if (step < options.warmup_steps) return {0.0, 1.0};
  const double progress = options.ramp_steps == 0 ? 1.0
                                                  : std::min(1.0, double(step - options.warmup_steps + 1) /
                                                                      double(options.ramp_steps));
  return {options.epsilon * progress, 1.0 - (1.0 - options.final_kappa) * progress};
}

double worst_case_loss(Model& model, ConstTensorView x, ConstTensorView y, const CertifiedTrainingOptions& box,
                       double epsilon, double gradient_weight) {
  IntervalPropagation bounds(model);
  return worst_case_loss(bounds, x, y, box, epsilon, gradient_weight);
}

GradientStep certified_training(const CertifiedTrainingOptions& options) {
  check_options(options);
  struct State {
    CertifiedTrainingOptions options;
    int64_t step = 0;
    std::optional<IntervalPropagation> bounds;  // made at the first step, once the model is built
  };
  auto state = std::make_shared<State>();
  state->options = options;
  return [state](Model& model, std::span<const ConstTensorView> x, std::span<const ConstTensorView> y) {
    CITADEL_CHECK(x.size() == 1 && y.size() == 1, ValueError,
                  "certified training: takes a model of one input and one output");
    const CertifiedTrainingSchedule now = certified_training_schedule(state->options, state->step++);
    const double clean = model.compute_gradients(x[0], y[0]);  // also the outputs the metrics read
    if (now.kappa >= 1.0) return clean;
    if (!state->bounds) state->bounds.emplace(model);
    ParameterStore& params = model.parameters();
    for (float& g : params.grads()) g *= float(now.kappa);
    add_penalty_gradient(params, 1.0 - now.kappa);
    const double robust = worst_case_loss(*state->bounds, x[0], y[0], state->options, now.epsilon, 1.0 - now.kappa);
    // compute_gradients' loss holds the penalties once; they count in full in the total too.
    const double penalty = params.regularization_loss();
    return now.kappa * clean + (1.0 - now.kappa) * (robust + penalty);
  };
}

}  // namespace citadel
