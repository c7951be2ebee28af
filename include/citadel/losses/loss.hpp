// Losses: the Loss interface, Keras's losses by name or as objects with settings, and
// LossSpec, which accepts either in compile().
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "citadel/core/tensor.hpp"
#include "citadel/ops/activations.hpp"

namespace citadel {

class Loss {
 public:
  virtual ~Loss() = default;
  virtual std::unique_ptr<Loss> clone() const = 0;
  virtual std::string name() const = 0;
  // Checks once per call of fit/evaluate that the targets fit predictions of shape
  // (N, C...): shape, and values where the loss needs them (0/1, class indices).
  virtual void check_targets(const Shape& prediction_shape, ConstTensorView targets) const = 0;
  // The batch's mean loss. When `gradient` is not empty it is overwritten with the
  // gradient of that mean with respect to `predictions`.
  virtual double compute(ConstTensorView predictions, ConstTensorView targets,
                         TensorView gradient) const = 0;
  // The output activation this loss can absorb (sigmoid for binary cross-entropy,
  // softmax for categorical ones); fused_with_activation() then returns the same loss
  // computed from that activation's input, which is exact where probabilities saturate.
  virtual std::optional<ops::ActivationKind> fusable_activation() const { return std::nullopt; }
  virtual std::unique_ptr<Loss> fused_with_activation() const { return nullptr; }
};

// Settings objects, named and defaulted as in keras.losses.
struct MeanSquaredError {};
struct MeanAbsoluteError {};
struct Huber {
  float delta = 1.0f;
};
struct BinaryCrossentropy {
  bool from_logits = false;
};
struct CategoricalCrossentropy {
  bool from_logits = false;
};
struct SparseCategoricalCrossentropy {
  bool from_logits = false;
};

std::unique_ptr<Loss> make_loss(const MeanSquaredError& settings);
std::unique_ptr<Loss> make_loss(const MeanAbsoluteError& settings);
std::unique_ptr<Loss> make_loss(const Huber& settings);
std::unique_ptr<Loss> make_loss(const BinaryCrossentropy& settings);
std::unique_ptr<Loss> make_loss(const CategoricalCrossentropy& settings);
std::unique_ptr<Loss> make_loss(const SparseCategoricalCrossentropy& settings);
// By Keras identifier ("binary_crossentropy", "mse", ...); throws ValueError listing
// the known names.
std::unique_ptr<Loss> make_loss(std::string_view name);
const std::vector<std::string>& known_losses();

// What compile() takes as its loss: a name, a settings object, or a Loss of your own.
class LossSpec {
 public:
  LossSpec() = default;
  LossSpec(const char* name) : loss_(make_loss(name)) {}                 // NOLINT
  LossSpec(const std::string& name) : loss_(make_loss(name)) {}          // NOLINT
  LossSpec(const MeanSquaredError& s) : loss_(make_loss(s)) {}           // NOLINT
  LossSpec(const MeanAbsoluteError& s) : loss_(make_loss(s)) {}          // NOLINT
  LossSpec(const Huber& s) : loss_(make_loss(s)) {}                      // NOLINT
  LossSpec(const BinaryCrossentropy& s) : loss_(make_loss(s)) {}         // NOLINT
  LossSpec(const CategoricalCrossentropy& s) : loss_(make_loss(s)) {}    // NOLINT
  LossSpec(const SparseCategoricalCrossentropy& s) : loss_(make_loss(s)) {}  // NOLINT
  LossSpec(std::unique_ptr<Loss> loss) : loss_(std::move(loss)) {}      // NOLINT
  LossSpec(const LossSpec& other) : loss_(other.loss_ ? other.loss_->clone() : nullptr) {}
  LossSpec& operator=(const LossSpec& other) {
    loss_ = other.loss_ ? other.loss_->clone() : nullptr;
    return *this;
  }
  LossSpec(LossSpec&&) noexcept = default;
  LossSpec& operator=(LossSpec&&) noexcept = default;

  bool empty() const { return loss_ == nullptr; }
  std::unique_ptr<Loss> make() const { return loss_ ? loss_->clone() : nullptr; }

 private:
  std::unique_ptr<Loss> loss_;
};

}  // namespace citadel
