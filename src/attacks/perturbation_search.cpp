// FGSM's and PGD's steps over blocks of a tensor: ascend, project onto the ε-ball and the
// valid range, random starts and restarts.
#include "perturbation_search.hpp"

#include <algorithm>
#include <cmath>

#include "citadel/core/error.hpp"

namespace citadel::attack_loops {
namespace {

bool is_frozen(const SearchSpace& space, int64_t block) {
  return !space.frozen.empty() && space.frozen[size_t(block)] != 0;
}

// Projects `adversarial` onto the ball around `original` and the valid range (widened to
// contain the original); a frozen block is put back to the original.
void project(const AttackOptions& o, const SearchSpace& space, ConstTensorView original, TensorView adversarial) {
  const int64_t features = space.block, blocks = original.numel() / features;
  for (int64_t r = 0; r < blocks; ++r) {
    const float* x0 = original.data() + r * features;
    float* xa = adversarial.data() + r * features;
    if (is_frozen(space, r)) {
      std::copy_n(x0, features, xa);
      continue;
    }
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
      xa[f] = std::clamp(xa[f], std::min(space.low[size_t(f)], x0[f]), std::max(space.high[size_t(f)], x0[f]));
  }
}

// x += direction · step · (sign(g) for L∞, g/‖g‖ per block for L2).
void ascend(const AttackOptions& o, const SearchSpace& space, float step, float direction, ConstTensorView gradient,
            TensorView x) {
  const int64_t features = space.block, blocks = x.numel() / features;
  for (int64_t r = 0; r < blocks; ++r) {
    if (is_frozen(space, r)) continue;
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

// A uniform point of the L∞ ball, or a uniformly random point of the L2 ball, per block.
void random_start(const AttackOptions& o, const SearchSpace& space, Rng& rng, TensorView x) {
  const int64_t features = space.block, blocks = x.numel() / features;
  std::vector<double> direction(static_cast<size_t>(features));
  for (int64_t r = 0; r < blocks; ++r) {
    if (is_frozen(space, r)) continue;
    float* xa = x.data() + r * features;
    if (o.norm == "linf") {
      for (int64_t f = 0; f < features; ++f) xa[f] += o.epsilon * (2 * rng.uniform() - 1);
      continue;
    }
    double squared = 0;
    for (auto& d : direction) {
      d = rng.normal();
      squared += d * d;
    }
    const double radius = o.epsilon * std::pow(rng.uniform_double(), 1.0 / double(features));
    for (int64_t f = 0; f < features; ++f) xa[f] += static_cast<float>(radius * direction[f] / std::sqrt(squared));
  }
}

// One attack run from the original.
Tensor one_run(const AttackOptions& o, const SearchSpace& space, ConstTensorView original, const GradientAt& gradient,
               float direction, Rng& rng) {
  Tensor adversarial(original.shape());
  std::copy_n(original.data(), original.numel(), adversarial.data());
  if (o.epsilon == 0 || original.numel() == 0) return adversarial;
  if (o.method == "fgsm") {
    ascend(o, space, o.epsilon, direction, gradient(adversarial), adversarial);
    project(o, space, original, adversarial);
    return adversarial;
  }
  if (o.random_start) {
    random_start(o, space, rng, adversarial);
    project(o, space, original, adversarial);
  }
  const float step = o.step_size > 0 ? o.step_size : 2.5f * o.epsilon / float(o.steps);
  for (int s = 0; s < o.steps; ++s) {
    ascend(o, space, step, direction, gradient(adversarial), adversarial);
    project(o, space, original, adversarial);
  }
  return adversarial;
}

}  // namespace

void check_search_options(const AttackOptions& o) {
  CITADEL_CHECK(o.method == "fgsm" || o.method == "pgd", ValueError, "attack: method must be fgsm or pgd, got '",
                o.method, "'");
  CITADEL_CHECK(o.norm == "linf" || o.norm == "l2", ValueError, "attack: norm must be linf or l2, got '", o.norm, "'");
  CITADEL_CHECK(std::isfinite(o.epsilon) && o.epsilon >= 0, ValueError, "attack: epsilon must be >= 0, got ",
                o.epsilon);
  CITADEL_CHECK(o.steps >= 1, ValueError, "attack: steps must be >= 1, got ", o.steps);
  CITADEL_CHECK(o.restarts >= 1, ValueError, "attack: restarts must be >= 1, got ", o.restarts);
  CITADEL_CHECK(o.step_size >= 0, ValueError, "attack: step_size must be >= 0, got ", o.step_size);
  CITADEL_CHECK(o.batch_size >= 1, ValueError, "attack: batch_size must be >= 1, got ", o.batch_size);
}

Tensor strongest_perturbation(const AttackOptions& o, const SearchSpace& space, ConstTensorView original,
                              const GradientAt& gradient, const LossesAt& losses, float direction, Rng& rng) {
  Tensor best = one_run(o, space, original, gradient, direction, rng);
  const int runs = o.method == "pgd" && o.epsilon > 0 ? o.restarts : 1;
  if (runs == 1) return best;
  const int64_t rows = original.shape(0), width = original.numel() / std::max<int64_t>(rows, 1);
  Tensor best_loss = losses(best);
  for (int run = 1; run < runs; ++run) {
    Tensor candidate = one_run(o, space, original, gradient, direction, rng);
    const Tensor loss = losses(candidate);
    for (int64_t r = 0; r < rows; ++r) {
      if (direction * (loss[r] - best_loss[r]) <= 0) continue;  // keep the stronger
      best_loss[r] = loss[r];
      std::copy_n(candidate.data() + r * width, width, best.data() + r * width);
    }
  }
  return best;
}

}  // namespace citadel::attack_loops
