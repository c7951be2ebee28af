// Progress lines in Keras 3's layout (keras/src/utils/progbar.py): its bar, times, number
// formats and the order of its figures. scripts/compare_keras holds them against Keras 3.
#include "progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>

namespace citadel {
namespace {

constexpr int kBarWidth = 20;
constexpr const char* kBarPiece = "\xE2\x94\x81";  // '━', U+2501
// Keras 3's escape codes on a terminal: bold counts and times, the done part green, the rest white.
constexpr const char* kBold = "\x1b[1m";
constexpr const char* kGreen = "\x1b[32m";
constexpr const char* kWhite = "\x1b[37m";
constexpr const char* kReset = "\x1b[0m";

// As Keras 3 prints a figure: 4 decimals, or scientific notation for small ones. The bar
// (verbose 1) compares the magnitude, the per-epoch line (verbose 2) the signed value.
std::string format_value(double value, bool by_magnitude) {
  if (std::isnan(value)) return "nan";
  char text[32];
  const bool fixed = (by_magnitude ? std::fabs(value) : value) > 1e-3;
  std::snprintf(text, sizeof text, fixed ? "%.4f" : "%.4e", value);
  return text;
}

std::string format_step_time(double seconds) {
  char text[32];
  if (seconds >= 1.0 || seconds == 0.0) std::snprintf(text, sizeof text, "%.0fs/step", seconds);
  else if (seconds >= 1e-3) std::snprintf(text, sizeof text, "%.0fms/step", seconds * 1e3);
  else std::snprintf(text, sizeof text, "%.0fus/step", seconds * 1e6);
  return text;
}

std::string format_seconds(double seconds) {
  char text[32];
  std::snprintf(text, sizeof text, "%.0fs", seconds);
  return text;
}

// Keras 3's estimate of the time left: "42s", "3:07" or "1:02:03".
std::string format_eta(double seconds) {
  const auto whole = static_cast<long long>(seconds);
  char text[48];
  if (seconds > 3600) std::snprintf(text, sizeof text, "%lld:%02lld:%02lld", whole / 3600, whole % 3600 / 60, whole % 60);
  else if (seconds > 60) std::snprintf(text, sizeof text, "%lld:%02lld", whole / 60, whole % 60);
  else std::snprintf(text, sizeof text, "%llds", whole);
  return text;
}

std::string bold(const std::string& text, bool colour) { return colour ? kBold + text + kReset : text; }

size_t visible_width(const std::string& text) {  // UTF-8 code points outside escape sequences
  size_t width = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\x1b') {
      while (i < text.size() && text[i] != 'm') ++i;
      continue;
    }
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++width;
  }
  return width;
}

}  // namespace

ProgressReporter::ProgressReporter(std::ostream& out, int verbose, int epochs, int64_t steps,
                                   std::vector<std::string> figures, std::vector<std::string> extras)
    : out_(out),
      verbose_(verbose),
      live_bar_(verbose == 1 && &out == &std::cout && ::isatty(STDOUT_FILENO)),
      epochs_(epochs),
      steps_(steps) {
  std::sort(figures.begin(), figures.end());
  order_ = figures;
  for (const auto& name : figures) order_.push_back("val_" + name);
  order_.insert(order_.end(), extras.begin(), extras.end());
}

void ProgressReporter::epoch_begin(int epoch) {
  epoch_start_ = last_draw_ = std::chrono::steady_clock::now();
  first_step_done_ = false;
  drawn_width_ = 0;
  if (verbose_ > 0) out_ << "Epoch " << epoch + 1 << "/" << epochs_ << "\n" << std::flush;
}

std::string ProgressReporter::figures(const Logs& logs) const {
  std::string text;
  for (const auto& name : order_)
    if (auto found = logs.find(name); found != logs.end())
      text += " - " + found->first + ": " + format_value(found->second, verbose_ == 1);
  return text;
}

std::string ProgressReporter::count(int64_t step) const {
  const int digits = static_cast<int>(std::to_string(steps_).size());
  char text[48];
  std::snprintf(text, sizeof text, "%*lld/%lld", digits, static_cast<long long>(step), static_cast<long long>(steps_));
  return text;
}

std::string ProgressReporter::bar(int64_t step) const {
  const int done = static_cast<int>(kBarWidth * double(step) / double(std::max<int64_t>(steps_, 1)));
  std::string filled, rest;
  for (int i = 0; i < kBarWidth; ++i) (i < done ? filled : rest) += kBarPiece;
  if (!live_bar_) return filled + rest;
  return (done > 0 ? kGreen + filled + kReset : std::string()) + kWhite + rest + kReset;
}

// As Keras 3 estimates it: after the first step, the first (which may include warming up)
// no longer counts.
double ProgressReporter::seconds_per_step(int64_t step, std::chrono::steady_clock::time_point now) const {
  if (step <= 0) return 0;
  if (first_step_done_ && step > 1)
    return std::chrono::duration<double>(now - after_first_step_).count() / double(step - 1);
  return std::chrono::duration<double>(now - epoch_start_).count() / double(step);
}

void ProgressReporter::batch_end(int64_t step, const std::function<Logs()>& running) {
  if (verbose_ == 0) return;
  if (step == 1) {
    after_first_step_ = std::chrono::steady_clock::now();
    first_step_done_ = true;
  }
  if (!live_bar_) return;
  const auto now = std::chrono::steady_clock::now();
  if (step < steps_ && now - last_draw_ < std::chrono::milliseconds(50)) return;  // Keras's 0.05 s interval
  if (step >= steps_) return;  // the final state is drawn by epoch_end, with the validation figures
  last_draw_ = now;
  const double per_step = seconds_per_step(step, now);
  const std::string line = bold(count(step), true) + " " + bar(step) + " " +
                           bold(format_eta(per_step * double(steps_ - step)), true) + " " +
                           format_step_time(per_step) + figures(running());
  const size_t width = visible_width(line);
  out_ << "\r" << line << std::string(drawn_width_ > width ? drawn_width_ - width : 0, ' ') << std::flush;
  drawn_width_ = width;
}

void ProgressReporter::epoch_end(const Logs& logs) {
  if (verbose_ == 0) return;
  const auto now = std::chrono::steady_clock::now();
  const double seconds = std::chrono::duration<double>(now - epoch_start_).count();
  const std::string per_step = format_step_time(seconds_per_step(steps_, now));
  if (verbose_ == 1) {
    const std::string line = bold(count(steps_), live_bar_) + " " + bar(steps_) + " " +
                             bold(format_seconds(seconds), live_bar_) + " " + per_step + figures(logs);
    if (live_bar_) {
      const size_t width = visible_width(line);
      out_ << "\r" << line << std::string(drawn_width_ > width ? drawn_width_ - width : 0, ' ');
    } else {
      out_ << line;
    }
    out_ << "\n";
  } else {
    out_ << count(steps_) << " - " << format_seconds(seconds) << " - " << per_step << figures(logs) << "\n";
  }
  out_ << std::flush;
}

void ProgressReporter::message(const std::string& text) {
  if (verbose_ > 0) out_ << text << "\n" << std::flush;
}

}  // namespace citadel
