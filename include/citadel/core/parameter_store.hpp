// ParameterStore: every trainable parameter of a model in one flat buffer and every
// gradient in another, so the optimizer step, clipping and (later) privacy noise and
// all-reduce are each one loop over contiguous memory.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "citadel/core/tensor.hpp"

namespace citadel {

// Weight penalty added to the loss: l1·Σ|w| + l2·Σw² (Keras's L1, L2, L1L2).
struct Regularizer {
  float l1 = 0.0f;
  float l2 = 0.0f;
  bool active() const { return l1 != 0.0f || l2 != 0.0f; }
};

struct ParameterInfo {
  std::string name;         // "dense_1/kernel"
  Shape shape;
  int64_t offset = 0;       // into the flat buffers
  std::string initializer;  // a name known to layers/initializers
  Regularizer regularizer;
  bool trainable = true;    // false: state the layer updates itself (BatchNorm's moving statistics),
                            // or a frozen weight
  bool frozen = false;      // a weight of a frozen layer (Layer::set_trainable(false)): not trainable
                            // until unfrozen; its regularizer is kept but not applied
};

class ParameterStore {
 public:
  // Declares a parameter; its storage exists after allocate(). Returns its id.
  int declare(const std::string& name, const Shape& shape, const std::string& initializer,
              const Regularizer& regularizer = {}, bool trainable = true);
  // Sizes both flat buffers (zero-filled) once every parameter is declared. Trainable
  // parameters come first, so the optimizer's spans below are contiguous; then frozen
  // weights, then the layers' own state.
  void allocate();
  // Freezes (or unfreezes) a weight declared trainable. Once allocated, the buffers are
  // laid out again, values kept and gradients zeroed, and every view of them is stale:
  // the owner rebinds its layers. Returns whether anything changed.
  bool set_frozen(int id, bool frozen);
  bool allocated() const { return allocated_; }

  TensorView value(int id);
  ConstTensorView value(int id) const;
  TensorView grad(int id);

  std::span<float> values() { return {values_.data(), static_cast<size_t>(size_)}; }
  std::span<const float> values() const { return {values_.data(), static_cast<size_t>(size_)}; }
  std::span<float> grads() { return {grads_.data(), static_cast<size_t>(size_)}; }
  // The trainable part: what optimizers, clipping and privacy noise work on.
  std::span<float> trainable_values() { return {values_.data(), static_cast<size_t>(trainable_size_)}; }
  std::span<float> trainable_grads() { return {grads_.data(), static_cast<size_t>(trainable_size_)}; }
  void zero_grad();
  // The layers' own state (after the trainable and frozen parts): what data-parallel
  // training averages across ranks.
  std::span<float> state_values() {
    return {values_.data() + trainable_size_ + frozen_size_, static_cast<size_t>(size_ - trainable_size_ - frozen_size_)};
  }

  // The penalty of every regularized trainable parameter (Keras leaves a frozen layer's
  // out), and (add_regularization_gradient) its gradient l1·sign(w) + 2·l2·w added to the
  // gradient buffer.
  double regularization_loss() const;
  void add_regularization_gradient();

  const std::vector<ParameterInfo>& parameters() const { return parameters_; }
  int64_t size() const { return size_; }
  int64_t trainable_size() const { return trainable_size_; }
  int64_t frozen_size() const { return frozen_size_; }

 private:
  std::vector<ParameterInfo> parameters_;
  Tensor values_, grads_;
  int64_t size_ = 0, trainable_size_ = 0, frozen_size_ = 0;
  void lay_out();  // offsets: trainable, frozen, state
  bool allocated_ = false;
};

}  // namespace citadel
