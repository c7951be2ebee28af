// Callbacks: code that runs at points of fit() — to stop early, change the learning
// rate, log, or anything a user writes by deriving from Callback (as keras.callbacks).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "citadel/core/atomic_file.hpp"
#include "citadel/model/history.hpp"

namespace citadel {

class Model;

class Callback {
 public:
  virtual ~Callback() = default;
  virtual std::unique_ptr<Callback> clone() const = 0;
  virtual void on_train_begin(Model& model) { (void)model; }
  virtual void on_train_end(Model& model) { (void)model; }
  virtual void on_epoch_begin(int epoch, Model& model) { (void)epoch, (void)model; }
  // `logs` holds the epoch's figures (loss, metrics, val_*); a callback may add its own
  // (the schedulers add "learning_rate"), which then enter the History.
  virtual void on_epoch_end(int epoch, Logs& logs, Model& model) { (void)epoch, (void)logs, (void)model; }
  // After the epoch's figures entered the History: model.training_progress() is current
  // (where checkpoints are written).
  virtual void on_epoch_saved(int epoch, Model& model) { (void)epoch, (void)model; }
  virtual void on_batch_begin(int64_t step, Model& model) { (void)step, (void)model; }
  // `loss` is the batch's loss; when it is not finite the weights were not updated and
  // training raises an error unless a callback stops it here (TerminateOnNaN).
  virtual void on_batch_end(int64_t step, double loss, Model& model) { (void)step, (void)loss, (void)model; }
  // The training-row figure whose value this callback acts on ("loss", "accuracy"), or ""
  // when it acts on none. Private training refuses such callbacks: a decision taken on
  // exact statistics of the private rows lies outside the privacy accountant.
  virtual std::string training_figure_watched() const { return ""; }
};

// `monitor` when it names a training-row figure (not val_*), else "".
std::string watched_training_figure(const std::string& monitor);

// What FitOptions::callbacks holds: a copy of a callback (from a temporary or a value),
// or a pointer to one the caller keeps, to read its state after fit().
class CallbackRef {
 public:
  CallbackRef(const Callback& callback) : owned_(callback.clone()), callback_(owned_.get()) {}  // NOLINT
  CallbackRef(Callback* callback) : callback_(callback) {}                                       // NOLINT
  CallbackRef(const CallbackRef& other)
      : owned_(other.owned_ ? other.owned_->clone() : nullptr),
        callback_(owned_ ? owned_.get() : other.callback_) {}
  CallbackRef& operator=(const CallbackRef& other) {
    owned_ = other.owned_ ? other.owned_->clone() : nullptr;
    callback_ = owned_ ? owned_.get() : other.callback_;
    return *this;
  }
  Callback& get() const { return *callback_; }

 private:
  std::unique_ptr<Callback> owned_;
  Callback* callback_;
};

// Which way is better for a monitored figure; kAuto: lower for losses and errors,
// higher for accuracy, precision, recall, f1 and auc.
enum class MonitorMode { kAuto, kMin, kMax };

struct EarlyStoppingOptions {
  std::string monitor = "val_loss";
  double min_delta = 0.0;  // a change smaller than this is no improvement
  int patience = 0;        // epochs without improvement before stopping
  MonitorMode mode = MonitorMode::kAuto;
  bool restore_best_weights = false;  // when training ends, go back to the best epoch's weights
  int start_from_epoch = 0;           // epochs of warm-up before monitoring
};

class EarlyStopping final : public Callback {
 public:
  explicit EarlyStopping(const EarlyStoppingOptions& options = {});
  std::unique_ptr<Callback> clone() const override { return std::make_unique<EarlyStopping>(*this); }
  std::string training_figure_watched() const override { return watched_training_figure(options_.monitor); }
  void on_train_begin(Model& model) override;
  void on_epoch_end(int epoch, Logs& logs, Model& model) override;
  void on_train_end(Model& model) override;
  // 0-based epoch at which training stopped (-1: it did not), and the best epoch.
  int stopped_epoch() const { return stopped_epoch_; }
  int best_epoch() const { return best_epoch_; }
  double best() const { return best_; }

