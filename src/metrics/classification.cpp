// Accuracy, precision, recall and F1 from counts accumulated over the whole epoch.
// Binary outputs count true/false positives element-wise at threshold 0.5; several
// classes fill a confusion matrix and average precision/recall/F1 over classes (macro).
// A ratio whose denominator is zero is 0, as in Keras and scikit-learn.
#include <vector>

#include "citadel/core/error.hpp"
#include "citadel/metrics/metric.hpp"
#include "label_decoding.hpp"
#include "ratio_or_zero.hpp"

namespace citadel {
namespace {

enum class Figure { kAccuracy, kPrecision, kRecall, kF1 };

double f1_from(double precision, double recall) {
  return ratio_or_zero(2 * precision * recall, precision + recall);
}

class ClassificationMetric final : public Metric {
 public:
  ClassificationMetric(Figure figure, LabelKind kind, std::string name)
      : figure_(figure), kind_(kind), name_(std::move(name)) {}
  std::unique_ptr<Metric> clone() const override { return std::make_unique<ClassificationMetric>(*this); }
  std::string name() const override { return name_; }

  void reset(int64_t) override {
    true_positive_ = false_positive_ = true_negative_ = false_negative_ = 0;
    std::fill(confusion_.begin(), confusion_.end(), 0);
  }

  void update(ConstTensorView predictions, ConstTensorView targets) override {
    if (kind_ == LabelKind::kBinary) return update_binary(predictions, targets);
    const int64_t N = predictions.shape(0), C = predictions.shape(1);
    if (classes_ != C) {  // sized on the first batch, then reused
      classes_ = C;
      confusion_.assign(static_cast<size_t>(C * C), 0);
    }
    for (int64_t n = 0; n < N; ++n) {
      const int64_t predicted = labels::argmax(predictions.data() + n * C, C);
      const int64_t actual = labels::target_class(targets, n, C, kind_);
      CITADEL_CHECK(actual >= 0 && actual < C, ValueError, name_, ": target class ", actual,
                    " outside 0..", C - 1);
      ++confusion_[actual * C + predicted];
    }
  }

  double result() const override {
    if (kind_ == LabelKind::kBinary) {
      const double tp = true_positive_, fp = false_positive_, fn = false_negative_;
      const double precision = ratio_or_zero(tp, tp + fp), recall = ratio_or_zero(tp, tp + fn);
      switch (figure_) {
        case Figure::kAccuracy: return ratio_or_zero(tp + true_negative_, tp + fp + fn + true_negative_);
        case Figure::kPrecision: return precision;
        case Figure::kRecall: return recall;
        case Figure::kF1: return f1_from(precision, recall);
      }
    }
    return multiclass_result();
  }

  // [tp, fp, tn, fn, classes, confusion matrix...]: every count is exact in a double.
  std::vector<double> state() const override {
    std::vector<double> out{double(true_positive_), double(false_positive_), double(true_negative_),
                            double(false_negative_), double(classes_)};
    out.insert(out.end(), confusion_.begin(), confusion_.end());
    return out;
  }

  void merge(std::span<const double> other) override {
    CITADEL_CHECK(other.size() >= 5, ValueError, name_, ": merge of a state of ", other.size(), " numbers");
    const auto classes = static_cast<int64_t>(other[4]);
    CITADEL_CHECK(other.size() == size_t(5 + classes * classes), ValueError, name_, ": merge of a state of ",
                  other.size(), " numbers for ", classes, " classes");
    true_positive_ += static_cast<int64_t>(other[0]);
    false_positive_ += static_cast<int64_t>(other[1]);
    true_negative_ += static_cast<int64_t>(other[2]);
    false_negative_ += static_cast<int64_t>(other[3]);
    if (classes == 0) return;  // that rank saw no rows
    if (classes_ == 0) {
      classes_ = classes;
      confusion_.assign(static_cast<size_t>(classes * classes), 0);
    }
    CITADEL_CHECK(classes_ == classes, ShapeError, name_, ": merge of ", classes, " classes into ", classes_);
    for (size_t i = 0; i < confusion_.size(); ++i) confusion_[i] += static_cast<int64_t>(other[5 + i]);
  }

 private:
  void update_binary(ConstTensorView predictions, ConstTensorView targets) {
    CITADEL_CHECK(predictions.numel() == targets.numel(), ShapeError, name_, ": ",
                  targets.shape(), " targets for ", predictions.shape(), " predictions");
    for (int64_t i = 0; i < predictions.numel(); ++i) {
      const bool predicted = predictions[i] >= 0.5f;
      const bool actual = targets[i] >= 0.5f;
      if (predicted) (actual ? true_positive_ : false_positive_)++;
      else (actual ? false_negative_ : true_negative_)++;
    }
  }

  double multiclass_result() const {
    double correct = 0, total = 0, precision_sum = 0, recall_sum = 0, f1_sum = 0;
    for (int64_t c = 0; c < classes_; ++c) {
      double predicted_c = 0, actual_c = 0;
      for (int64_t k = 0; k < classes_; ++k) {
        predicted_c += confusion_[k * classes_ + c];
        actual_c += confusion_[c * classes_ + k];
      }
      const double hits = confusion_[c * classes_ + c];
      correct += hits;
      total += actual_c;
      const double precision = ratio_or_zero(hits, predicted_c), recall = ratio_or_zero(hits, actual_c);
      precision_sum += precision;
      recall_sum += recall;
      f1_sum += f1_from(precision, recall);
    }
    const double classes = classes_ == 0 ? 1 : double(classes_);
    switch (figure_) {
      case Figure::kAccuracy: return ratio_or_zero(correct, total);
      case Figure::kPrecision: return precision_sum / classes;
      case Figure::kRecall: return recall_sum / classes;
      case Figure::kF1: return f1_sum / classes;
    }
    return 0;
  }

  Figure figure_;
  LabelKind kind_;
  std::string name_;
  int64_t true_positive_ = 0, false_positive_ = 0, true_negative_ = 0, false_negative_ = 0;
  int64_t classes_ = 0;
  std::vector<int64_t> confusion_;  // confusion_[actual * C + predicted]
};

}  // namespace

std::unique_ptr<Metric> make_accuracy(LabelKind kind) {
  return std::make_unique<ClassificationMetric>(Figure::kAccuracy, kind, "accuracy");
}
std::unique_ptr<Metric> make_precision(LabelKind kind) {
  return std::make_unique<ClassificationMetric>(Figure::kPrecision, kind, "precision");
}
std::unique_ptr<Metric> make_recall(LabelKind kind) {
  return std::make_unique<ClassificationMetric>(Figure::kRecall, kind, "recall");
}
std::unique_ptr<Metric> make_f1(LabelKind kind) {
  return std::make_unique<ClassificationMetric>(Figure::kF1, kind, "f1");
}

}  // namespace citadel
