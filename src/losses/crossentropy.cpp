// Cross-entropy losses. On probabilities they clip to [ε, 1 − ε] with Keras's ε = 1e-7
// (the gradient is zero where clipping is active, its true derivative); from logits they
// use the log-sum-exp / softplus forms, exact at any magnitude. Model::compile fuses a
// final sigmoid or softmax into the logits form automatically.
#include <algorithm>
#include <cmath>

#include "citadel/core/error.hpp"
#include "citadel/losses/loss.hpp"
#include "target_checks.hpp"

namespace citadel {
namespace {

constexpr float kEpsilon = 1e-7f;

float clip_probability(float p) { return std::clamp(p, kEpsilon, 1.0f - kEpsilon); }
bool inside_clip(float p) { return p > kEpsilon && p < 1.0f - kEpsilon; }

// log Σ_c exp(z_c) over one row, shifted by its maximum so nothing overflows.
double log_sum_exp(const float* row, int64_t C) {
  const float peak = *std::max_element(row, row + C);
  double total = 0.0;
  for (int64_t c = 0; c < C; ++c) total += std::exp(double(row[c]) - peak);
  return peak + std::log(total);
}

class BinaryCrossentropyLoss final : public Loss {
 public:
  explicit BinaryCrossentropyLoss(bool from_logits) : from_logits_(from_logits) {}
  std::unique_ptr<Loss> clone() const override { return std::make_unique<BinaryCrossentropyLoss>(*this); }
  std::string name() const override { return "binary_crossentropy"; }

  void check_targets(const Shape& prediction_shape, ConstTensorView targets) const override {
    loss_checks::same_shape(*this, prediction_shape, targets.shape());
    loss_checks::probabilities(*this, targets);
  }

  // Mean over every element: -[y·log p + (1 − y)·log(1 − p)].
  double compute(ConstTensorView predictions, ConstTensorView targets,
                 TensorView gradient) const override {
    const int64_t count = predictions.numel();
    CITADEL_CHECK(targets.numel() == count, ShapeError, name(), ": ", targets.shape(),
                  " targets for ", predictions.shape(), " predictions");
    const float scale = 1.0f / static_cast<float>(count);
    double total = 0.0;
    for (int64_t i = 0; i < count; ++i) {
      const float y = targets[i];
      if (from_logits_) {  // softplus(z) − y·z, with gradient sigmoid(z) − y
        const float z = predictions[i];
        total += double(ops::stable_softplus(z)) - double(y) * z;
        if (!gradient.empty()) gradient[i] = (ops::stable_sigmoid(z) - y) * scale;
      } else {
        const float p = clip_probability(predictions[i]);
        total -= y * std::log(double(p)) + (1.0 - y) * std::log1p(-double(p));
        if (!gradient.empty())
          gradient[i] = inside_clip(predictions[i]) ? (p - y) / (p * (1.0f - p)) * scale : 0.0f;
      }
    }
    return total / static_cast<double>(count);
  }

  std::optional<ops::ActivationKind> fusable_activation() const override {
    if (from_logits_) return std::nullopt;
    return ops::ActivationKind::kSigmoid;
  }
  std::unique_ptr<Loss> fused_with_activation() const override {
    return std::make_unique<BinaryCrossentropyLoss>(true);
  }

 private:
  bool from_logits_;
};

// Shared by the categorical losses: per row, −Σ_c y_c·log p_c, where row_target(n, c)
// gives y (one-hot or soft for categorical, an index for sparse).
template <typename RowTarget>
double categorical_cross_entropy(ConstTensorView predictions, TensorView gradient, bool from_logits,
                                 RowTarget row_target) {
  const int64_t N = predictions.shape(0), C = predictions.shape(1);
  const float scale = 1.0f / static_cast<float>(N);
  double total = 0.0;
  for (int64_t n = 0; n < N; ++n) {
    const float* row = predictions.data() + n * C;
    float* grad = gradient.empty() ? nullptr : gradient.data() + n * C;
    if (from_logits) {  // Σ_c y_c·(lse − z_c); gradient softmax(z)·Σy − y
      const double lse = log_sum_exp(row, C);
      double target_mass = 0.0;
      for (int64_t c = 0; c < C; ++c) {
        const float y = row_target(n, c);
        target_mass += y;
        total += y * (lse - row[c]);
      }
      if (grad)
        for (int64_t c = 0; c < C; ++c)
          grad[c] = static_cast<float>(std::exp(row[c] - lse) * target_mass - row_target(n, c)) * scale;
    } else {
      for (int64_t c = 0; c < C; ++c) {
        const float y = row_target(n, c);
        const float p = clip_probability(row[c]);
        if (y != 0.0f) total -= y * std::log(double(p));
        if (grad) grad[c] = inside_clip(row[c]) ? -y / p * scale : 0.0f;
      }
    }
  }
  return total / static_cast<double>(N);
}

class CategoricalCrossentropyLoss final : public Loss {
 public:
  explicit CategoricalCrossentropyLoss(bool from_logits) : from_logits_(from_logits) {}
  std::unique_ptr<Loss> clone() const override {
    return std::make_unique<CategoricalCrossentropyLoss>(*this);
  }
  std::string name() const override { return "categorical_crossentropy"; }

