// --dp-trace's file writer.
#include "dp_trace.hpp"

#include <bit>

#include "citadel/core/error.hpp"

namespace citadel::cli {

NoisySumTrace::NoisySumTrace(const std::string& path) : file_(path, 0600) {}

std::function<void(std::span<const float>)> NoisySumTrace::observer() {
  static_assert(std::endian::native == std::endian::little, "the trace's records are little-endian float32");
  return [this](std::span<const float> sum) {
    if (width_ < 0) {
      width_ = static_cast<int64_t>(sum.size());
      file_.write("citadel-dp-trace 1 " + std::to_string(width_) + "\n");
    }
    CITADEL_ASSERT(static_cast<int64_t>(sum.size()) == width_, "the DP trace's steps differ in width");
    file_.write({reinterpret_cast<const char*>(sum.data()), sum.size_bytes()});
  };
}

void NoisySumTrace::commit() { file_.commit(); }

}  // namespace citadel::cli
