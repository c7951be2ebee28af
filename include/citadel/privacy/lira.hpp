// LiRA, the likelihood-ratio membership attack (Carlini, Chien, Nasr, Song, Terzis and
// Tramèr, "Membership Inference Attacks From First Principles", S&P 2022).
//
// Shadow models of the target's architecture are trained on random halves of the rows the
// audit is given (members and non-members together): every row is in exactly ⌊K/2⌋ of the K
// shadows' training halves. A row's statistic is its logit-scaled confidence,
// φ = log(p / (1 − p)) for p the probability of its true label (from the cross-entropy loss:
// p = e^−loss), on which training moves a row far more than its loss. For each row a
// Gaussian is fitted to φ over the shadows it was in and one over those it was out of (means
// per row, variances pooled over all rows: the paper's fixed-variance variant, which is the
// stronger one below 64 shadows), and
// - online: score = log N(φ_target; μ_in, σ_in²) − log N(φ_target; μ_out, σ_out²);
// - offline (no shadow trained on the row): score = (φ_target − μ_out) / σ_out, the one-sided
//   test of "out".
// Higher scores mean "member"; the attacks are scored like the others (membership.hpp).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "citadel/model/model.hpp"
#include "citadel/privacy/membership.hpp"

namespace citadel {

struct LiraOptions {
  int shadows = 16;         // K ≥ 2
  int epochs = 20;          // each shadow's training (as the target was trained, ideally)
  int64_t batch_size = 32;
  uint64_t seed = 1;        // the halves
};

// φ from a cross-entropy loss (−log p), in double; a loss of 0 (p rounded to 1) reads as
// 1e-12, so φ stays finite.
double logit_confidence(double loss);

struct LiraScores {
  std::vector<double> online, offline;  // per row
};
// The two scores per row from the target's φ per row, each shadow's φ per row
// (shadow_confidence[s][row]) and whether the row was in that shadow's training half.
LiraScores lira_scores(const std::vector<double>& target_confidence,
                       const std::vector<std::vector<double>>& shadow_confidence,
                       const std::vector<std::vector<uint8_t>>& included);

// Which rows each shadow trains on: included[s][row], every row in exactly ⌊shadows/2⌋.
std::vector<std::vector<uint8_t>> lira_halves(int64_t rows, int shadows, uint64_t seed);

// "lira_online" and "lira_offline" against `model` (a classifier compiled with a
// cross-entropy loss); make_shadow returns a fresh compiled model of the same architecture.
std::vector<MembershipAttackResult> lira_membership_attacks(Model& model, const std::vector<ConstTensorView>& member_x,
                                                            const std::vector<ConstTensorView>& member_y,
                                                            const std::vector<ConstTensorView>& non_member_x,
                                                            const std::vector<ConstTensorView>& non_member_y,
                                                            const std::function<Model()>& make_shadow,
                                                            const LiraOptions& options = {});

}  // namespace citadel
