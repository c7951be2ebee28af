// Flushing denormal floats to zero while citadel computes. An x86 core takes a microcode
// assist, 10-100× slower, for every operation that reads or makes a denormal (a magnitude
// below 2^-126); gradients that fade through long recurrences are full of them (W8's GRU
// trained 10× slower), and the matrix products meet them all. As TensorFlow (Keras) does,
// citadel's model entry points (fit, evaluate, predict, train_on_batch and the gradients)
// run with MXCSR's flush-to-zero and denormals-are-zero bits set: a denormal result or
// operand counts as 0, a change below 1.2e-38 in absolute value. The caller's own two bits
// are restored on return (exception flags raised meanwhile stay raised); the OpenMP threads
// that compute for it keep the bits.
// CITADEL_FLUSH_DENORMALS=0 turns it off (exact IEEE arithmetic, and its slowness).
#pragma once

namespace citadel {

class ScopedFlushDenormals {
 public:
  ScopedFlushDenormals();
  ~ScopedFlushDenormals();
  ScopedFlushDenormals(const ScopedFlushDenormals&) = delete;
  ScopedFlushDenormals& operator=(const ScopedFlushDenormals&) = delete;

 private:
  unsigned saved_ = 0;
  bool changed_ = false;
};

// Whether the entry points flush (CITADEL_FLUSH_DENORMALS, read once; default on). Off on
// processors without MXCSR.
bool flush_denormals_enabled();

}  // namespace citadel
