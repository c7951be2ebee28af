// ROC and precision-recall curves: one sweep of the thresholds from the highest score
// down, where "positive" means score >= threshold and tied scores move together.
#include "citadel/metrics/curves.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "citadel/core/error.hpp"
#include "citadel/metrics/metric.hpp"

namespace citadel {
namespace {

struct SweepPoint {
  double true_positives, false_positives;
};

// Counts after each group of tied scores, highest first; empty when a class is missing or
// a score is NaN.
std::vector<SweepPoint> sweep(const std::vector<float>& scores, const std::vector<unsigned char>& labels,
                              double& positives, double& negatives) {
  CITADEL_CHECK(scores.size() == labels.size(), ValueError, "curve: ", scores.size(), " scores but ", labels.size(),
                " labels");
  positives = double(std::count_if(labels.begin(), labels.end(), [](unsigned char l) { return l != 0; }));
  negatives = double(labels.size()) - positives;
  if (positives == 0 || negatives == 0) return {};
  for (float score : scores)
    if (std::isnan(score)) return {};
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  std::vector<SweepPoint> points;
  double true_positives = 0, false_positives = 0;
  for (size_t i = 0; i < order.size(); ++i) {
    (labels[order[i]] ? true_positives : false_positives) += 1;
    if (i + 1 < order.size() && scores[order[i + 1]] == scores[order[i]]) continue;
    points.push_back({true_positives, false_positives});
  }
  return points;
}

// Indices 0..count−1 thinned to at most max_points, evenly, keeping both ends.
std::vector<size_t> kept_indices(size_t count, size_t max_points) {
  std::vector<size_t> kept;
  if (count <= max_points || max_points < 2) {
    kept.resize(count);
    std::iota(kept.begin(), kept.end(), 0);
    return kept;
  }
  for (size_t k = 0; k < max_points; ++k) kept.push_back(k * (count - 1) / (max_points - 1));
  return kept;
}

}  // namespace

RocCurve roc_curve(const std::vector<float>& scores, const std::vector<unsigned char>& labels, size_t max_points) {
  double positives = 0, negatives = 0;
  const std::vector<SweepPoint> points = sweep(scores, labels, positives, negatives);
  RocCurve curve;
  if (points.empty()) {
    curve.auc = std::numeric_limits<double>::quiet_NaN();
    return curve;
  }
  std::vector<SweepPoint> all{{0, 0}};
  all.insert(all.end(), points.begin(), points.end());
  for (size_t i : kept_indices(all.size(), max_points)) {
    curve.false_positive_rate.push_back(all[i].false_positives / negatives);
    curve.true_positive_rate.push_back(all[i].true_positives / positives);
  }
  curve.auc = roc_auc(scores, labels);
  return curve;
}

PrecisionRecallCurve precision_recall_curve(const std::vector<float>& scores, const std::vector<unsigned char>& labels,
                                            size_t max_points) {
  double positives = 0, negatives = 0;
  const std::vector<SweepPoint> points = sweep(scores, labels, positives, negatives);
  PrecisionRecallCurve curve;
  if (points.empty()) {
    curve.average_precision = std::numeric_limits<double>::quiet_NaN();
    return curve;
  }
  std::vector<double> recall{0}, precision{1};
  double previous_recall = 0;
  for (const SweepPoint& point : points) {
    const double r = point.true_positives / positives;
    const double p = point.true_positives / (point.true_positives + point.false_positives);
    curve.average_precision += (r - previous_recall) * p;
    previous_recall = r;
    recall.push_back(r);
    precision.push_back(p);
  }
  for (size_t i : kept_indices(recall.size(), max_points)) {
    curve.recall.push_back(recall[i]);
    curve.precision.push_back(precision[i]);
  }
  return curve;
}

}  // namespace citadel
