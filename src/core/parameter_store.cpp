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
  parameters_.push_back({name, shape, size_, initializer, regularizer, trainable, false});
  size_ += shape.numel();
  if (trainable) trainable_size_ += shape.numel();
  return static_cast<int>(parameters_.size()) - 1;
}

void ParameterStore::lay_out() {
  int64_t offset = 0;
  enum Part { kTrainable, kFrozen, kState };
  auto part = [](const ParameterInfo& info) { return info.trainable ? kTrainable : info.frozen ? kFrozen : kState; };
  for (const Part wanted : {kTrainable, kFrozen, kState}) {
    const int64_t start = offset;
    for (auto& info : parameters_) {
      if (part(info) != wanted) continue;
      info.offset = offset;
      offset += info.shape.numel();
    }
    if (wanted == kTrainable) trainable_size_ = offset - start;
    if (wanted == kFrozen) frozen_size_ = offset - start;
  }
}

void ParameterStore::allocate() {
  lay_out();
  values_ = Tensor(Shape{size_});
  grads_ = Tensor(Shape{size_});
  allocated_ = true;
}

bool ParameterStore::set_frozen(int id, bool frozen) {
  CITADEL_ASSERT(id >= 0 && id < static_cast<int>(parameters_.size()), "bad parameter id ", id);
  ParameterInfo& info = parameters_[size_t(id)];
  if (!info.trainable && !info.frozen) return false;  // the layer's own state: never trained
  if (info.frozen == frozen) return false;
  info.frozen = frozen;
  info.trainable = !frozen;
  const int64_t numel = info.shape.numel();
  trainable_size_ += frozen ? -numel : numel;
  frozen_size_ += frozen ? numel : -numel;
  if (!allocated_) return true;
  // A rare step (a compile after a change of `trainable`): the values move to the new layout.
  std::vector<int64_t> old_offsets;
  for (const auto& parameter : parameters_) old_offsets.push_back(parameter.offset);
  lay_out();
  Tensor moved(Shape{size_});
  for (size_t p = 0; p < parameters_.size(); ++p)
    std::copy_n(values_.data() + old_offsets[p], parameters_[p].shape.numel(), moved.data() + parameters_[p].offset);
  values_ = std::move(moved);
  grads_ = Tensor(Shape{size_});
  return true;
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
    if (!info.regularizer.active() || !info.trainable) continue;
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
    if (!info.regularizer.active() || !info.trainable) continue;
    const float* w = values_.data() + info.offset;
    float* g = grads_.data() + info.offset;
    const float l1 = info.regularizer.l1, twice_l2 = 2.0f * info.regularizer.l2;
    for (int64_t i = 0; i < info.shape.numel(); ++i)
      g[i] += l1 * static_cast<float>((w[i] > 0) - (w[i] < 0)) + twice_l2 * w[i];
  }
}

}  // namespace citadel
