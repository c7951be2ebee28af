// Defaults of the Layer interface.
#include "citadel/layers/layer.hpp"

#include "citadel/core/error.hpp"

namespace citadel {

ConstTensorView Layer::pre_activation() const {
  throw NotImplementedError(name_ + " (" + type() + ") has no fusable output activation");
}

void Layer::backward_from_pre_activation(ConstTensorView, Tensor&) {
  throw NotImplementedError(name_ + " (" + type() + ") has no fusable output activation");
}

void Layer::add_per_example_squared_norms(std::span<double>) {
  if (parameter_count() > 0)
    throw NotImplementedError(name_ + " (" + type() +
                              "): per-example gradient norms, needed for private training, are not implemented "
                              "for this layer type (Dense and Conv2D have them)");
}

void Layer::add_recorded_norms(std::span<double> squared_norms) const {
  CITADEL_ASSERT(!example_squared_norms_.empty(), name_, ": per-example norms asked before a backward() that records them");
  CITADEL_CHECK(squared_norms.size() == example_squared_norms_.size(), ShapeError, name_, ": ", squared_norms.size(),
                " norms for a batch of ", example_squared_norms_.size());
  for (size_t n = 0; n < squared_norms.size(); ++n) squared_norms[n] += example_squared_norms_[n];
}

}  // namespace citadel
