// Keras-style progress output for fit(): "Epoch 3/10", then a bar (verbose 1, on a
// terminal) or one line per epoch: "24/24 - 0s - 310us/step - loss: 0.51 - accuracy: 0.75".
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
  // `names`: the figures to show, in order ("loss", then the metrics as compiled); their
  // validation twins ("val_loss", ...) follow.
  ProgressReporter(std::ostream& out, int verbose, int epochs, int64_t steps, std::vector<std::string> names);

  void epoch_begin(int epoch);
  // `running` gives the figures so far; called only when the bar is redrawn.
  void batch_end(int64_t step, const std::function<Logs()>& running);
  void epoch_end(const Logs& logs);
  void message(const std::string& text);

 private:
  std::string figures(const Logs& logs) const;
  std::string bar(int64_t step) const;

  std::ostream& out_;
  int verbose_;
  bool live_bar_;  // redraw with \r only on a terminal
  int epochs_;
  int64_t steps_;
  std::vector<std::string> names_;
  std::chrono::steady_clock::time_point epoch_start_, last_draw_;
};

}  // namespace citadel
