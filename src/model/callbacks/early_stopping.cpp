// EarlyStopping: stop when the monitored figure has not improved for `patience` epochs
// (0: at the first epoch without improvement), as keras.callbacks.EarlyStopping;
// optionally going back to the best epoch's weights.
#include <algorithm>

#include "citadel/core/error.hpp"
#include "citadel/model/callbacks.hpp"
#include "citadel/model/model.hpp"

namespace citadel {

EarlyStopping::EarlyStopping(const EarlyStoppingOptions& options) : options_(options) {
  CITADEL_CHECK(options.patience >= 0, ValueError, "EarlyStopping: patience must be >= 0");
  CITADEL_CHECK(options.min_delta >= 0, ValueError, "EarlyStopping: min_delta must be >= 0");
  lower_is_better_ = lower_is_better(options.monitor, options.mode);
}

void EarlyStopping::on_train_begin(Model&) {
  best_epoch_ = stopped_epoch_ = -1;
  wait_ = 0;
  best_weights_.clear();
}

void EarlyStopping::on_epoch_end(int epoch, Logs& logs, Model& model) {
  if (epoch < options_.start_from_epoch) return;
  const double value = monitored_value(logs, options_.monitor, "EarlyStopping");
  const bool improved = best_epoch_ < 0 || (lower_is_better_ ? value < best_ - options_.min_delta
                                                             : value > best_ + options_.min_delta);
  if (improved) {
    best_ = value;
    best_epoch_ = epoch;
    wait_ = 0;
    if (options_.restore_best_weights) {
      const auto values = model.parameters().values();
      best_weights_.assign(values.begin(), values.end());
    }
    return;
  }
  if (++wait_ >= options_.patience) {  // Keras: `patience` epochs without improvement
    if (stopped_epoch_ < 0) stopped_epoch_ = epoch;
    model.stop_training(detail::concat("early stopping: ", options_.monitor, " did not improve for ", wait_,
                                       " epochs (best ", best_, " at epoch ", best_epoch_ + 1, ")"));
  }
}

void EarlyStopping::on_train_end(Model& model) {
  if (!options_.restore_best_weights || best_weights_.empty()) return;
  auto values = model.parameters().values();
  std::copy(best_weights_.begin(), best_weights_.end(), values.begin());
}

}  // namespace citadel
