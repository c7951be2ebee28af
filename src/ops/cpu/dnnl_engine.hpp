// The one oneDNN CPU engine that citadel's oneDNN primitives (convolutions, bf16 products) run
// on: made on first use, shared by every file that includes this (an inline function's static).
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

namespace citadel::ops {

inline dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

}  // namespace citadel::ops
