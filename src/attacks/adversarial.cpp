// FGSM and PGD over batches: each step follows model.input_gradient, then projects onto
// the ε-ball and the valid range.
#include "citadel/attacks/adversarial.hpp"

#include <algorithm>
#include <cmath>
#include <memory>

#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"

namespace citadel {
namespace {

struct Bounds {
  std::vector<float> low, high;  // per feature of one input
};

void check_options(const AttackOptions& o, ConstTensorView x) {
  CITADEL_CHECK(o.method == "fgsm" || o.method == "pgd", ValueError, "attack: method must be fgsm or pgd, got '",
                o.method, "'");
  CITADEL_CHECK(o.norm == "linf" || o.norm == "l2", ValueError, "attack: norm must be linf or l2, got '", o.norm, "'");
  CITADEL_CHECK(std::isfinite(o.epsilon) && o.epsilon >= 0, ValueError, "attack: epsilon must be >= 0, got ",
                o.epsilon);
  CITADEL_CHECK(o.steps >= 1, ValueError, "attack: steps must be >= 1, got ", o.steps);
  CITADEL_CHECK(o.restarts >= 1, ValueError, "attack: restarts must be >= 1, got ", o.restarts);
  CITADEL_CHECK(o.step_size >= 0, ValueError, "attack: step_size must be >= 0, got ", o.step_size);
  CITADEL_CHECK(o.batch_size >= 1, ValueError, "attack: batch_size must be >= 1, got ", o.batch_size);
  CITADEL_CHECK(o.clip_min <= o.clip_max, ValueError, "attack: clip_min ", o.clip_min, " is above clip_max ",
                o.clip_max);
  const Shape one = x.shape().without_batch();
  for (const auto* bound : {&o.feature_min, &o.feature_max})
    CITADEL_CHECK(!*bound || (*bound)->shape() == one, ShapeError, "attack: feature_min/feature_max must have the ",
                  "shape of one input ", one, ", got ", (*bound)->shape());
}

Bounds bounds_of(const AttackOptions& o, int64_t features) {
  Bounds b{std::vector<float>(static_cast<size_t>(features), o.clip_min),
           std::vector<float>(static_cast<size_t>(features), o.clip_max)};
  if (o.feature_min) std::copy_n(o.feature_min->data(), features, b.low.begin());
  if (o.feature_max) std::copy_n(o.feature_max->data(), features, b.high.begin());
  return b;
}

// Projects `adversarial` onto the ball around `original` and the valid range (widened
// to contain the original).
void project(const AttackOptions& o, const Bounds& b, ConstTensorView original, TensorView adversarial) {
  const int64_t rows = original.shape(0), features = original.numel() / rows;
  for (int64_t r = 0; r < rows; ++r) {
    const float* x0 = original.data() + r * features;
    float* xa = adversarial.data() + r * features;
    if (o.norm == "linf") {
      for (int64_t f = 0; f < features; ++f) xa[f] = std::clamp(xa[f], x0[f] - o.epsilon, x0[f] + o.epsilon);
    } else {
      double squared = 0;
      for (int64_t f = 0; f < features; ++f) squared += double(xa[f] - x0[f]) * (xa[f] - x0[f]);
      const double norm = std::sqrt(squared);
      if (norm > o.epsilon) {
        const float shrink = static_cast<float>(o.epsilon / norm);
        for (int64_t f = 0; f < features; ++f) xa[f] = x0[f] + (xa[f] - x0[f]) * shrink;
      }
    }
    // Clamping moves coordinates towards the original, so the ball constraint still holds.
    for (int64_t f = 0; f < features; ++f)
      xa[f] = std::clamp(xa[f], std::min(b.low[f], x0[f]), std::max(b.high[f], x0[f]));
  }
}

// x += direction · step · (sign(g) for L∞, g/‖g‖ per example for L2).
void ascend(const AttackOptions& o, float step, float direction, ConstTensorView gradient, TensorView x) {
  const int64_t rows = x.shape(0), features = x.numel() / rows;
  for (int64_t r = 0; r < rows; ++r) {
    const float* g = gradient.data() + r * features;
    float* xa = x.data() + r * features;
    if (o.norm == "linf") {
      for (int64_t f = 0; f < features; ++f) xa[f] += direction * step * float((g[f] > 0) - (g[f] < 0));
    } else {
      double squared = 0;
      for (int64_t f = 0; f < features; ++f) squared += double(g[f]) * g[f];
      if (squared == 0) continue;
      const float scale = static_cast<float>(direction * step / std::sqrt(squared));
      for (int64_t f = 0; f < features; ++f) xa[f] += scale * g[f];
    }
  }
}

// A uniform point of the L∞ ball, or a uniformly random point of the L2 ball.
void random_start(const AttackOptions& o, Rng& rng, TensorView x) {
  const int64_t rows = x.shape(0), features = x.numel() / rows;
  for (int64_t r = 0; r < rows; ++r) {
    float* xa = x.data() + r * features;
    if (o.norm == "linf") {
      for (int64_t f = 0; f < features; ++f) xa[f] += o.epsilon * (2 * rng.uniform() - 1);
      continue;
    }
    std::vector<double> direction(static_cast<size_t>(features));
    double squared = 0;
    for (auto& d : direction) {
      d = rng.normal();
      squared += d * d;
    }
    const double radius = o.epsilon * std::pow(rng.uniform_double(), 1.0 / double(features));
    for (int64_t f = 0; f < features; ++f) xa[f] += static_cast<float>(radius * direction[f] / std::sqrt(squared));
  }
}

// The batch's inputs with the attacked one replaced by `attacked` (the others as given).
std::vector<ConstTensorView> with_attacked(const std::vector<ConstTensorView>& inputs, int input,
                                           ConstTensorView attacked) {
  std::vector<ConstTensorView> all = inputs;
  all[size_t(input)] = attacked;
  return all;
}

// One attack run on one batch: the rows of input `o.input` are moved, the others held.
Tensor attack_batch(Model& model, const std::vector<ConstTensorView>& inputs,
                    const std::vector<ConstTensorView>& labels, const AttackOptions& o, const Bounds& b,
                    float direction, Rng& rng) {
  const ConstTensorView x = inputs[size_t(o.input)];
  Tensor adversarial(x.shape());
  std::copy_n(x.data(), x.numel(), adversarial.data());
  if (o.epsilon == 0) return adversarial;
  auto gradient = [&] { return model.input_gradient(with_attacked(inputs, o.input, adversarial), labels, o.input); };
  if (o.method == "fgsm") {
    ascend(o, o.epsilon, direction, gradient(), adversarial);
    project(o, b, x, adversarial);
    return adversarial;
  }
  if (o.random_start) {
    random_start(o, rng, adversarial);
    project(o, b, x, adversarial);
  }
  const float step = o.step_size > 0 ? o.step_size : 2.5f * o.epsilon / float(o.steps);
  for (int s = 0; s < o.steps; ++s) {
    ascend(o, step, direction, gradient(), adversarial);
    project(o, b, x, adversarial);
  }
  return adversarial;
}

std::vector<ConstTensorView> rows_of(const std::vector<ConstTensorView>& tensors, int64_t begin, int64_t end) {
  std::vector<ConstTensorView> result;
  for (const ConstTensorView& tensor : tensors) result.push_back(tensor.rows(begin, end));
  return result;
}

}  // namespace

Tensor adversarial_examples(Model& model, ConstTensorView x, ConstTensorView y, const AttackOptions& o) {
  CITADEL_CHECK(o.input == 0, ValueError, "attack: input ", o.input, " of a model given one input");
  return adversarial_examples(model, std::vector<ConstTensorView>{x}, std::vector<ConstTensorView>{y}, o);
}

Tensor adversarial_examples(Model& model, const std::vector<ConstTensorView>& inputs,
                            const std::vector<ConstTensorView>& targets, const AttackOptions& o) {
  CITADEL_CHECK(o.input >= 0 && size_t(o.input) < inputs.size(), ValueError, "attack: input ", o.input,
                " out of range; ", inputs.size(), " input", inputs.size() == 1 ? " was" : "s were", " given");
  const ConstTensorView x = inputs[size_t(o.input)];
  check_options(o, x);
  for (const ConstTensorView& other : inputs)
    CITADEL_CHECK(other.rank() >= 1 && other.shape(0) == x.shape(0), ShapeError, "attack: the inputs have ",
                  x.shape(0), " and ", other.rank() >= 1 ? other.shape(0) : 0, " rows");
  for (const ConstTensorView& y : targets)
    CITADEL_CHECK(y.rank() >= 1 && y.shape(0) == x.shape(0), ShapeError, "attack: x has ", x.shape(0),
                  " rows but y has ", y.rank() >= 1 ? y.shape(0) : 0);
  if (o.targets) {
    CITADEL_CHECK(targets.size() == 1, ValueError, "attack: a targeted attack takes a model of one output; this one has ",
                  targets.size());
    CITADEL_CHECK(o.targets->shape() == targets[0].shape(), ShapeError, "attack: targets must have the shape of y ",
                  targets[0].shape(), ", got ", o.targets->shape());
  }
  const int64_t rows = x.shape(0), features = x.numel() / std::max<int64_t>(rows, 1);
  const Bounds b = bounds_of(o, features);
  const bool targeted = o.targets.has_value();
  const std::vector<ConstTensorView> labels = targeted ? std::vector<ConstTensorView>{*o.targets} : targets;
  const float direction = targeted ? -1.0f : 1.0f;  // towards the target: descend its loss
  Rng rng(o.seed);
  Tensor result(x.shape());
  for (int64_t begin = 0; begin < rows; begin += o.batch_size) {
    const int64_t end = std::min(begin + o.batch_size, rows);
    const std::vector<ConstTensorView> batch = rows_of(inputs, begin, end), batch_labels = rows_of(labels, begin, end);
    Tensor best = attack_batch(model, batch, batch_labels, o, b, direction, rng);
    const int runs = o.method == "pgd" && o.epsilon > 0 ? o.restarts : 1;
    if (runs > 1) {
      Tensor best_loss = model.per_example_loss(with_attacked(batch, o.input, best), batch_labels);
      for (int run = 1; run < runs; ++run) {
        Tensor candidate = attack_batch(model, batch, batch_labels, o, b, direction, rng);
        const Tensor loss = model.per_example_loss(with_attacked(batch, o.input, candidate), batch_labels);
        const int64_t width = features;
        for (int64_t r = 0; r < end - begin; ++r) {
          if (direction * (loss[r] - best_loss[r]) <= 0) continue;  // keep the stronger
          best_loss[r] = loss[r];
          std::copy_n(candidate.data() + r * width, width, best.data() + r * width);
        }
      }
    }
    std::copy_n(best.data(), best.numel(), result.data() + begin * features);
  }
  return result;
}

namespace {

// Rows whose predicted class (the first output's) is y's.
std::vector<uint8_t> correct_rows(const Tensor& predictions, ConstTensorView y) {
  const int64_t rows = predictions.shape(0), outputs = predictions.numel() / std::max<int64_t>(rows, 1);
  const std::vector<int64_t> predicted = predicted_classes(predictions), truth = label_classes(y, outputs);
  std::vector<uint8_t> correct(static_cast<size_t>(rows));
  for (size_t r = 0; r < correct.size(); ++r) correct[r] = predicted[r] == truth[r];
  return correct;
}

}  // namespace

std::vector<int64_t> predicted_classes(const Tensor& predictions) {
  const int64_t rows = predictions.shape(0), outputs = predictions.numel() / std::max<int64_t>(rows, 1);
  std::vector<int64_t> classes(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    const float* p = predictions.data() + r * outputs;
    classes[size_t(r)] = outputs == 1 ? int64_t(p[0] >= 0.5f) : std::max_element(p, p + outputs) - p;
  }
  return classes;
}

std::vector<int64_t> label_classes(ConstTensorView y, int64_t classes) {
  const int64_t rows = y.shape(0);
  const bool one_hot = y.rank() == 2 && y.shape(1) == classes && classes > 1;
  std::vector<int64_t> labels(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    if (one_hot) {
      const float* row = y.data() + r * classes;
      labels[size_t(r)] = std::max_element(row, row + classes) - row;
    } else {
      labels[size_t(r)] = classes == 1 ? int64_t(y[r] >= 0.5f) : int64_t(y[r]);
    }
  }
  return labels;
}

std::vector<uint8_t> correct_predictions(Model& model, ConstTensorView x, ConstTensorView y) {
  return correct_rows(model.predict(x, {.batch_size = 1024}), y);
}

std::vector<RobustnessPoint> robustness_curve(Model& model, ConstTensorView x, ConstTensorView y,
                                              const AttackOptions& attack, const std::vector<double>& epsilons) {
  return robustness_curve(model, std::vector<ConstTensorView>{x}, y, attack, epsilons);
}

std::vector<RobustnessPoint> robustness_curve(Model& model, const std::vector<ConstTensorView>& inputs,
                                              ConstTensorView y, const AttackOptions& attack,
                                              const std::vector<double>& epsilons) {
  CITADEL_CHECK(attack.input >= 0 && size_t(attack.input) < inputs.size(), ValueError, "attack: input ",
                attack.input, " out of range; ", inputs.size(), " input", inputs.size() == 1 ? " was" : "s were",
                " given");
  std::vector<RobustnessPoint> curve;
  const ConstTensorView x = inputs[size_t(attack.input)];
  const int64_t rows = x.shape(0), features = x.numel() / std::max<int64_t>(rows, 1);
  for (double epsilon : epsilons) {
    AttackOptions options = attack;
    options.epsilon = static_cast<float>(epsilon);
    const Tensor adversarial = adversarial_examples(model, inputs, {y}, options);
    std::vector<ConstTensorView> attacked = inputs;
    attacked[size_t(attack.input)] = adversarial;
    const Tensor predictions = model.predict(attacked, {.batch_size = 1024}).front();
    const auto correct = correct_rows(predictions, y);
    RobustnessPoint point{epsilon};
    point.accuracy = double(std::count(correct.begin(), correct.end(), 1)) / double(rows);
    if (attack.targets) {
      const auto hit = correct_rows(predictions, *attack.targets);
      point.attack_success = double(std::count(hit.begin(), hit.end(), 1)) / double(rows);
    } else {
      point.attack_success = 1.0 - point.accuracy;
    }
    for (int64_t r = 0; r < rows; ++r) {
      double linf = 0, squared = 0;
      for (int64_t f = 0; f < features; ++f) {
        const double d = adversarial[r * features + f] - x[r * features + f];
        linf = std::max(linf, std::fabs(d));
        squared += d * d;
      }
      point.mean_linf += linf / double(rows);
      point.mean_l2 += std::sqrt(squared) / double(rows);
    }
    curve.push_back(point);
  }
  return curve;
}

BatchTransform adversarial_training(const AttackOptions& attack, double clean_fraction) {
  CITADEL_CHECK(clean_fraction >= 0 && clean_fraction < 1, ValueError,
                "adversarial_training: clean_fraction must lie in [0, 1), got ", clean_fraction);
  CITADEL_CHECK(!attack.targets, ValueError, "adversarial_training: use an untargeted attack");
  auto seed = std::make_shared<uint64_t>(attack.seed);
  return [attack, clean_fraction, seed](Model& model, std::span<const TensorView> inputs,
                                        std::span<const ConstTensorView> targets) {
    CITADEL_CHECK(attack.input >= 0 && size_t(attack.input) < inputs.size(), ValueError,
                  "adversarial_training: input ", attack.input, " out of range; the model has ", inputs.size(),
                  " inputs");
    const TensorView batch_x = inputs[size_t(attack.input)];
    const int64_t rows = batch_x.shape(0);
    const auto clean = static_cast<int64_t>(std::llround(clean_fraction * double(rows)));
    if (clean >= rows) return;
    AttackOptions options = attack;
    options.seed = (*seed)++;  // a fresh random start per batch
    std::vector<ConstTensorView> attacked_rows, labels;
    for (const TensorView& input : inputs) attacked_rows.push_back(ConstTensorView(input).rows(clean, rows));
    for (const ConstTensorView& target : targets) labels.push_back(target.rows(clean, rows));
    const Tensor adversarial = adversarial_examples(model, attacked_rows, labels, options);
    std::copy_n(adversarial.data(), adversarial.numel(), batch_x.data() + clean * (batch_x.numel() / rows));
  };
}

}  // namespace citadel
