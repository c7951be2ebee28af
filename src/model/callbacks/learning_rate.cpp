// Learning-rate callbacks: ReduceLROnPlateau and LearningRateScheduler with its
// step, exponential and cosine schedules.
#include <algorithm>
#include <cmath>
#include <numbers>

#include "citadel/core/error.hpp"
#include "citadel/model/callbacks.hpp"
#include "citadel/model/model.hpp"

namespace citadel {

ReduceLROnPlateau::ReduceLROnPlateau(const ReduceLROnPlateauOptions& options) : options_(options) {
  CITADEL_CHECK(options.factor > 0 && options.factor < 1, ValueError,
                "ReduceLROnPlateau: factor must lie in (0, 1), got ", options.factor);
  CITADEL_CHECK(options.patience >= 0 && options.cooldown >= 0, ValueError,
                "ReduceLROnPlateau: patience and cooldown must be >= 0");
  lower_is_better_ = lower_is_better(options.monitor, options.mode);
}

void ReduceLROnPlateau::on_train_begin(Model&) {
  have_best_ = false;
  wait_ = cooldown_left_ = 0;
}

void ReduceLROnPlateau::on_epoch_end(int, Logs& logs, Model& model) {
  const double value = monitored_value(logs, options_.monitor, "ReduceLROnPlateau");
  Optimizer& optimizer = model.optimizer();
  logs["learning_rate"] = optimizer.learning_rate();
  // Keras's order: a cooldown epoch counts down first, and counting resumes as soon as
  // the cooldown has run out.
  if (cooldown_left_ > 0) {
    --cooldown_left_;
    wait_ = 0;
  }
  const bool improved = !have_best_ || (lower_is_better_ ? value < best_ - options_.min_delta
                                                         : value > best_ + options_.min_delta);
  if (improved) {
    best_ = value;
    have_best_ = true;
    wait_ = 0;
  } else if (cooldown_left_ == 0 && ++wait_ >= options_.patience) {
    const double reduced = std::max(optimizer.learning_rate() * options_.factor, options_.min_lr);
    if (reduced > 0 && reduced < optimizer.learning_rate()) optimizer.set_learning_rate(static_cast<float>(reduced));
    cooldown_left_ = options_.cooldown;
    wait_ = 0;
  }
}

LearningRateScheduler::LearningRateScheduler(Schedule schedule) : schedule_(std::move(schedule)) {
  CITADEL_CHECK(static_cast<bool>(schedule_), ValueError, "LearningRateScheduler: the schedule is empty");
}

void LearningRateScheduler::on_epoch_begin(int epoch, Model& model) {
  Optimizer& optimizer = model.optimizer();
  const double rate = schedule_(epoch, optimizer.learning_rate());
  CITADEL_CHECK(std::isfinite(rate) && rate > 0, ValueError, "LearningRateScheduler: the schedule gave ", rate,
                " at epoch ", epoch + 1, "; a learning rate must be positive");
  optimizer.set_learning_rate(static_cast<float>(rate));
}

void LearningRateScheduler::on_epoch_end(int, Logs& logs, Model& model) {
  logs["learning_rate"] = model.optimizer().learning_rate();
}

LearningRateScheduler::Schedule step_decay(double initial, double factor, int every) {
  CITADEL_CHECK(initial > 0 && factor > 0 && every >= 1, ValueError,
                "step_decay: needs initial > 0, factor > 0 and every >= 1");
  return [=](int epoch, double) { return initial * std::pow(factor, std::floor(double(epoch) / every)); };
}

LearningRateScheduler::Schedule exponential_decay(double initial, double rate, double decay_epochs) {
  CITADEL_CHECK(initial > 0 && rate > 0 && decay_epochs > 0, ValueError,
                "exponential_decay: needs initial > 0, rate > 0 and decay_epochs > 0");
  return [=](int epoch, double) { return initial * std::pow(rate, double(epoch) / decay_epochs); };
}

LearningRateScheduler::Schedule cosine_decay(double initial, int decay_epochs, double alpha) {
  CITADEL_CHECK(initial > 0 && decay_epochs >= 1 && alpha >= 0 && alpha < 1, ValueError,
                "cosine_decay: needs initial > 0, decay_epochs >= 1 and alpha in [0, 1)");
  return [=](int epoch, double) {
    const double progress = double(std::min(epoch, decay_epochs)) / decay_epochs;
    return initial * ((1 - alpha) * 0.5 * (1 + std::cos(std::numbers::pi * progress)) + alpha);
  };
}

}  // namespace citadel
