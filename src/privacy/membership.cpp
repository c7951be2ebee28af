// Membership-inference attacks scored by ROC AUC, balanced accuracy and TPR at 1 % FPR.
#include "citadel/privacy/membership.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"
#include "citadel/data/split.hpp"
#include "citadel/metrics/metric.hpp"
#include "citadel/privacy/audit_statistics.hpp"

namespace citadel {
namespace {

std::vector<double> negated(const Tensor& values) {
  std::vector<double> result(static_cast<size_t>(values.numel()));
  for (int64_t i = 0; i < values.numel(); ++i) result[i] = -double(values[i]);
  return result;
}

}  // namespace

MembershipAttackResult score_membership_attack(const std::string& attack, const std::vector<double>& members,
                                               const std::vector<double>& non_members) {
  CITADEL_CHECK(!members.empty() && !non_members.empty(), ValueError, "membership audit (", attack,
                "): needs member and non-member rows, got ", members.size(), " and ", non_members.size());
  for (const auto* scores : {&members, &non_members})
    for (double s : *scores)
      CITADEL_CHECK(!std::isnan(s), ValueError, "membership audit (", attack, "): a score is NaN (the model's loss "
                    "on some row is not a number); the audit cannot rank it");
  MembershipAttackResult result;
  result.attack = attack;
  result.members = static_cast<int64_t>(members.size());
  result.non_members = static_cast<int64_t>(non_members.size());
  std::vector<float> scores;
  std::vector<unsigned char> labels;
  for (double s : members) scores.push_back(static_cast<float>(s)), labels.push_back(1);
  for (double s : non_members) scores.push_back(static_cast<float>(s)), labels.push_back(0);
  // Balanced accuracy and TPR at 1 % FPR over every threshold of the exact curve ("member"
  // means score >= threshold, tied scores together); the thinned curve is for reports.
  const RocCurve exact = roc_curve(scores, labels, std::numeric_limits<size_t>::max());
  result.auc = exact.auc;
  result.balanced_accuracy = 0.5;
  for (size_t i = 0; i < exact.false_positive_rate.size(); ++i) {
    const double tpr = exact.true_positive_rate[i], fpr = exact.false_positive_rate[i];
    result.balanced_accuracy = std::max(result.balanced_accuracy, 0.5 * (tpr + 1 - fpr));
    if (fpr <= 0.01) result.tpr_at_1_percent_fpr = std::max(result.tpr_at_1_percent_fpr, tpr);
    if (fpr <= 0.001) result.tpr_at_0_1_percent_fpr = std::max(result.tpr_at_0_1_percent_fpr, tpr);
  }
  result.roc = roc_curve(scores, labels);
  // A threshold test needs a few rows of each kind in both of its halves.
  if (members.size() >= 4 && non_members.size() >= 4)
    result.epsilon_lower_bound = threshold_epsilon_lower_bound(members, non_members, 1e-5).epsilon;
  return result;
}

std::vector<MembershipAttackResult> audit_membership(Model& model, ConstTensorView train_x,
                                                     ConstTensorView train_y, ConstTensorView holdout_x,
                                                     ConstTensorView holdout_y,
                                                     const std::function<Model()>& make_reference,
                                                     const MembershipAuditOptions& options) {
  return audit_membership(model, std::vector<ConstTensorView>{train_x}, std::vector<ConstTensorView>{train_y},
                          std::vector<ConstTensorView>{holdout_x}, std::vector<ConstTensorView>{holdout_y},
                          make_reference, options);
}

std::vector<MembershipAttackResult> audit_membership(Model& model, const std::vector<ConstTensorView>& train_x,
                                                     const std::vector<ConstTensorView>& train_y,
                                                     const std::vector<ConstTensorView>& holdout_x,
                                                     const std::vector<ConstTensorView>& holdout_y,
                                                     const std::function<Model()>& make_reference,
                                                     const MembershipAuditOptions& options) {
  CITADEL_CHECK(!holdout_x.empty() && !train_x.empty(), ValueError, "membership audit: no inputs given");
  const Tensor member_loss = model.per_example_loss(train_x, train_y);
  const Tensor non_member_loss = model.per_example_loss(holdout_x, holdout_y);
  std::vector<MembershipAttackResult> results{
      score_membership_attack("loss_threshold", negated(member_loss), negated(non_member_loss))};
  if (!make_reference) return results;

  // Calibrated: a reference model trained on half of the holdout rows.
  const int64_t holdout = holdout_x[0].shape(0);
  CITADEL_CHECK(holdout >= 4, ValueError, "membership audit: the calibrated attack needs at least 4 holdout rows");
  std::vector<int64_t> rows(static_cast<size_t>(holdout));
  std::iota(rows.begin(), rows.end(), 0);
  Rng rng(options.seed);
  for (int64_t i = holdout - 1; i > 0; --i) std::swap(rows[i], rows[rng.below(static_cast<uint64_t>(i + 1))]);
  const std::vector<int64_t> reference_rows(rows.begin(), rows.begin() + holdout / 2);
  const std::vector<int64_t> test_rows(rows.begin() + holdout / 2, rows.end());
  std::vector<Tensor> reference_x, reference_y;
  for (const ConstTensorView& x : holdout_x) reference_x.push_back(take_rows(x, reference_rows));
  for (const ConstTensorView& y : holdout_y) reference_y.push_back(take_rows(y, reference_rows));
  Model reference = make_reference();
  reference.fit(std::vector<ConstTensorView>(reference_x.begin(), reference_x.end()),
                std::vector<ConstTensorView>(reference_y.begin(), reference_y.end()),
                {.epochs = options.reference_epochs, .batch_size = options.batch_size, .verbose = 0,
                 .seed = options.seed});
  const Tensor reference_member = reference.per_example_loss(train_x, train_y);
  const Tensor reference_non_member = reference.per_example_loss(holdout_x, holdout_y);
  std::vector<double> member_scores, non_member_scores;
  for (int64_t i = 0; i < member_loss.numel(); ++i)
    member_scores.push_back(double(reference_member[i]) - member_loss[i]);
  for (int64_t i : test_rows) non_member_scores.push_back(double(reference_non_member[i]) - non_member_loss[i]);
  results.push_back(score_membership_attack("calibrated_loss", member_scores, non_member_scores));
  return results;
}

}  // namespace citadel
