// The model-extraction attackers of bench/extraction_study (real rows, Papernot
// et al.'s Jacobian augmentation, a label-only boundary search), their tasks
// (Pima, Fashion-MNIST) and the served oracle they query, shared by the studies
// of extraction and of its defences.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "citadel/core/tensor.hpp"
#include "citadel/model/sequential.hpp"
#include "citadel/serving/extraction_monitor.hpp"
#include "citadel/serving/output_policy.hpp"

namespace citadel::bench {

struct Task {
  std::string name;
  Tensor train_x, train_y, test_x, test_y;  // y: class indices (N, 1)
  int64_t classes = 0, hidden = 16;
  int victim_epochs = 100;
  float lambda = 0.3f;  // Papernot's augmentation step, in the model's input units
  Tensor low, high;     // the valid input range per feature (set_input_range)
};

Task pima();
Task fashion();  // 20,000 training rows scaled to [0, 1], the 10,000 test rows
void set_input_range(Task& t);

// The MLP of the studies: one hidden ReLU layer, softmax, Adam at 0.01, seeded.
Sequential network(const Task& t, int64_t hidden, uint64_t seed);
Tensor one_hot(const Tensor& y, int64_t classes);
std::vector<int64_t> labels_of(const Tensor& probabilities);
Tensor concat_rows(const Tensor& a, const Tensor& b);
double agreement(Model& surrogate, Model& victim, const Tensor& x);
Sequential train_surrogate(const Task& t, const Tensor& x, const Tensor& answers, uint64_t seed);

// The extraction monitor's settings every attack's oracle uses (from the
// command line).
serving::ExtractionMonitorOptions& monitor_options();

// What the server does to the probabilities of the rows `x` before the output
// policy (a watermark); none when empty.
using AnswerHook = std::function<void(const Tensor& x, Tensor& probabilities)>;

// The served model: predictions changed by the hook, coarsened by the policy
// ("label" answers a one-hot row), watched by the monitor one row at a time.
struct Oracle {
  Model& model;
  serving::OutputPolicy policy;
  serving::ExtractionMonitor* monitor;
  AnswerHook hook = {};
  int64_t answered = 0, alarm_at = -1;
  double last_w = 1;
  Tensor ask(const Tensor& x);
};

struct Result {
  double agreement = 0;
  int64_t queries = 0, alarm_at = -1;
  double w = 1;  // the monitor's last W
  std::shared_ptr<Sequential> surrogate;
};

Result real_row_attack(const Task& t, Model& victim, const serving::OutputPolicy& policy, int64_t budget,
                       const AnswerHook& hook = {});
Result papernot_attack(const Task& t, Model& victim, const serving::OutputPolicy& policy, int64_t budget,
                       const AnswerHook& hook = {});
Result boundary_search_attack(const Task& t, Model& victim, const serving::OutputPolicy& policy, int64_t budget,
                              const AnswerHook& hook = {});

}  // namespace citadel::bench
