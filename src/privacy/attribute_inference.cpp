// Attribute inference by the model's loss over each candidate value, against the baseline
// that never queries the model, with percentile bootstrap intervals over rows.
#include "citadel/privacy/attribute_inference.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"
#include "citadel/model/model.hpp"

namespace citadel {
namespace {

double mean(const std::vector<double>& values) {
  return values.empty() ? 0 : std::accumulate(values.begin(), values.end(), 0.0) / double(values.size());
}

// Linear interpolation between order statistics (numpy.quantile's default).
double quantile(const std::vector<double>& sorted, double p) {
  const double position = p * double(sorted.size() - 1);
  const size_t below = static_cast<size_t>(std::floor(position));
  const size_t above = std::min(below + 1, sorted.size() - 1);
  return sorted[below] + (position - double(below)) * (sorted[above] - sorted[below]);
}

// Each row's true candidate: its category (−1 for an unseen one, encoded as all zeros, which
// no guess gets right), or the grid point nearest its value (the lower one on a tie).
std::vector<int64_t> true_candidates(ConstTensorView x, const AttributeSpec& attribute,
                                     const std::vector<double>& grid) {
  const int64_t rows = x.shape(0), width = x.shape(1);
  std::vector<int64_t> truth(static_cast<size_t>(rows), -1);
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = x.data() + r * width;
    if (attribute.categorical) {
      for (size_t k = 0; k < attribute.features.size(); ++k)
        if (row[attribute.features[k]] > 0.5f) truth[r] = static_cast<int64_t>(k);
      continue;
    }
    const double value = row[attribute.features[0]];
    double nearest = INFINITY;
    for (size_t k = 0; k < grid.size(); ++k)
      if (std::fabs(grid[k] - value) < nearest) nearest = std::fabs(grid[k] - value), truth[r] = static_cast<int64_t>(k);
  }
  return truth;
}

// The attacker's guess per row: the candidate of lowest loss − log prior (Fredrikson et al.'s
// most likely value: for a cross-entropy loss, the largest p(label | candidate)·prior).
// Scores equal within float rounding are a tie, and a tie falls back on the baseline's guess
// (then the first candidate): a model that ignores the column tells the attacker nothing, and
// it guesses as if unaided.
std::vector<int64_t> attack_guesses(const RowLossQuery& loss, ConstTensorView x, ConstTensorView y,
                                    const AttributeSpec& attribute, const std::vector<double>& grid,
                                    const std::vector<double>& log_prior, int64_t baseline) {
  const int64_t candidates = static_cast<int64_t>(log_prior.size());
  const int64_t rows = x.shape(0), width = x.shape(1);
  std::vector<std::vector<double>> losses;  // [candidate][row]
  Tensor queried = Tensor::from(x);
  for (int64_t k = 0; k < candidates; ++k) {
    for (int64_t r = 0; r < rows; ++r) {
      float* row = queried.data() + r * width;
      if (attribute.categorical)
        for (size_t j = 0; j < attribute.features.size(); ++j) row[attribute.features[j]] = int64_t(j) == k ? 1.0f : 0.0f;
      else
        row[attribute.features[0]] = static_cast<float>(grid[k]);
    }
    losses.push_back(loss(queried.view(), y));
    CITADEL_CHECK(int64_t(losses.back().size()) == rows, ValueError, "attribute inference (", attribute.name,
                  "): the loss query gave ", losses.back().size(), " losses for ", rows, " rows");
    for (double& value : losses.back()) value -= log_prior[k];
  }
  std::vector<int64_t> guesses(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    double lowest = INFINITY;
    for (int64_t k = 0; k < candidates; ++k) lowest = std::min(lowest, losses[k][r]);
    const double tied = lowest + 1e-6 * std::max(1.0, std::fabs(lowest));
    int64_t guess = -1;
    for (int64_t k = candidates - 1; k >= 0; --k)
      if (losses[k][r] <= tied) guess = k;
    if (losses[baseline][r] <= tied) guess = baseline;
    guesses[r] = guess;
  }
  return guesses;
}

}  // namespace

BootstrapInterval bootstrap_interval(const std::vector<double>& a, const std::vector<double>& b, int resamples,
                                     double confidence, uint64_t seed) {
  CITADEL_CHECK(!a.empty() && resamples >= 1 && confidence > 0 && confidence < 1, ValueError,
                "bootstrap_interval: needs rows, a resample or more and 0 < confidence < 1, got ", a.size(), " rows, ",
                resamples, " resamples, confidence ", confidence);
  Rng rng(seed);
  std::vector<double> statistics(static_cast<size_t>(resamples));
  for (double& statistic : statistics) {
    double sum_a = 0, sum_b = 0;
    for (size_t i = 0; i < a.size(); ++i) sum_a += a[rng.below(a.size())];
    for (size_t i = 0; i < b.size(); ++i) sum_b += b[rng.below(b.size())];
    statistic = sum_a / double(a.size()) - (b.empty() ? 0 : sum_b / double(b.size()));
  }
  std::sort(statistics.begin(), statistics.end());
  return {quantile(statistics, (1 - confidence) / 2), quantile(statistics, (1 + confidence) / 2)};
}

