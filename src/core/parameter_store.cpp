// Flat parameter and gradient buffers, handed out as views by parameter id.
#include "citadel/core/parameter_store.hpp"

#include <algorithm>
#include <cmath>

#include "citadel/core/error.hpp"

namespace citadel {

int ParameterStore::declare(const std::string& name, const Shape& shape,
                            const std::string& initializer, const Regularizer& regularizer,
                            bool trainable) {
  CITADEL_CHECK(!allocated_, ValueError, "parameter '", name,
                "' declared after the parameter store was allocated");
  CITADEL_CHECK(regularizer.l1 >= 0 && regularizer.l2 >= 0, ValueError, "parameter '", name,
                "': regularization factors must be >= 0, got l1 ", regularizer.l1, ", l2 ", regularizer.l2);
  CITADEL_CHECK(trainable || !regularizer.active(), ValueError, "parameter '", name,
                "': a non-trainable parameter cannot be regularized");
  parameters_.push_back({name, shape, size_, initializer, regularizer, trainable});
  size_ += shape.numel();
  if (trainable) trainable_size_ += shape.numel();
  return static_cast<int>(parameters_.size()) - 1;
}

void ParameterStore::allocate() {
  int64_t offset = 0;
  for (bool trainable : {true, false}) {
    for (auto& info : parameters_) {
      if (info.trainable != trainable) continue;
      info.offset = offset;
      offset += info.shape.numel();
    }
    if (trainable) trainable_size_ = offset;
  }
  values_ = Tensor(Shape{size_});
  grads_ = Tensor(Shape{size_});
  allocated_ = true;
}

TensorView ParameterStore::value(int id) {
  CITADEL_ASSERT(allocated_ && id >= 0 && id < static_cast<int>(parameters_.size()),
                 "bad parameter id ", id);
  const auto& info = parameters_[id];
  return {values_.data() + info.offset, info.shape};
}

ConstTensorView ParameterStore::value(int id) const {
  CITADEL_ASSERT(allocated_ && id >= 0 && id < static_cast<int>(parameters_.size()),
                 "bad parameter id ", id);
  const auto& info = parameters_[id];
  return {values_.data() + info.offset, info.shape};
}

TensorView ParameterStore::grad(int id) {
  CITADEL_ASSERT(allocated_ && id >= 0 && id < static_cast<int>(parameters_.size()),
                 "bad parameter id ", id);
  const auto& info = parameters_[id];
  return {grads_.data() + info.offset, info.shape};
}

void ParameterStore::zero_grad() {
  if (allocated_) std::fill_n(grads_.data(), size_, 0.0f);
}

}  // namespace citadel

namespace citadel {

double ParameterStore::regularization_loss() const {
  double total = 0;
  for (const auto& info : parameters_) {
    if (!info.regularizer.active()) continue;
    const float* w = values_.data() + info.offset;
    double absolute = 0, squared = 0;
    for (int64_t i = 0; i < info.shape.numel(); ++i) {
      absolute += std::fabs(w[i]);
      squared += double(w[i]) * w[i];
    }
    total += info.regularizer.l1 * absolute + info.regularizer.l2 * squared;
  }
  return total;
}

void ParameterStore::add_regularization_gradient() {
  for (const auto& info : parameters_) {
    if (!info.regularizer.active()) continue;
    const float* w = values_.data() + info.offset;
    float* g = grads_.data() + info.offset;
    const float l1 = info.regularizer.l1, twice_l2 = 2.0f * info.regularizer.l2;
    for (int64_t i = 0; i < info.shape.numel(); ++i)
      g[i] += l1 * static_cast<float>((w[i] > 0) - (w[i] < 0)) + twice_l2 * w[i];
  }
}

}  // namespace citadel
