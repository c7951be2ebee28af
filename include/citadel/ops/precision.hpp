// The precision of matrix products: float32, or Keras's mixed_bfloat16 (products and
// convolutions with bf16 inputs and float32 accumulation; weights, optimizer state, loss
// and element-wise work stay float32). The setting is per calling thread, installed by
// a PrecisionScope around a model's forward and backward passes, so two models in one
// process (a server's) can differ.
#pragma once

#include <string>
#include <string_view>

namespace citadel::ops {

enum class Precision { kFloat32, kMixedBFloat16 };

// "float32" or "mixed_bfloat16" (Keras's policy names); anything else is a ValueError
// naming the accepted ones.
Precision parse_precision(std::string_view name);
const char* precision_name(Precision precision);

// Whether the processor multiplies bf16 natively (AVX512-BF16 or AMX-BF16), as oneDNN
// sees it (ONEDNN_MAX_CPU_ISA can hide instructions). Without them bf16 products are
// emulated and slower than float32.
bool processor_has_bf16();
// "AMX-BF16", "AVX512-BF16" or "none": for messages and benchmark headers.
std::string bf16_instructions();

// The precision a model asking for `requested` computes in here: mixed_bfloat16 only
// where the processor has bf16 instructions, else float32.
Precision effective_precision(Precision requested);

// The calling thread's precision (float32 unless a scope says otherwise).
Precision current_precision();

// Sets the calling thread's precision until the scope ends (scopes nest).
class PrecisionScope {
 public:
  explicit PrecisionScope(Precision precision);
  ~PrecisionScope();
  PrecisionScope(const PrecisionScope&) = delete;
  PrecisionScope& operator=(const PrecisionScope&) = delete;

 private:
  Precision previous_;
};

}  // namespace citadel::ops
