// --dp-trace: every DP-SGD step's noisy sum of clipped gradients, the quantity ε covers,
// streamed to a file its owner alone can read, for audits.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include "citadel/core/atomic_file.hpp"

namespace citadel::cli {

// The file: one text line "citadel-dp-trace 1 N\n" (N values a step), then each step's
// N values as little-endian float32. Written in place of FILE only by commit().
class NoisySumTrace {
 public:
  explicit NoisySumTrace(const std::string& path);
  // The callback for PrivateTraining::observe_noisy_sum; valid while this object lives.
  std::function<void(std::span<const float>)> observer();
  void commit();

 private:
  AtomicFileWriter file_;
  int64_t width_ = -1;
};

}  // namespace citadel::cli
