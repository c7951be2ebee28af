// Metric::state()/merge(): accumulating rows in two parts and merging the parts' states
// gives what one accumulation over all rows gives (how data-parallel ranks report global
// figures), for every metric and label kind; a state of another shape is refused.
#include <gtest/gtest.h>

#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"
#include "citadel/metrics/metric.hpp"

namespace metric_merge_test {

using namespace citadel;

namespace {

struct Case {
  const char* metric;
  LabelKind kind;
  int64_t outputs;
};

// Predictions in (0, 1) and targets of the kind: 0/1, one-hot, or class indices.
void data_for(const Case& c, int64_t rows, Tensor& predictions, Tensor& targets) {
  random::set_seed(17);
  predictions = random::uniform({rows, c.outputs}, 0.01f, 0.99f);
  const int64_t classes = c.kind == LabelKind::kBinary ? 2 : c.outputs;
  const Tensor labels = random::randint(0, classes, {rows});
  if (c.kind == LabelKind::kSparse) {
    targets = Tensor({rows, 1});
    for (int64_t i = 0; i < rows; ++i) targets[i] = labels[i];
  } else if (c.kind == LabelKind::kCategorical) {
    targets = Tensor({rows, c.outputs});
    for (int64_t i = 0; i < rows; ++i) targets[i * c.outputs + int64_t(labels[i])] = 1.0f;
  } else {
    targets = random::randint(0, 2, {rows, c.outputs});
  }
}

TEST(MetricMerge, TwoPartsMergeToTheWhole) {
  const std::vector<Case> cases = {
      {"accuracy", LabelKind::kBinary, 1}, {"precision", LabelKind::kBinary, 1}, {"recall", LabelKind::kBinary, 1},
      {"f1", LabelKind::kBinary, 1},       {"auc", LabelKind::kBinary, 1},       {"auc", LabelKind::kBinary, 3},
      {"mse", LabelKind::kBinary, 1},      {"mae", LabelKind::kBinary, 2},       {"accuracy", LabelKind::kCategorical, 4},
      {"f1", LabelKind::kCategorical, 4},  {"auc", LabelKind::kCategorical, 4},  {"precision", LabelKind::kSparse, 3},
      {"auc", LabelKind::kSparse, 3}};
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.metric) + " with " + std::to_string(c.outputs) + " outputs");
    Tensor predictions, targets;
    data_for(c, 97, predictions, targets);
    auto whole = make_metric(c.metric, c.kind);
    whole->reset(97);
    whole->update(predictions, targets);
    auto first = make_metric(c.metric, c.kind), second = make_metric(c.metric, c.kind);
    first->reset(40), second->reset(57);
    first->update(predictions.rows(0, 40), targets.rows(0, 40));
    second->update(predictions.rows(40, 97), targets.rows(40, 97));
    auto merged = make_metric(c.metric, c.kind);
    merged->reset(0);
    merged->merge(first->state());
    merged->merge(second->state());
    EXPECT_NEAR(merged->result(), whole->result(), 1e-12);
    EXPECT_NE(first->result(), whole->result());  // the parts alone are not the whole
    auto empty = make_metric(c.metric, c.kind);  // a rank that saw no rows adds nothing
    empty->reset(0);
    merged->merge(empty->state());
    EXPECT_NEAR(merged->result(), whole->result(), 1e-12);
  }
}

TEST(MetricMerge, RefusesAStateOfAnotherShape) {
  auto accuracy = make_metric("accuracy", LabelKind::kCategorical);
  accuracy->reset(0);
  EXPECT_THROW(accuracy->merge(std::vector<double>{1, 2, 3}), ValueError);
  EXPECT_THROW(accuracy->merge(std::vector<double>{0, 0, 0, 0, 3, 1}), ValueError);  // 3 classes, 1 count
  auto mse = make_metric("mse", LabelKind::kBinary);
  EXPECT_THROW(mse->merge(std::vector<double>{1}), ValueError);
  auto auc = make_metric("auc", LabelKind::kBinary);
  EXPECT_THROW(auc->merge(std::vector<double>{1, 0.5, 0.25, 1}), ValueError);  // 2 scores, 1 label
}

}  // namespace

}  // namespace metric_merge_test
