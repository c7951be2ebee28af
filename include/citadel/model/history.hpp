// History: what fit() returns, the per-epoch value of every loss and metric.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace citadel {

// Figures by name ("loss", "accuracy", "val_loss", ...), as Keras's logs.
using Logs = std::map<std::string, double>;

struct History {
  std::vector<int> epoch;                                // 0-based, as Keras
  std::map<std::string, std::vector<double>> history;    // one value per epoch
  std::string stop_reason;  // why training ended early ("" when all epochs ran)

  // The values of one key; throws ValueError listing the keys present.
  const std::vector<double>& operator[](const std::string& key) const;
  void append(int epoch_index, const Logs& logs);
};

// Where a training run stands after a completed epoch: enough to continue it exactly
// (with the weights and optimizer state, which live in the model).
struct ResumePoint {
  int epoch = 0;                     // epochs completed
  History history;                   // their figures
  std::vector<uint64_t> shuffle_rng;  // the shuffling stream's state (Rng::to_words)
};

}  // namespace citadel
