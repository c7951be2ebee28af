// Regression losses, means over every element as keras.losses computes them.
// mean_squared_error is (1/n)·Σ(p − y)²: twice the textbook J(θ) = 1/(2m)·Σ(h(x) − y)².
#include <cmath>

#include "citadel/core/error.hpp"
#include "citadel/losses/loss.hpp"
#include "target_checks.hpp"

namespace citadel {
namespace {

// A loss that is the mean over elements of f(p − y); ElementLoss gives f and f'.
template <typename ElementLoss>
class ElementwiseLoss final : public Loss {
 public:
  explicit ElementwiseLoss(ElementLoss element) : element_(element) {}
  std::unique_ptr<Loss> clone() const override { return std::make_unique<ElementwiseLoss>(*this); }
  std::string name() const override { return element_.name(); }

  void check_targets(const Shape& prediction_shape, ConstTensorView targets) const override {
    loss_checks::same_shape(*this, prediction_shape, targets.shape());
    loss_checks::finite(*this, targets);
  }

  double compute(ConstTensorView predictions, ConstTensorView targets,
                 TensorView gradient) const override {
    const int64_t count = predictions.numel();
    CITADEL_CHECK(targets.numel() == count, ShapeError, name(), ": ", targets.shape(),
                  " targets for ", predictions.shape(), " predictions");
    double total = 0.0;
    const float scale = 1.0f / static_cast<float>(count);
    for (int64_t i = 0; i < count; ++i) {
      const float error = predictions[i] - targets[i];
      total += element_.value(error);
      if (!gradient.empty()) gradient[i] = element_.derivative(error) * scale;
    }
    return total / static_cast<double>(count);
  }

 private:
  ElementLoss element_;
};

struct SquaredError {
  std::string name() const { return "mean_squared_error"; }
  double value(float e) const { return double(e) * e; }
  float derivative(float e) const { return 2.0f * e; }
};

struct AbsoluteError {
  std::string name() const { return "mean_absolute_error"; }
  double value(float e) const { return std::fabs(e); }
  float derivative(float e) const { return e > 0 ? 1.0f : (e < 0 ? -1.0f : 0.0f); }
};

// Quadratic within ±δ, linear beyond (Huber 1964), as keras.losses.Huber.
struct HuberError {
  float delta;
  std::string name() const { return "huber"; }
  double value(float e) const {
    const double a = std::fabs(e);
    return a <= delta ? 0.5 * a * a : delta * (a - 0.5 * delta);
  }
  float derivative(float e) const { return std::fabs(e) <= delta ? e : (e > 0 ? delta : -delta); }
};

}  // namespace

std::unique_ptr<Loss> make_loss(const MeanSquaredError&) {
  return std::make_unique<ElementwiseLoss<SquaredError>>(SquaredError{});
}

std::unique_ptr<Loss> make_loss(const MeanAbsoluteError&) {
  return std::make_unique<ElementwiseLoss<AbsoluteError>>(AbsoluteError{});
}

std::unique_ptr<Loss> make_loss(const Huber& settings) {
  CITADEL_CHECK(settings.delta > 0, ValueError, "huber: delta must be positive, got ", settings.delta);
  return std::make_unique<ElementwiseLoss<HuberError>>(HuberError{settings.delta});
}

}  // namespace citadel