 private:
  EarlyStoppingOptions options_;
  bool lower_is_better_ = true;
  double best_ = 0;
  int best_epoch_ = -1, stopped_epoch_ = -1, wait_ = 0;
  std::vector<float> best_weights_;
};

struct ReduceLROnPlateauOptions {
  std::string monitor = "val_loss";
  double factor = 0.1;  // new rate = rate · factor
  int patience = 10;
  MonitorMode mode = MonitorMode::kAuto;
  double min_delta = 1e-4;
  int cooldown = 0;  // epochs to wait after a reduction before counting again
  double min_lr = 0.0;
};

class ReduceLROnPlateau final : public Callback {
 public:
  explicit ReduceLROnPlateau(const ReduceLROnPlateauOptions& options = {});
  std::unique_ptr<Callback> clone() const override { return std::make_unique<ReduceLROnPlateau>(*this); }
  std::string training_figure_watched() const override { return watched_training_figure(options_.monitor); }
  void on_train_begin(Model& model) override;
  void on_epoch_end(int epoch, Logs& logs, Model& model) override;

 private:
  ReduceLROnPlateauOptions options_;
  bool lower_is_better_ = true;
  double best_ = 0;
  bool have_best_ = false;
  int wait_ = 0, cooldown_left_ = 0;
};

// Sets the learning rate at the start of every epoch from schedule(epoch, current rate),
// and records it in the logs as "learning_rate".
class LearningRateScheduler final : public Callback {
 public:
  using Schedule = std::function<double(int epoch, double learning_rate)>;
  explicit LearningRateScheduler(Schedule schedule);
  std::unique_ptr<Callback> clone() const override { return std::make_unique<LearningRateScheduler>(*this); }
  void on_epoch_begin(int epoch, Model& model) override;
  void on_epoch_end(int epoch, Logs& logs, Model& model) override;

 private:
  Schedule schedule_;
};

// Schedules over epochs (e = the 0-based epoch, η₀ = initial):
// η₀·factor^⌊e / every⌋
LearningRateScheduler::Schedule step_decay(double initial, double factor, int every);
// η₀·rate^(e / decay_epochs)
LearningRateScheduler::Schedule exponential_decay(double initial, double rate, double decay_epochs);
// η₀·((1 − α)·½(1 + cos(π·min(e, E)/E)) + α), E = decay_epochs
LearningRateScheduler::Schedule cosine_decay(double initial, int decay_epochs, double alpha = 0.0);

// Stops training (instead of raising an error) when a batch's loss is NaN or infinite;
// the weights are those before that batch.
class TerminateOnNaN final : public Callback {
 public:
  std::unique_ptr<Callback> clone() const override { return std::make_unique<TerminateOnNaN>(*this); }
  void on_batch_end(int64_t step, double loss, Model& model) override;
};

// Stops once `monitor` reaches `threshold` (at or below it for losses, at or above for
// accuracy-like figures): the textbook "until the loss reaches a preset threshold".
struct LossThresholdOptions {
  double threshold = 0.0;
  std::string monitor = "loss";
  MonitorMode mode = MonitorMode::kAuto;
};

class LossThreshold final : public Callback {
 public:
  explicit LossThreshold(const LossThresholdOptions& options);
  std::unique_ptr<Callback> clone() const override { return std::make_unique<LossThreshold>(*this); }
  std::string training_figure_watched() const override { return watched_training_figure(options_.monitor); }
  void on_epoch_end(int epoch, Logs& logs, Model& model) override;

 private:
  LossThresholdOptions options_;
};

// Writes the history as CSV (epoch, then every figure), rewriting the file atomically
// after each epoch so it is never torn.
struct CSVLoggerOptions {
  char separator = ',';
  bool append = false;  // keep rows already in the file
  // The file's permissions (citadel/core/atomic_file.hpp): 0600 where the figures are
  // private data (the training rows' exact loss under DP-SGD).
  unsigned mode = kDefaultMode;
};

class CSVLogger final : public Callback {
 public:
  explicit CSVLogger(std::string path, const CSVLoggerOptions& options = {});
  std::unique_ptr<Callback> clone() const override { return std::make_unique<CSVLogger>(*this); }
  void on_train_begin(Model& model) override;
  void on_epoch_end(int epoch, Logs& logs, Model& model) override;

 private:
  std::string path_;
  CSVLoggerOptions options_;
  std::string header_, earlier_rows_, rows_;
};

// Whether lower values of `monitor` are better under `mode`.
bool lower_is_better(const std::string& monitor, MonitorMode mode);
// logs[monitor]; throws ValueError listing the available figures when it is absent.
double monitored_value(const Logs& logs, const std::string& monitor, const char* callback);

}  // namespace citadel
