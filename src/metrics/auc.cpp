// ROC AUC, exact: the Mann-Whitney statistic over all scores kept for the epoch
// (Keras approximates with 200 thresholds; we sort instead). Several classes: the
// macro average of one-vs-rest AUCs over the classes present.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "citadel/core/error.hpp"
#include "citadel/metrics/metric.hpp"
#include "label_decoding.hpp"

namespace citadel {

double roc_auc(const std::vector<float>& scores, const std::vector<unsigned char>& labels) {
  CITADEL_CHECK(scores.size() == labels.size(), ValueError, "roc_auc: ", scores.size(),
                " scores but ", labels.size(), " labels");
  // A NaN score has no rank (sorting it is undefined behaviour): the AUC is undefined too.
  for (float score : scores)
    if (std::isnan(score)) return std::numeric_limits<double>::quiet_NaN();
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  // Sum of the (1-based, tie-averaged) ranks of the positives.
  double positive_rank_sum = 0, positives = 0;
  for (size_t start = 0; start < order.size();) {
    size_t end = start;
    while (end < order.size() && scores[order[end]] == scores[order[start]]) ++end;
    const double average_rank = (double(start + 1) + double(end)) / 2.0;
    for (size_t i = start; i < end; ++i)
      if (labels[order[i]]) {
        positive_rank_sum += average_rank;
        positives += 1;
      }
    start = end;
  }
  const double negatives = double(scores.size()) - positives;
  if (positives == 0 || negatives == 0) return std::numeric_limits<double>::quiet_NaN();
  return (positive_rank_sum - positives * (positives + 1) / 2.0) / (positives * negatives);
}

namespace {

class AucMetric final : public Metric {
 public:
  explicit AucMetric(LabelKind kind) : kind_(kind) {}
  std::unique_ptr<Metric> clone() const override { return std::make_unique<AucMetric>(*this); }
  std::string name() const override { return "auc"; }

  void reset(int64_t expected_rows) override {
    scores_.clear();
    classes_.clear();
    scores_.reserve(static_cast<size_t>(expected_rows * std::max<int64_t>(outputs_, 1)));
    classes_.reserve(static_cast<size_t>(expected_rows * std::max<int64_t>(outputs_, 1)));
  }

  void update(ConstTensorView predictions, ConstTensorView targets) override {
    const int64_t N = predictions.shape(0), C = predictions.numel() / std::max<int64_t>(N, 1);
    outputs_ = C;
    if (kind_ == LabelKind::kBinary) {
      for (int64_t i = 0; i < predictions.numel(); ++i) {
        CITADEL_CHECK(std::isfinite(targets[i]), ValueError, "auc: target ", i, " is ", targets[i],
                      "; binary labels are 0 or 1");
        scores_.push_back(predictions[i]);
        classes_.push_back(targets[i] >= 0.5f ? 1 : 0);
      }
      return;
    }
    for (int64_t n = 0; n < N; ++n) {
      const int64_t actual = labels::target_class(targets, n, C, kind_);
      for (int64_t c = 0; c < C; ++c) scores_.push_back(predictions[n * C + c]);
      classes_.push_back(static_cast<int64_t>(actual));
    }
  }

  // [outputs, scores..., labels...]: scores are floats and labels small integers, both
  // exact in doubles.
  std::vector<double> state() const override {
    std::vector<double> out{double(outputs_)};
    out.insert(out.end(), scores_.begin(), scores_.end());
    out.insert(out.end(), classes_.begin(), classes_.end());
    return out;
  }

  void merge(std::span<const double> other) override {
    CITADEL_CHECK(!other.empty(), ValueError, "auc: merge of an empty state");
    const auto outputs = static_cast<int64_t>(other[0]);
    const size_t values = other.size() - 1;
    // Binary: one label per score; classes: one label per row of `outputs` scores.
    const size_t labels = kind_ == LabelKind::kBinary ? values / 2 : values / size_t(outputs + 1);
    const size_t scores = values - labels;
    CITADEL_CHECK(outputs >= 1 && (kind_ == LabelKind::kBinary ? scores == labels : scores == labels * size_t(outputs)),
                  ValueError, "auc: merge of a state of ", other.size(), " numbers for ", outputs, " outputs");
    if (labels == 0) return;  // that rank saw no rows
    CITADEL_CHECK(scores_.empty() || outputs == outputs_, ShapeError, "auc: merge of ", outputs, " outputs into ",
                  outputs_);
    outputs_ = outputs;
    for (size_t i = 0; i < scores; ++i) scores_.push_back(static_cast<float>(other[1 + i]));
    for (size_t i = 0; i < labels; ++i) classes_.push_back(static_cast<int64_t>(other[1 + scores + i]));
  }

  double result() const override {
    if (kind_ == LabelKind::kBinary) {
      std::vector<unsigned char> labels(classes_.begin(), classes_.end());
      return roc_auc(scores_, labels);
    }
    const int64_t N = static_cast<int64_t>(classes_.size()), C = outputs_;
    double sum = 0;
    int counted = 0;
    std::vector<float> column(static_cast<size_t>(N));
    std::vector<unsigned char> is_class(static_cast<size_t>(N));
    for (int64_t c = 0; c < C; ++c) {
      for (int64_t n = 0; n < N; ++n) {
        column[n] = scores_[n * C + c];
        is_class[n] = classes_[n] == c;
      }
      const double auc = roc_auc(column, is_class);
      if (!std::isnan(auc)) {
        sum += auc;
        ++counted;
      }
    }
    return counted == 0 ? std::numeric_limits<double>::quiet_NaN() : sum / counted;
  }

 private:
  LabelKind kind_;
  int64_t outputs_ = 1;
  std::vector<float> scores_;     // binary: one per element; classes: (N, C) row-major
  std::vector<int64_t> classes_;  // binary: 0/1 per element; classes: the class per row
};

}  // namespace

std::unique_ptr<Metric> make_auc(LabelKind kind) { return std::make_unique<AucMetric>(kind); }

}  // namespace citadel
