// Random weights and inputs for comparing a model with another implementation of it (an
// exported file run elsewhere): weights spread enough that every layer matters, moving
// variances kept positive.
#pragma once

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "citadel/model/model.hpp"

namespace citadel::testkit {

inline void randomize(Model& model, uint32_t seed) {
  std::mt19937 generator(seed);
  std::normal_distribution<float> normal(0.0f, 0.5f);
  ParameterStore& store = model.parameters();
  for (size_t i = 0; i < store.parameters().size(); ++i) {
    TensorView values = store.value(static_cast<int>(i));
    const bool variance = store.parameters()[i].name.find("moving_variance") != std::string::npos;
    for (int64_t k = 0; k < values.numel(); ++k) values[k] = variance ? 0.5f + std::abs(normal(generator)) : normal(generator);
  }
}

// One standard-normal tensor of `rows` rows per input of the model.
inline std::vector<Tensor> random_inputs(const Model& model, int64_t rows, uint32_t seed) {
  std::mt19937 generator(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<Tensor> inputs;
  for (const Shape& shape : model.input_shapes()) {
    Tensor x{shape.with_batch(rows)};
    for (int64_t i = 0; i < x.numel(); ++i) x[i] = normal(generator);
    inputs.push_back(std::move(x));
  }
  return inputs;
}

}  // namespace citadel::testkit
