// FGSM and PGD on a text model's embeddings: the continuous vectors its Embedding layer
// outputs, not the token ids (which have no gradient). An embedding-space attack bounds how
// far each token's vector may move; it says how robust the model is to small moves of its
// internal representation, an upper bound on what word substitutions can do only in the
// sense that it is a stronger adversary, not a claim about real text. The nearest-token
// projection maps each moved vector to the table's closest row, giving the real token
// sequence an attacker would have to send, and whether it still fools the model.
// docs/SECURITY.md, "Text models: embedding-space attacks", says what this does and does not claim.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "citadel/attacks/adversarial.hpp"
#include "citadel/core/tensor.hpp"
#include "citadel/model/model.hpp"

namespace citadel {

struct EmbeddingAttackOptions {
  // method, norm, steps, step_size, restarts, random start, targets, batch_size, seed as for
  // input attacks. attack.epsilon is RELATIVE: a fraction of the table's scale (see
  // embedding_scale), each token's vector staying within ε·scale of its own; clip_min,
  // clip_max, feature_min/max and input are not used (embeddings have no valid range).
  AttackOptions attack;
  std::string layer;       // the Embedding attacked; empty: the model's one Embedding
  int64_t padding_id = 0;  // positions holding this id are never moved (-1: every position)
};

// The Embedding an embedding-space attack moves: `layer`, or the model's one Embedding when
// empty, which must read one of the model's inputs directly (the token ids). ValueError
// naming the model when it has no Embedding (or several and none was named).
struct EmbeddingSite {
  std::string layer;
  int input = 0;  // the model input holding its ids
};
EmbeddingSite find_embedding(const Model& model, const std::string& layer = "");

// The table's scale in `norm`: the mean over its rows but the padding id's of ‖row‖₂
// ("l2") or ‖row‖∞ ("linf"). ε·scale is the per-token radius.
double embedding_scale(const Model& model, const std::string& layer, const std::string& norm, int64_t padding_id = 0);

// The Embedding's outputs for `inputs` moved to climb the loss of `targets` (descend it
// towards attack.targets), each non-padding token's vector within ε·scale of its clean one
// in the attack's norm: (N, T, ..., D), the Embedding's output shape.
Tensor embedding_adversarial_examples(Model& model, const std::vector<ConstTensorView>& inputs,
                                      const std::vector<ConstTensorView>& targets,
                                      const EmbeddingAttackOptions& options);

// The nearest-token projection: each vector of `vectors` (the Embedding's output shape) mapped
// to the id of the table's row nearest to it in L2 (rows but the padding id's; a tie keeps
// the original id), positions holding the padding id kept. `ids` are the original ids.
struct TokenProjection {
  Tensor ids;                          // the ids' shape
  int64_t tokens = 0;                  // positions that are not padding
  int64_t tokens_changed = 0;          // of them, those whose nearest row is another id
  std::vector<uint8_t> row_changed;    // per row: some token changed
};
TokenProjection nearest_tokens(ConstTensorView table, ConstTensorView vectors, ConstTensorView ids,
                               int64_t padding_id = 0);

struct EmbeddingRobustnessPoint {
  double epsilon = 0;         // relative, as given
  double radius = 0;          // ε·scale: each token's bound in the embedding's units
  double accuracy = 0;        // on the perturbed embeddings
  double attack_success = 0;  // moved off the label (targeted: onto the target)
  double mean_token_l2 = 0, mean_token_linf = 0;  // the perturbation per non-padding token
  // The nearest-token projection of the perturbed embeddings: real token sequences.
  int64_t tokens = 0, tokens_changed = 0;
  double rows_with_changed_tokens = 0;   // share of rows
  double projected_accuracy = 0;         // the model's accuracy on the projected ids
  double projected_attack_success = 0;   // as attack_success, on the projected ids
};

// For each relative ε: accuracy on the perturbed embeddings and on their nearest-token
// projections. ε = 0 gives the clean accuracy twice. The first output classifies; y as the
// loss wants it (class indices, or one-hot rows).
std::vector<EmbeddingRobustnessPoint> embedding_robustness_curve(Model& model,
                                                                 const std::vector<ConstTensorView>& inputs,
                                                                 ConstTensorView y, const EmbeddingAttackOptions& options,
                                                                 const std::vector<double>& epsilons);

}  // namespace citadel
