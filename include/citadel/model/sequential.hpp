// Sequential: a stack of layers trained as Keras's Sequential is — add, compile, fit,
// evaluate, predict, summary. It is a Model whose graph is a chain, made when the input
// shape is known (the first layer's input_dim/input_shape, build(), or the first fit).
#pragma once

#include <memory>
#include <string>

#include "citadel/model/model.hpp"

namespace citadel {

class Sequential : public Model {
 public:
  // The model's seed (initialization, shuffling) is drawn from the global generator
  // (random::set_seed), so one seed fixes a whole program.
  Sequential();
  explicit Sequential(const std::string& name);
  // A model that is a chain (a Sequential model read from a config or a file, as Model);
  // ValueError for a graph that is not one.
  Sequential(Model&& model);  // NOLINT(google-explicit-constructor): configs and files give Models
  Sequential(Sequential&&) noexcept = default;
  Sequential& operator=(Sequential&&) noexcept = default;

  // Appends a copy of `layer`.
  void add(const Layer& layer);
  void add(std::unique_ptr<Layer> layer);
};

}  // namespace citadel
