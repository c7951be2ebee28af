// FGSM and PGD on a model's input over batches: each step follows model.input_gradient
// (the steps and projections are perturbation_search's).
#include "citadel/attacks/adversarial.hpp"

#include <algorithm>
#include <cmath>
#include <memory>

#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"
#include "perturbation_search.hpp"

namespace citadel {
namespace {

void check_options(const AttackOptions& o, ConstTensorView x) {
  attack_loops::check_search_options(o);
  CITADEL_CHECK(o.clip_min <= o.clip_max, ValueError, "attack: clip_min ", o.clip_min, " is above clip_max ",
                o.clip_max);
  const Shape one = x.shape().without_batch();
  for (const auto* bound : {&o.feature_min, &o.feature_max})
    CITADEL_CHECK(!*bound || (*bound)->shape() == one, ShapeError, "attack: feature_min/feature_max must have the ",
                  "shape of one input ", one, ", got ", (*bound)->shape());
}

// An input attack's space: one ball per example, the valid range per feature.
attack_loops::SearchSpace input_space(const AttackOptions& o, int64_t features) {
  attack_loops::SearchSpace space{.block = features,
                                  .low = std::vector<float>(static_cast<size_t>(features), o.clip_min),
                                  .high = std::vector<float>(static_cast<size_t>(features), o.clip_max),
                                  .frozen = {}};
  if (o.feature_min) std::copy_n(o.feature_min->data(), features, space.low.begin());
  if (o.feature_max) std::copy_n(o.feature_max->data(), features, space.high.begin());
  return space;
}

// The batch's inputs with the attacked one replaced by `attacked` (the others as given).
std::vector<ConstTensorView> with_attacked(const std::vector<ConstTensorView>& inputs, int input,
                                           ConstTensorView attacked) {
  std::vector<ConstTensorView> all = inputs;
  all[size_t(input)] = attacked;
  return all;
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
  const attack_loops::SearchSpace space = input_space(o, features);
  const bool targeted = o.targets.has_value();
  const std::vector<ConstTensorView> labels = targeted ? std::vector<ConstTensorView>{*o.targets} : targets;
  const float direction = targeted ? -1.0f : 1.0f;  // towards the target: descend its loss
  Rng rng(o.seed);
  Tensor result(x.shape());
  for (int64_t begin = 0; begin < rows; begin += o.batch_size) {
    const int64_t end = std::min(begin + o.batch_size, rows);
    const std::vector<ConstTensorView> batch = rows_of(inputs, begin, end), batch_labels = rows_of(labels, begin, end);
    const attack_loops::GradientAt gradient = [&](ConstTensorView attacked) {
      return model.input_gradient(with_attacked(batch, o.input, attacked), batch_labels, o.input);
    };
    const attack_loops::LossesAt losses = [&](ConstTensorView attacked) {
      return model.per_example_loss(with_attacked(batch, o.input, attacked), batch_labels);
    };
    const Tensor best = attack_loops::strongest_perturbation(o, space, batch[size_t(o.input)], gradient, losses,
                                                             direction, rng);
    std::copy_n(best.data(), best.numel(), result.data() + begin * features);
  }
  return result;
}

std::vector<uint8_t> correct_rows(const Tensor& predictions, ConstTensorView y) {
  const int64_t rows = predictions.shape(0), outputs = predictions.numel() / std::max<int64_t>(rows, 1);
  const std::vector<int64_t> predicted = predicted_classes(predictions), truth = label_classes(y, outputs);
  std::vector<uint8_t> correct(static_cast<size_t>(rows));
  for (size_t r = 0; r < correct.size(); ++r) correct[r] = predicted[r] == truth[r];
  return correct;
}

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
