// From the scores of an audit's canaries (or of a membership attack's rows) to a lower bound
// on ε at a confidence level: the threshold test with Clopper–Pearson intervals (Jagielski
// et al. 2020; Nasr et al. 2021) and the one-run bound of Steinke, Nasr and Jagielski
// (NeurIPS 2023). Both are distribution-free: they hold whatever the scores' distribution.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace citadel {

// One-sided Clopper–Pearson bounds on a binomial proportion from `successes` of `trials`:
// the true proportion lies below the lower bound (or above the upper) with probability at
// most alpha. Trials = 0 gives [0, 1].
double clopper_pearson_lower(int64_t successes, int64_t trials, double alpha);
double clopper_pearson_upper(int64_t successes, int64_t trials, double alpha);

struct EpsilonLowerBound {
  std::string method;         // "threshold" or "one_run"
  double epsilon = 0;         // 0 when the scores prove nothing
  double confidence = 0.95;   // the bound holds with at least this probability
  // threshold: the test "score >= threshold means in" (or "< threshold means out" when
  // guessing_out), and its counts on the evaluation half.
  double threshold = 0;
  bool guessing_out = false;
  int64_t positives = 0, negatives = 0;            // in and out canaries evaluated
  int64_t true_positives = 0, false_positives = 0;  // guessing_out: true and false negatives
  // one_run: guesses made (the rest abstain) and how many were right.
  int64_t guesses = 0, correct = 0;
};

// The threshold test (membership as a hypothesis test, Kairouz et al. 2015): an (ε, δ)-DP
// mechanism has TPR ≤ e^ε·FPR + δ and TNR ≤ e^ε·FNR + δ for every test. The scores are
// split at random (seed) into two halves: the threshold and its direction are chosen on
// the first, and on the second the Clopper–Pearson bounds on its rates (each at (1 −
// confidence) / 2) give ε ≥ log((TPR_lower − δ) / FPR_upper), or the same for "out"
// guesses. Choosing the threshold on other scores than those it is judged on is the
// correction that keeps the confidence honest. Higher scores mean "in".
EpsilonLowerBound threshold_epsilon_lower_bound(const std::vector<double>& in_scores,
                                               const std::vector<double>& out_scores, double delta,
                                               double confidence = 0.95, uint64_t seed = 1);

// Steinke, Nasr and Jagielski's Theorem: m canaries each included with probability ½; an
// auditor who guesses r of them (top scores "in", bottom scores "out", the rest abstain) and
// is right on v of them. For an (ε, δ)-DP mechanism, P[v or more right] is at most
// P[Binomial(r, e^ε/(1 + e^ε)) ≥ v] + 2mδ·max_{1≤i≤v} P[v > Binomial(r, ·) ≥ v − i] / i.
double one_run_p_value(int64_t canaries, int64_t guesses, int64_t correct, double epsilon, double delta);

// The largest ε that the observed guesses reject at the confidence level, over a fixed set
// of guess counts (k "in" and k "out" for k = 1, 2, 5, 10, 20, 50, ... up to half the
// canaries; a union bound over the set). `included` says which canaries were in.
EpsilonLowerBound one_run_epsilon_lower_bound(const std::vector<double>& scores, const std::vector<uint8_t>& included,
                                              double delta, double confidence = 0.95);

// The standard normal CDF (the quantile is metrics/normality.hpp's normal_quantile).
double normal_cdf(double x);

}  // namespace citadel
