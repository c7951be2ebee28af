// Membership-inference audits: how well an attacker tells a model's training rows
// ("members") from rows it never saw, which measures how much the model leaks about
// its training data.
//
// - loss threshold (Yeom et al. 2018): members tend to have lower loss; score = −loss.
// - calibrated loss (Watson et al. 2022; the idea behind Carlini et al. 2022's LiRA in a
//   light form): a reference model of the same architecture is trained on half of the
//   holdout rows, and score = loss_reference(x) − loss_target(x), which discounts rows that
//   are simply easy or hard. Its non-members are the other half of the holdout rows.
// - LiRA (Carlini et al., S&P 2022; privacy/lira.hpp): shadow models on random halves of the
//   rows, a Gaussian fit of each row's logit-scaled confidence in and out.
// Every attack reports TPR at 0.1 % and 1 % FPR (the figures that matter: AUC hides them) and
// the ε it proves, a lower bound at 95 % (audit_statistics' threshold test, δ = 1e-5).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "citadel/metrics/curves.hpp"
#include "citadel/model/sequential.hpp"

namespace citadel {

struct MembershipAttackResult {
  std::string attack;
  double auc = 0.5;                // ROC AUC of member vs non-member scores (0.5: no leak)
  double balanced_accuracy = 0.5;  // at the best threshold
  double tpr_at_1_percent_fpr = 0;  // true-positive rate when 1 % of non-members are flagged
  double tpr_at_0_1_percent_fpr = 0;  // ... when 0.1 % are (with fewer than 1,000 non-members: none)
  double epsilon_lower_bound = 0;  // the ε (at δ = 1e-5) the scores prove, at 95 % confidence
  int64_t members = 0, non_members = 0;
  RocCurve roc;  // members as positives; its auc is `auc`
};

// The figures for scores where higher means "member".
MembershipAttackResult score_membership_attack(const std::string& attack, const std::vector<double>& member_scores,
                                               const std::vector<double>& non_member_scores);

struct MembershipAuditOptions {
  int reference_epochs = 20;
  int64_t batch_size = 32;
  uint64_t seed = 1;
};

// Runs both attacks on `model`; make_reference returns a fresh compiled model of the same
// architecture (untrained) for the calibrated attack, or is empty to skip it.
std::vector<MembershipAttackResult> audit_membership(Model& model, ConstTensorView train_x,
                                                     ConstTensorView train_y, ConstTensorView holdout_x,
                                                     ConstTensorView holdout_y,
                                                     const std::function<Model()>& make_reference,
                                                     const MembershipAuditOptions& options = {});
// A model of several inputs and outputs: one tensor per input (x) and per output (y).
std::vector<MembershipAttackResult> audit_membership(Model& model, const std::vector<ConstTensorView>& train_x,
                                                     const std::vector<ConstTensorView>& train_y,
                                                     const std::vector<ConstTensorView>& holdout_x,
                                                     const std::vector<ConstTensorView>& holdout_y,
                                                     const std::function<Model()>& make_reference,
                                                     const MembershipAuditOptions& options = {});

}  // namespace citadel
