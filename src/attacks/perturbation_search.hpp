// The loops FGSM and PGD share (Goodfellow et al. 2015, Madry et al. 2018), over whatever
// tensor an attack moves: a model's input, or a text model's embeddings (embedding_attack).
// Internal to src/attacks.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "citadel/attacks/adversarial.hpp"
#include "citadel/core/random.hpp"

namespace citadel::attack_loops {

// Where an attack moves: the tensor's values in blocks of `block` consecutive values, each
// block kept in its own ε-ball around the original (one example's input; one token's
// vector), every value inside [low[i], high[i]] for its place i in the block (widened to
// contain the original), and the blocks marked in `frozen` (one flag per block of the
// batch: padding tokens) never moved.
struct SearchSpace {
  int64_t block = 1;
  std::vector<float> low, high;  // per place in a block
  std::vector<uint8_t> frozen;   // per block of the batch; empty: none
};

// ValueError for settings no attack can run with: the method, norm, ε, steps, restarts,
// step size and batch size.
void check_search_options(const AttackOptions& o);

// ∂(loss)/∂(the attacked tensor) at the given values, and the loss of each example (N).
using GradientAt = std::function<Tensor(ConstTensorView attacked)>;
using LossesAt = std::function<Tensor(ConstTensorView attacked)>;

// One batch's attacked tensor: FGSM's step, or the strongest per example (by `losses`) of
// `o.restarts` PGD runs. `direction` is +1 to climb the loss (untargeted), -1 to descend it
// (towards a target). `o.epsilon` is the ball's radius in the tensor's units.
Tensor strongest_perturbation(const AttackOptions& o, const SearchSpace& space, ConstTensorView original,
                              const GradientAt& gradient, const LossesAt& losses, float direction, Rng& rng);

}  // namespace citadel::attack_loops
