// Shared helpers of the callbacks that watch a figure.
#include "citadel/core/error.hpp"
#include "citadel/model/callbacks.hpp"

namespace citadel {

std::string watched_training_figure(const std::string& monitor) {
  return monitor.rfind("val_", 0) == 0 ? std::string() : monitor;
}

bool lower_is_better(const std::string& monitor, MonitorMode mode) {
  if (mode != MonitorMode::kAuto) return mode == MonitorMode::kMin;
  for (const char* higher : {"accuracy", "acc", "precision", "recall", "f1", "auc"}) {
    const std::string name = monitor.rfind("val_", 0) == 0 ? monitor.substr(4) : monitor;
    if (name == higher) return false;
  }
  return true;
}

double monitored_value(const Logs& logs, const std::string& monitor, const char* callback) {
  if (auto found = logs.find(monitor); found != logs.end()) return found->second;
  std::string available;
  for (const auto& [name, value] : logs) available += (available.empty() ? "" : ", ") + name;
  throw ValueError(std::string(callback) + ": monitors '" + monitor + "', which this training does not produce (" +
                   available + ")" +
                   (monitor.rfind("val_", 0) == 0 ? "; give fit a validation_split or validation_data" : ""));
}

}  // namespace citadel
