// Progress lines in the layout Keras users know.
#include "progress.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>

namespace citadel {
namespace {

std::string format_value(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.4f", value);
  return text;
}

std::string format_step_time(double seconds) {
  char text[32];
  if (seconds >= 1.0) std::snprintf(text, sizeof text, "%.0fs/step", seconds);
  else if (seconds >= 1e-3) std::snprintf(text, sizeof text, "%.0fms/step", seconds * 1e3);
  else std::snprintf(text, sizeof text, "%.0fus/step", seconds * 1e6);
  return text;
}

}  // namespace

ProgressReporter::ProgressReporter(std::ostream& out, int verbose, int epochs, int64_t steps,
                                   std::vector<std::string> names)
    : out_(out),
      verbose_(verbose),
      live_bar_(verbose == 1 && &out == &std::cout && ::isatty(STDOUT_FILENO)),
      epochs_(epochs),
      steps_(steps),
      names_(std::move(names)) {}

void ProgressReporter::epoch_begin(int epoch) {
  epoch_start_ = last_draw_ = std::chrono::steady_clock::now();
  if (verbose_ > 0) out_ << "Epoch " << epoch + 1 << "/" << epochs_ << "\n" << std::flush;
}

std::string ProgressReporter::figures(const Logs& logs) const {
  std::string text;
  for (const char* prefix : {"", "val_"})
    for (const auto& name : names_)
      if (auto found = logs.find(prefix + name); found != logs.end())
        text += " - " + found->first + ": " + format_value(found->second);
  return text;
}

std::string ProgressReporter::bar(int64_t step) const {
  constexpr int kWidth = 30;
  const int filled = static_cast<int>(kWidth * step / std::max<int64_t>(steps_, 1));
  std::string text = "[";
  for (int i = 0; i < kWidth; ++i)
    text += i < filled - 1 || (i == filled - 1 && step == steps_) ? '=' : (i == filled - 1 ? '>' : '.');
  return text + "]";
}

void ProgressReporter::batch_end(int64_t step, const std::function<Logs()>& running) {
  if (!live_bar_) return;
  const auto now = std::chrono::steady_clock::now();
  if (step < steps_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  out_ << "\r" << step << "/" << steps_ << " " << bar(step) << figures(running()) << std::flush;
}

void ProgressReporter::epoch_end(const Logs& logs) {
  if (verbose_ == 0) return;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start_).count();
  const std::string time = std::to_string(static_cast<long>(std::lround(seconds))) + "s";
  const std::string per_step = format_step_time(seconds / double(std::max<int64_t>(steps_, 1)));
  if (verbose_ == 1) {
    if (live_bar_) out_ << "\r";
    out_ << steps_ << "/" << steps_ << " " << bar(steps_) << " - " << time << " " << per_step
         << figures(logs) << "\n";
  } else {
    out_ << steps_ << "/" << steps_ << " - " << time << " - " << per_step << figures(logs) << "\n";
  }
  out_ << std::flush;
}

void ProgressReporter::message(const std::string& text) {
  if (verbose_ > 0) out_ << text << "\n" << std::flush;
}

}  // namespace citadel
