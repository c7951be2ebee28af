// Keras 3's progress output for fit(): "Epoch 3/10", then a bar of '━' (verbose 1: redrawn
// on a terminal, in colour; elsewhere its final state once an epoch) or one line per epoch
// (verbose 2): "24/24 - 0s - 310us/step - accuracy: 0.7500 - loss: 0.5100".
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "citadel/model/history.hpp"

namespace citadel {

class ProgressReporter {
 public:
  // `figures`: the loss and the compiled metrics, shown sorted by name as Keras 3 sorts its
  // logs, then their validation twins ("val_loss", ...) sorted; `extras` (learning_rate,
  // epsilon) follow in the order given, as Keras 3 shows what callbacks add.
  ProgressReporter(std::ostream& out, int verbose, int epochs, int64_t steps, std::vector<std::string> figures,
                   std::vector<std::string> extras);

  void epoch_begin(int epoch);
  // `running` gives the figures so far; called only when the bar is redrawn.
  void batch_end(int64_t step, const std::function<Logs()>& running);
  void epoch_end(const Logs& logs);
  void message(const std::string& text);

 private:
  std::string figures(const Logs& logs) const;
  std::string count(int64_t step) const;
  std::string bar(int64_t step) const;
  double seconds_per_step(int64_t step, std::chrono::steady_clock::time_point now) const;

  std::ostream& out_;
  int verbose_;
  bool live_bar_;  // redraw with \r, in colour, only on a terminal
  int epochs_;
  int64_t steps_;
  std::vector<std::string> order_;  // every name that may be shown, in the order shown
  std::chrono::steady_clock::time_point epoch_start_, after_first_step_, last_draw_;
  bool first_step_done_ = false;
  size_t drawn_width_ = 0;  // of the last redraw, so that a shorter one blanks its tail
};

}  // namespace citadel