  void check_targets(const Shape& prediction_shape, ConstTensorView targets) const override {
    CITADEL_CHECK(prediction_shape.rank() == 2, ShapeError, name(),
                  ": expects predictions (N, classes), got ", prediction_shape);
    loss_checks::same_shape(*this, prediction_shape, targets.shape());
    loss_checks::probabilities(*this, targets);
  }

  double compute(ConstTensorView predictions, ConstTensorView targets,
                 TensorView gradient) const override {
    CITADEL_CHECK(predictions.shape() == targets.shape(), ShapeError, name(), ": ",
                  targets.shape(), " targets for ", predictions.shape(), " predictions");
    const int64_t C = predictions.shape(1);
    return categorical_cross_entropy(predictions, gradient, from_logits_, [&](int64_t n, int64_t c) {
      return targets[n * C + c];
    });
  }

  std::optional<ops::ActivationKind> fusable_activation() const override {
    if (from_logits_) return std::nullopt;
    return ops::ActivationKind::kSoftmax;
  }
  std::unique_ptr<Loss> fused_with_activation() const override {
    return std::make_unique<CategoricalCrossentropyLoss>(true);
  }

 private:
  bool from_logits_;
};

class SparseCategoricalCrossentropyLoss final : public Loss {
 public:
  explicit SparseCategoricalCrossentropyLoss(bool from_logits) : from_logits_(from_logits) {}
  std::unique_ptr<Loss> clone() const override {
    return std::make_unique<SparseCategoricalCrossentropyLoss>(*this);
  }
  std::string name() const override { return "sparse_categorical_crossentropy"; }

  void check_targets(const Shape& prediction_shape, ConstTensorView targets) const override {
    CITADEL_CHECK(prediction_shape.rank() == 2, ShapeError, name(),
                  ": expects predictions (N, classes), got ", prediction_shape);
    const int64_t N = prediction_shape[0], C = prediction_shape[1];
    CITADEL_CHECK(C >= 2, ShapeError, name(), ": the model has ", C,
                  " output; it needs one output per class (for two classes and one sigmoid "
                  "output use binary_crossentropy)");
    const Shape& shape = targets.shape();
    CITADEL_CHECK((shape.rank() == 1 && shape[0] == N) ||
                      (shape.rank() == 2 && shape[0] == N && shape[1] == 1),
                  ShapeError, name(), ": expects one class index per row, shape (", N,
                  ",) or (", N, ", 1), got ", shape,
                  shape.rank() == 2 && shape[1] == C ? "; for one-hot targets use categorical_crossentropy" : "");
    for (int64_t n = 0; n < N; ++n) {
      const float label = targets[n];
      CITADEL_CHECK(label >= 0 && label < float(C) && label == std::floor(label), ValueError, name(),
                    ": target at row ", n, " is ", label, "; expected a class index from 0 to ",
                    C - 1);
    }
  }

  double compute(ConstTensorView predictions, ConstTensorView targets,
                 TensorView gradient) const override {
    CITADEL_CHECK(targets.numel() == predictions.shape(0), ShapeError, name(), ": ",
                  targets.shape(), " targets for ", predictions.shape(), " predictions");
    return categorical_cross_entropy(predictions, gradient, from_logits_, [&](int64_t n, int64_t c) {
      return static_cast<int64_t>(targets[n]) == c ? 1.0f : 0.0f;
    });
  }

  std::optional<ops::ActivationKind> fusable_activation() const override {
    if (from_logits_) return std::nullopt;
    return ops::ActivationKind::kSoftmax;
  }
  std::unique_ptr<Loss> fused_with_activation() const override {
    return std::make_unique<SparseCategoricalCrossentropyLoss>(true);
  }

 private:
  bool from_logits_;
};

}  // namespace

std::unique_ptr<Loss> make_loss(const BinaryCrossentropy& settings) {
  return std::make_unique<BinaryCrossentropyLoss>(settings.from_logits);
}

std::unique_ptr<Loss> make_loss(const CategoricalCrossentropy& settings) {
  return std::make_unique<CategoricalCrossentropyLoss>(settings.from_logits);
}

std::unique_ptr<Loss> make_loss(const SparseCategoricalCrossentropy& settings) {
  return std::make_unique<SparseCategoricalCrossentropyLoss>(settings.from_logits);
}

}  // namespace citadel
