// The model-extraction attackers of bench/extraction_study, shared with the
// studies that measure defences against them (bench/watermark_study): the
// tasks, the served oracle and the three attacks, each returning its surrogate.
#include "extraction_attacks.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "citadel/attacks/adversarial.hpp"
#include "citadel/core/random.hpp"
#include "citadel/data/csv.hpp"
#include "citadel/data/dataset.hpp"
#include "citadel/data/idx.hpp"
#include "citadel/data/preprocessor.hpp"
#include "citadel/data/split.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/layers/flatten.hpp"
#include "citadel/serving/extraction_monitor.hpp"
#include "citadel/serving/output_policy.hpp"

namespace citadel::bench {

serving::ExtractionMonitorOptions& monitor_options() {
  static serving::ExtractionMonitorOptions options;
  return options;
}

Task pima() {
  Task t;
  t.name = "pima";
  Dataset data = to_dataset(read_csv(CITADEL_PIMA_CSV));
  const SplitIndices split = train_test_split(data.y, 0.2, 1);
  t.train_x = take_rows(data.x, split.train), t.train_y = take_rows(data.y, split.train);
  t.test_x = take_rows(data.x, split.test), t.test_y = take_rows(data.y, split.test);
  Preprocessor scaler({.scaling = "standard"});
  scaler.fit(t.train_x);
  scaler.apply(t.train_x), scaler.apply(t.test_x);
  t.classes = 2;
  return t;
}

Task fashion() {
  Task t;
  t.name = "fashion";
  const ImageDataset data = load_fashion_mnist();
  const int64_t train = 20'000;  // enough for a victim of ~0.85 accuracy, quick to train
  std::vector<int64_t> rows(train);
  std::iota(rows.begin(), rows.end(), 0);
  t.train_x = take_rows(data.x_train, rows), t.train_y = take_rows(data.y_train, rows);
  t.test_x = data.x_test, t.test_y = data.y_test;
  t.train_x.reshape(Shape{train, 784}), t.train_y.reshape(Shape{train, 1});
  t.test_x.reshape(Shape{t.test_x.shape(0), 784}), t.test_y.reshape(Shape{t.test_y.shape(0), 1});
  for (Tensor* x : {&t.train_x, &t.test_x})
    for (int64_t i = 0; i < x->numel(); ++i) (*x)[i] /= 255.0f;
  t.classes = 10, t.hidden = 128, t.victim_epochs = 5, t.lambda = 0.1f;
  return t;
}

Sequential network(const Task& t, int64_t hidden, uint64_t seed) {
  random::set_seed(seed);
  Sequential model;
  model.add(Dense(hidden, {.input_dim = t.train_x.shape(1), .activation = "relu"}));
  model.add(Dense(t.classes, {.activation = "softmax"}));
  model.compile({.loss = "categorical_crossentropy", .optimizer = Adam{.learning_rate = 0.01f}});
  return model;
}

Tensor one_hot(const Tensor& y, int64_t classes) {
  Tensor out(Shape{y.shape(0), classes});
  for (int64_t r = 0; r < y.shape(0); ++r) out[r * classes + int64_t(y[r])] = 1.0f;
  return out;
}

std::vector<int64_t> labels_of(const Tensor& probabilities) {
  const int64_t n = probabilities.shape(0), k = probabilities.shape(1);
  std::vector<int64_t> labels(static_cast<size_t>(n));
  for (int64_t r = 0; r < n; ++r) {
    const float* row = probabilities.data() + r * k;
    labels[size_t(r)] = std::max_element(row, row + k) - row;
  }
  return labels;
}

Tensor Oracle::ask(const Tensor& x) {
  Tensor p = model.predict(x);
  if (hook)
    hook(x, p);  // the server's changes to the answers (a watermark), before the
                 // policy
  const int64_t k = p.shape(1);
  const std::vector<int64_t> labels = labels_of(p);
  for (int64_t r = 0; r < x.shape(0); ++r) {
    float* row = p.data() + r * k;
    if (policy.reveals_probabilities()) {
      policy.apply(row, k);
    } else {
      std::fill(row, row + k, 0.0f);
      row[labels[size_t(r)]] = 1.0f;
    }
    if (monitor) {  // one row at a time, as single-row requests would arrive
      Tensor one = take_rows(x, {r});
      const serving::ExtractionState state = monitor->observe("attacker", one, {labels[size_t(r)]});
      last_w = state.w;
      if (state.raised_now && alarm_at < 0) alarm_at = answered + r + 1;
    }
  }
  answered += x.shape(0);
  return p;
}

double agreement(Model& surrogate, Model& victim, const Tensor& x) {
  const auto a = labels_of(surrogate.predict(x)), b = labels_of(victim.predict(x));
  int64_t same = 0;
  for (size_t i = 0; i < a.size(); ++i) same += a[i] == b[i];
  return double(same) / double(a.size());
}

Tensor concat_rows(const Tensor& a, const Tensor& b) {
  if (a.shape().dims().empty() || a.numel() == 0) return b;  // nothing known yet
  std::vector<int64_t> dims = a.shape().dims();
  dims[0] += b.shape(0);
  Tensor out{Shape(dims)};
  std::copy(a.data(), a.data() + a.numel(), out.data());
  std::copy(b.data(), b.data() + b.numel(), out.data() + a.numel());
  return out;
}

Sequential train_surrogate(const Task& t, const Tensor& x, const Tensor& answers, uint64_t seed) {
  Sequential surrogate = network(t, t.hidden, seed);
  surrogate.fit(x, answers, {.epochs = t.classes > 2 ? 30 : 200, .batch_size = 32, .verbose = 0, .seed = seed});
  return surrogate;
}

// Plain queries: real rows the attacker holds (the test split), as many as the
// budget.
Result real_row_attack(const Task& t, Model& victim, const serving::OutputPolicy& policy, int64_t budget,
                       const AnswerHook& hook) {
  serving::ExtractionMonitor monitor(monitor_options());
  Oracle oracle{victim, policy, &monitor, hook};
  budget = std::min(budget, t.test_x.shape(0));
  std::vector<int64_t> rows(static_cast<size_t>(budget));
  std::iota(rows.begin(), rows.end(), 0);
  const Tensor x = take_rows(t.test_x, rows);
  Sequential surrogate = train_surrogate(t, x, oracle.ask(x), 5);
  return {agreement(surrogate, victim, t.train_x), oracle.answered, oracle.alarm_at, oracle.last_w,
          std::make_shared<Sequential>(std::move(surrogate))};
}

// Papernot et al. (2017): 10 real seed rows per class, then rounds of
// Jacobian-based augmentation (each known point moved by λ·sign of the
// surrogate's gradient), each new point sent to the oracle, until the budget is
// spent.
Result papernot_attack(const Task& t, Model& victim, const serving::OutputPolicy& policy, int64_t budget,
                       const AnswerHook& hook) {
  serving::ExtractionMonitor monitor(monitor_options());
  Oracle oracle{victim, policy, &monitor, hook};
  std::vector<int64_t> seeds;
  std::vector<int64_t> per_class(static_cast<size_t>(t.classes), 0);
  for (int64_t r = 0; r < t.test_x.shape(0) && int64_t(seeds.size()) < 10 * t.classes; ++r)
    if (per_class[size_t(t.test_y[r])]++ < 10) seeds.push_back(r);
  Tensor known = take_rows(t.test_x, seeds);
  Tensor answers = oracle.ask(known);
  Sequential surrogate = train_surrogate(t, known, answers, 5);
  for (int round = 0; oracle.answered < budget; ++round) {
    const int64_t room = budget - oracle.answered;
    std::vector<int64_t> pick(static_cast<size_t>(std::min(room, known.shape(0))));
    std::iota(pick.begin(), pick.end(), 0);
    std::shuffle(pick.begin(), pick.end(), std::mt19937_64(round));
    const Tensor from = take_rows(known, pick);
    Tensor targets(Shape{from.shape(0), 1});
    const auto labels = labels_of(take_rows(answers, pick));
    for (size_t i = 0; i < labels.size(); ++i) targets[int64_t(i)] = float(labels[i]);
    // Alternate rounds step up the label's score (targeted at it) and down
    // (untargeted), Papernot's periodic sign.
    AttackOptions step{.method = "fgsm", .epsilon = t.lambda, .feature_min = t.low, .feature_max = t.high};
    if (round % 2) step.targets = one_hot(targets, t.classes);
    const Tensor moved = adversarial_examples(surrogate, from, one_hot(targets, t.classes), step);
    known = concat_rows(known, moved);
    answers = concat_rows(answers, oracle.ask(moved));
    surrogate = train_surrogate(t, known, answers, 5 + uint64_t(round));
  }
  if (const char* dump = std::getenv("EXTRACTION_STUDY_DUMP")) {
    FILE* f = std::fopen((std::string(dump) + "-" + policy.text() + "-" + std::to_string(budget)).c_str(), "w");
    for (double d : monitor.distances("attacker")) std::fprintf(f, "%g\n", d);
    std::fclose(f);
  }
  return {agreement(surrogate, victim, t.train_x), oracle.answered, oracle.alarm_at, oracle.last_w,
          std::make_shared<Sequential>(std::move(surrogate))};
}

// A label-only boundary search (Lowd and Meek, 2005, as extraction attacks use
// it): for pairs of real rows the model puts in different classes, bisect the
// segment between them to the decision boundary, 8 queries a pair, and train on
// the points found.
Result boundary_search_attack(const Task& t, Model& victim, const serving::OutputPolicy& policy, int64_t budget,
                              const AnswerHook& hook) {
  serving::ExtractionMonitor monitor(monitor_options());
  Oracle oracle{victim, policy, &monitor, hook};
  const int64_t width = t.test_x.shape(1);
  Tensor known, answers;
  std::mt19937_64 rng(3);
  std::uniform_int_distribution<int64_t> pick(0, t.test_x.shape(0) - 1);
  while (oracle.answered + 10 <= budget) {
    const int64_t a = pick(rng), b = pick(rng);
    Tensor ends = take_rows(t.test_x, {a, b});
    const Tensor end_answers = oracle.ask(ends);
    known = concat_rows(known, ends), answers = concat_rows(answers, end_answers);
    const auto end_labels = labels_of(end_answers);
    if (end_labels[0] == end_labels[1]) continue;
    double lo = 0, hi = 1;
    for (int step = 0; step < 8; ++step) {
      const double mid = (lo + hi) / 2;
      Tensor point(Shape{1, width});
      for (int64_t f = 0; f < width; ++f) point[f] = float((1 - mid) * ends[f] + mid * ends[width + f]);
      const Tensor answer = oracle.ask(point);
      known = concat_rows(known, point), answers = concat_rows(answers, answer);
      (labels_of(answer)[0] == end_labels[0] ? lo : hi) = mid;
    }
  }
  Sequential surrogate = train_surrogate(t, known, answers, 5);
  return {agreement(surrogate, victim, t.train_x), oracle.answered, oracle.alarm_at, oracle.last_w,
          std::make_shared<Sequential>(std::move(surrogate))};
}

void set_input_range(Task& t) {
  const int64_t width = t.train_x.shape(1);
  t.low = Tensor(Shape{width}), t.high = Tensor(Shape{width});
  for (int64_t f = 0; f < width; ++f) {
    float lo = t.train_x[f], hi = lo;
    for (int64_t r = 0; r < t.train_x.shape(0); ++r)
      lo = std::min(lo, t.train_x[r * width + f]), hi = std::max(hi, t.train_x[r * width + f]);
    t.low[f] = lo, t.high[f] = hi;
  }
}

}  // namespace citadel::bench
