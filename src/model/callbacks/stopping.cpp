// Callbacks that end training on a condition: a non-finite loss, a reached threshold.
#include <cmath>

#include "citadel/core/error.hpp"
#include "citadel/model/callbacks.hpp"
#include "citadel/model/model.hpp"

namespace citadel {

void TerminateOnNaN::on_batch_end(int64_t step, double loss, Model& model) {
  if (!std::isfinite(loss))
    model.stop_training(detail::concat("TerminateOnNaN: the loss became ", loss, " at step ", step + 1));
}

LossThreshold::LossThreshold(const LossThresholdOptions& options) : options_(options) {
  CITADEL_CHECK(std::isfinite(options.threshold), ValueError, "LossThreshold: the threshold must be finite");
}

void LossThreshold::on_epoch_end(int epoch, Logs& logs, Model& model) {
  const double value = monitored_value(logs, options_.monitor, "LossThreshold");
  const bool reached = lower_is_better(options_.monitor, options_.mode) ? value <= options_.threshold
                                                                        : value >= options_.threshold;
  if (reached)
    model.stop_training(detail::concat("the ", options_.monitor, " ", value, " reached the threshold ",
                                       options_.threshold, " at epoch ", epoch + 1));
}

}  // namespace citadel
