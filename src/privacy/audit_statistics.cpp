// Lower bounds on ε from canary scores: Clopper–Pearson threshold tests on split halves and
// the one-run bound. Binomial tails in log space (long double), Beta quantiles from Boost.
#include "citadel/privacy/audit_statistics.hpp"

#include <algorithm>
#include <boost/math/special_functions/beta.hpp>
#include <cmath>
#include <limits>
#include <numeric>

#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"

namespace citadel {

double clopper_pearson_lower(int64_t successes, int64_t trials, double alpha) {
  CITADEL_CHECK(successes >= 0 && successes <= trials && alpha > 0 && alpha < 1, ValueError,
                "clopper_pearson_lower: need 0 <= successes <= trials and alpha in (0, 1), got ", successes, ", ",
                trials, ", ", alpha);
  if (successes == 0) return 0.0;
  return boost::math::ibeta_inv(double(successes), double(trials - successes + 1), alpha);
}

double clopper_pearson_upper(int64_t successes, int64_t trials, double alpha) {
  CITADEL_CHECK(successes >= 0 && successes <= trials && alpha > 0 && alpha < 1, ValueError,
                "clopper_pearson_upper: need 0 <= successes <= trials and alpha in (0, 1), got ", successes, ", ",
                trials, ", ", alpha);
  if (successes == trials) return 1.0;
  return boost::math::ibeta_inv(double(successes + 1), double(trials - successes), 1.0 - alpha);
}

double normal_cdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

namespace {

// log((tpr_lower − δ) / fpr_upper) for counts on `positives` and `negatives`, or −∞.
double threshold_epsilon(int64_t true_positives, int64_t positives, int64_t false_positives, int64_t negatives,
                         double delta, double alpha_each) {
  if (positives == 0 || negatives == 0) return -std::numeric_limits<double>::infinity();
  const double tpr = clopper_pearson_lower(true_positives, positives, alpha_each) - delta;
  const double fpr = clopper_pearson_upper(false_positives, negatives, alpha_each);
  if (tpr <= 0) return -std::numeric_limits<double>::infinity();
  return std::log(tpr / fpr);
}

struct Counts {
  int64_t above_in = 0, above_out = 0;  // scores >= threshold
};

Counts count_at(const std::vector<double>& in, const std::vector<double>& out, double threshold) {
  Counts c;
  for (double s : in) c.above_in += s >= threshold;
  for (double s : out) c.above_out += s >= threshold;
  return c;
}

}  // namespace

EpsilonLowerBound threshold_epsilon_lower_bound(const std::vector<double>& in_scores,
                                               const std::vector<double>& out_scores, double delta,
                                               double confidence, uint64_t seed) {
  CITADEL_CHECK(confidence > 0 && confidence < 1, ValueError, "threshold bound: confidence must lie in (0, 1), got ",
                confidence);
  CITADEL_CHECK(delta >= 0 && delta < 1, ValueError, "threshold bound: delta must lie in [0, 1), got ", delta);
  for (const auto* scores : {&in_scores, &out_scores})
    for (double s : *scores)
      CITADEL_CHECK(!std::isnan(s), ValueError, "threshold bound: a score is NaN");
  EpsilonLowerBound bound;
  bound.method = "threshold";
  bound.confidence = confidence;
  // The halves: a random half of each group selects, the other half is judged.
  Rng rng(seed);
  auto halves = [&rng](const std::vector<double>& scores, std::vector<double>& select, std::vector<double>& judge) {
    std::vector<double> shuffled = scores;
    for (size_t i = shuffled.size(); i > 1; --i) std::swap(shuffled[i - 1], shuffled[rng.below(i)]);
    select.assign(shuffled.begin(), shuffled.begin() + static_cast<std::ptrdiff_t>(shuffled.size() / 2));
    judge.assign(shuffled.begin() + static_cast<std::ptrdiff_t>(shuffled.size() / 2), shuffled.end());
  };
  std::vector<double> select_in, judge_in, select_out, judge_out;
  halves(in_scores, select_in, judge_in);
  halves(out_scores, select_out, judge_out);
  bound.positives = static_cast<int64_t>(judge_in.size());
  bound.negatives = static_cast<int64_t>(judge_out.size());
  if (select_in.empty() || select_out.empty() || judge_in.empty() || judge_out.empty()) return bound;

  // Every distinct score of the selection half is a candidate threshold, in both directions;
  // a sweep over the sorted scores counts each in O(1).
  const double alpha_each = (1.0 - confidence) / 2.0;
  std::vector<std::pair<double, int>> sorted;  // (score, 1 for in)
  for (double s : select_in) sorted.emplace_back(s, 1);
  for (double s : select_out) sorted.emplace_back(s, 0);
  std::sort(sorted.begin(), sorted.end());
  const auto n_in = static_cast<int64_t>(select_in.size()), n_out = static_cast<int64_t>(select_out.size());
  int64_t below_in = 0, below_out = 0;  // scores < the current threshold
  double best = 0;
  bool found = false;
  for (size_t i = 0; i < sorted.size();) {
    // Midway between neighbouring scores, so that judged scores fall as selected ones did.
    const double threshold = i == 0 ? -std::numeric_limits<double>::infinity()
                                    : 0.5 * (sorted[i - 1].first + sorted[i].first);
    const double value = sorted[i].first;
    const int64_t above_in = n_in - below_in, above_out = n_out - below_out;
    // "in" when score >= threshold; "out" when score < threshold.
    const double guess_in = threshold_epsilon(above_in, n_in, above_out, n_out, delta, alpha_each);
    const double guess_out = threshold_epsilon(below_out, n_out, below_in, n_in, delta, alpha_each);
    for (const auto& [guess, out_direction] : {std::pair{guess_in, false}, std::pair{guess_out, true}})
      if (guess > best) best = guess, found = true, bound.threshold = threshold, bound.guessing_out = out_direction;
    for (; i < sorted.size() && sorted[i].first == value; ++i) (sorted[i].second ? below_in : below_out) += 1;
  }
  if (!found) return bound;
  const Counts judged = count_at(judge_in, judge_out, bound.threshold);
  if (!bound.guessing_out) {
    bound.true_positives = judged.above_in;
    bound.false_positives = judged.above_out;
    bound.epsilon = std::max(0.0, threshold_epsilon(judged.above_in, bound.positives, judged.above_out, bound.negatives,
                                                    delta, alpha_each));
  } else {  // the roles swap: out canaries are the positives of this test
    bound.true_positives = bound.negatives - judged.above_out;
    bound.false_positives = bound.positives - judged.above_in;
    bound.epsilon = std::max(0.0, threshold_epsilon(bound.true_positives, bound.negatives, bound.false_positives,
                                                    bound.positives, delta, alpha_each));
  }
  return bound;
}

namespace {

// log P[Binomial(n, p) = k], in long double.
long double log_binomial_pmf(int64_t n, int64_t k, long double log_p, long double log_q) {
  return std::lgamma((long double)(n + 1)) - std::lgamma((long double)(k + 1)) -
         std::lgamma((long double)(n - k + 1)) + (long double)k * log_p + (long double)(n - k) * log_q;
}

}  // namespace

double one_run_p_value(int64_t canaries, int64_t guesses, int64_t correct, double epsilon, double delta) {
  CITADEL_CHECK(0 <= correct && correct <= guesses && guesses <= canaries && epsilon >= 0 && delta >= 0 && delta <= 1,
                ValueError, "one_run_p_value: need 0 <= correct <= guesses <= canaries, epsilon >= 0, delta in [0, 1]");
  if (correct == 0) return 1.0;
  // p = e^ε / (1 + e^ε), the accuracy of ε-DP randomized response.
  const long double log_p = -std::log1p(std::exp(-(long double)epsilon));
  const long double log_q = -std::log1p(std::exp((long double)epsilon));
  std::vector<long double> pmf(static_cast<size_t>(guesses + 1));
  // exp underflows to 0 only far in the tails, where the terms are negligible.
  for (int64_t k = 0; k <= guesses; ++k) pmf[size_t(k)] = std::exp(log_binomial_pmf(guesses, k, log_p, log_q));
  long double tail = 0;
  for (int64_t k = correct; k <= guesses; ++k) tail += pmf[size_t(k)];
  long double worst = 0, partial = 0;
  for (int64_t i = 1; i <= correct; ++i) {
    partial += pmf[size_t(correct - i)];
    worst = std::max(worst, partial / (long double)i);
  }
  const long double p = tail + worst * (long double)delta * 2.0L * (long double)canaries;
  return static_cast<double>(std::min<long double>(p, 1.0L));
}

EpsilonLowerBound one_run_epsilon_lower_bound(const std::vector<double>& scores, const std::vector<uint8_t>& included,
                                              double delta, double confidence) {
  CITADEL_CHECK(scores.size() == included.size(), ValueError, "one-run bound: ", scores.size(), " scores for ",
                included.size(), " canaries");
  CITADEL_CHECK(confidence > 0 && confidence < 1, ValueError, "one-run bound: confidence must lie in (0, 1)");
  for (double s : scores) CITADEL_CHECK(!std::isnan(s), ValueError, "one-run bound: a score is NaN");
  EpsilonLowerBound bound;
  bound.method = "one_run";
  bound.confidence = confidence;
  const auto m = static_cast<int64_t>(scores.size());
  std::vector<int64_t> order(static_cast<size_t>(m));
  std::iota(order.begin(), order.end(), 0);
  // Ties broken by index, which is independent of inclusion.
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return scores[a] > scores[b]; });
  std::vector<int64_t> counts;
  for (int64_t base = 1; base <= m / 2; base *= 10)
    for (int64_t factor : {1, 2, 5})
      if (base * factor <= m / 2) counts.push_back(base * factor);
  if (counts.empty()) return bound;
  const double alpha = (1.0 - confidence) / double(counts.size());
  for (int64_t k : counts) {
    int64_t correct = 0;
    for (int64_t i = 0; i < k; ++i) correct += included[size_t(order[size_t(i)])] != 0;
    for (int64_t i = m - k; i < m; ++i) correct += included[size_t(order[size_t(i)])] == 0;
    const int64_t guesses = 2 * k;
    if (one_run_p_value(m, guesses, correct, 0.0, delta) >= alpha) continue;
    double low = 0, high = 1;
    while (high < 64 && one_run_p_value(m, guesses, correct, high, delta) < alpha) high *= 2;
    for (int iteration = 0; iteration < 50; ++iteration) {
      const double middle = 0.5 * (low + high);
      (one_run_p_value(m, guesses, correct, middle, delta) < alpha ? low : high) = middle;
    }
    if (low > bound.epsilon) bound.epsilon = low, bound.guesses = guesses, bound.correct = correct;
  }
  return bound;
}

}  // namespace citadel
