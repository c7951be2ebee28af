// History: what fit() returns, the per-epoch value of every loss and metric.
#pragma once

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

}  // namespace citadel
