// Precision setting and bf16 detection. oneDNN's view of the processor decides, because
// oneDNN is what runs the bf16 products (and honours ONEDNN_MAX_CPU_ISA).
#include "citadel/ops/precision.hpp"

#include <dnnl.h>

#include "citadel/core/error.hpp"

namespace citadel::ops {
namespace {

thread_local Precision calling_thread_precision = Precision::kFloat32;

bool isa_includes(dnnl_cpu_isa_t isa, dnnl_cpu_isa_t wanted) {
  return (static_cast<unsigned>(isa) & static_cast<unsigned>(wanted)) == static_cast<unsigned>(wanted);
}

}  // namespace

Precision parse_precision(std::string_view name) {
  if (name == "float32") return Precision::kFloat32;
  if (name == "mixed_bfloat16") return Precision::kMixedBFloat16;
  throw ValueError("unknown precision '" + std::string(name) + "'; expected 'float32' or 'mixed_bfloat16'");
}

const char* precision_name(Precision precision) {
  return precision == Precision::kMixedBFloat16 ? "mixed_bfloat16" : "float32";
}

bool processor_has_bf16() { return isa_includes(dnnl_get_effective_cpu_isa(), dnnl_cpu_isa_avx512_core_bf16); }

std::string bf16_instructions() {
  const dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
  if (isa_includes(isa, dnnl_cpu_isa_avx512_core_amx)) return "AMX-BF16";
  if (isa_includes(isa, dnnl_cpu_isa_avx512_core_bf16)) return "AVX512-BF16";
  return "none";
}

Precision effective_precision(Precision requested) {
  return requested == Precision::kMixedBFloat16 && !processor_has_bf16() ? Precision::kFloat32 : requested;
}

Precision current_precision() { return calling_thread_precision; }

PrecisionScope::PrecisionScope(Precision precision) : previous_(calling_thread_precision) {
  calling_thread_precision = precision;
}

PrecisionScope::~PrecisionScope() { calling_thread_precision = previous_; }

}  // namespace citadel::ops