AttributeInferenceResult attribute_inference(const RowLossQuery& loss, ConstTensorView member_x,
                                             ConstTensorView member_y, ConstTensorView non_member_x,
                                             ConstTensorView non_member_y, const AttributeSpec& attribute,
                                             const AttributeInferenceOptions& options) {
  CITADEL_CHECK(member_x.rank() == 2 && non_member_x.rank() == 2 && member_x.shape(1) == non_member_x.shape(1),
                ShapeError, "attribute inference: needs member and non-member rows (N, D) of one width, got ",
                member_x.shape(), " and ", non_member_x.shape());
  CITADEL_CHECK(member_x.shape(0) > 0 && non_member_x.shape(0) > 0, ValueError,
                "attribute inference: needs member and non-member rows, got ", member_x.shape(0), " and ",
                non_member_x.shape(0));
  CITADEL_CHECK(!attribute.features.empty() && (attribute.categorical || attribute.features.size() == 1), ValueError,
                "attribute inference (", attribute.name, "): a number is one feature, categories one or more; got ",
                attribute.features.size());
  for (int64_t feature : attribute.features)
    CITADEL_CHECK(feature >= 0 && feature < member_x.shape(1), ValueError, "attribute inference (", attribute.name,
                  "): feature ", feature, " is outside rows of ", member_x.shape(1));
  CITADEL_CHECK(options.grid >= 2, ValueError, "attribute inference: a grid of 2 values or more, got ", options.grid);
  AttributeInferenceResult result;
  result.attribute = attribute.name;
  result.categorical = attribute.categorical;
  result.confidence = options.confidence;
  result.resamples = options.resamples;
  // A number's grid: quantiles of all the audited rows' values (as the attacker would know the
  // column's distribution), repeated values merged.
  if (!attribute.categorical) {
    std::vector<double> values;
    for (ConstTensorView x : {member_x, non_member_x})
      for (int64_t r = 0; r < x.shape(0); ++r) values.push_back(x.data()[r * x.shape(1) + attribute.features[0]]);
    std::sort(values.begin(), values.end());
    for (int i = 0; i < options.grid; ++i) result.candidates.push_back(quantile(values, (i + 0.5) / options.grid));
    result.candidates.erase(std::unique(result.candidates.begin(), result.candidates.end()), result.candidates.end());
  }
  result.candidate_count =
      attribute.categorical ? int64_t(attribute.features.size()) : int64_t(result.candidates.size());
  const std::vector<int64_t> member_truth = true_candidates(member_x, attribute, result.candidates),
                             non_member_truth = true_candidates(non_member_x, attribute, result.candidates);
  // The baseline: the most common true candidate over all the rows (the first on a tie).
  std::vector<int64_t> counts(static_cast<size_t>(result.candidate_count), 0);
  for (const auto* truth : {&member_truth, &non_member_truth})
    for (int64_t t : *truth)
      if (t >= 0) ++counts[t];
  result.baseline_guess = std::max_element(counts.begin(), counts.end()) - counts.begin();
  // The attacker's prior: the categories' shares (add-one smoothed, so that a category no row
  // has can still be guessed); flat for a number, whose grid points are quantiles, each of
  // about the same share of the rows.
  std::vector<double> log_prior(static_cast<size_t>(result.candidate_count), 0.0);
  if (attribute.categorical) {
    const double total = double(member_x.shape(0) + non_member_x.shape(0) + result.candidate_count);
    for (size_t k = 0; k < log_prior.size(); ++k) log_prior[k] = std::log(double(counts[k] + 1) / total);
  }

  std::vector<double> advantages[2];
  const ConstTensorView xs[2] = {member_x, non_member_x}, ys[2] = {member_y, non_member_y};
  const std::vector<int64_t>* truths[2] = {&member_truth, &non_member_truth};
  AttributeInferenceFigures* figures[2] = {&result.members, &result.non_members};
  for (int set = 0; set < 2; ++set) {
    const std::vector<int64_t> guesses =
        attack_guesses(loss, xs[set], ys[set], attribute, result.candidates, log_prior, result.baseline_guess);
    AttributeInferenceFigures& f = *figures[set];
    f.rows = xs[set].shape(0);
    int64_t attack_right = 0, baseline_right = 0;
    for (int64_t r = 0; r < f.rows; ++r) {
      const int64_t truth = (*truths[set])[r];
      const int attack = guesses[r] == truth, baseline = result.baseline_guess == truth;
      attack_right += attack, baseline_right += baseline;
      advantages[set].push_back(attack - baseline);
    }
    f.attack_accuracy = double(attack_right) / double(f.rows);
    f.baseline_accuracy = double(baseline_right) / double(f.rows);
    f.advantage = mean(advantages[set]);
    const BootstrapInterval interval =
        bootstrap_interval(advantages[set], {}, options.resamples, options.confidence, options.seed + set);
    f.advantage_low = interval.low, f.advantage_high = interval.high;
  }
  result.gap = result.members.advantage - result.non_members.advantage;
  const BootstrapInterval gap =
      bootstrap_interval(advantages[0], advantages[1], options.resamples, options.confidence, options.seed + 2);
  result.gap_low = gap.low, result.gap_high = gap.high;
  return result;
}

AttributeInferenceResult attribute_inference(Model& model, ConstTensorView member_x, ConstTensorView member_y,
                                             ConstTensorView non_member_x, ConstTensorView non_member_y,
                                             const AttributeSpec& attribute,
                                             const AttributeInferenceOptions& options) {
  const RowLossQuery loss = [&model](ConstTensorView x, ConstTensorView y) {
    const Tensor losses = model.per_example_loss(x, y);
    return std::vector<double>(losses.data(), losses.data() + losses.numel());
  };
  return attribute_inference(loss, member_x, member_y, non_member_x, non_member_y, attribute, options);
}

}  // namespace citadel
