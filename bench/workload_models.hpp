// The models of ../shared/BENCHMARKS.md's W2 (MLP) and W3 (CNN) on Fashion-MNIST, shared by
// citadel_bench and scaling_bench.
#pragma once

#include <citadel/citadel.hpp>

#include <string>

namespace citadel::bench {

// W2's MLP with its first hidden layer `width` wide and the second half that (W2: 256);
// bench/compare --sweep varies the width.
inline Sequential mlp_model(int64_t width, const std::string& precision = "float32") {
  Sequential model;
  model.add(Flatten({.input_shape = {28, 28, 1}}));
  model.add(Dense(width, {.activation = "relu"}));
  model.add(Dense(width / 2, {.activation = "relu"}));
  model.add(Dense(10, {.activation = "softmax"}));
  model.compile({.loss = "sparse_categorical_crossentropy", .optimizer = Adam{.learning_rate = 1e-3f},
                 .metrics = {"accuracy"}, .precision = precision});
  return model;
}

// FLOPs of the matrix products of one training sample through mlp_model(width): forward,
// weight gradients and input gradients, 2 per multiply-add, but no input gradient for the
// first layer (its input is the data). bench/torch_bench.py counts the same. Bias,
// activation and optimizer work are left out: they are not multiply-adds on the FMA units.
inline double mlp_training_flops(int64_t width) {
  const double first = 784.0 * width, rest = 1.0 * width * (width / 2) + (width / 2) * 10.0;
  return 2 * (3 * first - first) + 2 * 3 * rest;
}

inline Sequential w2_model(const std::string& precision = "float32") { return mlp_model(256, precision); }

inline Sequential w3_model(const std::string& precision = "float32") {
  Sequential model;
  model.add(Conv2D(32, {3, 3}, {.input_shape = {28, 28, 1}, .activation = "relu"}));
  model.add(MaxPooling2D({2, 2}));
  model.add(Conv2D(64, {3, 3}, {.activation = "relu"}));
  model.add(MaxPooling2D({2, 2}));
  model.add(Flatten());
  model.add(Dense(128, {.activation = "relu"}));
  model.add(Dense(10, {.activation = "softmax"}));
  model.compile({.loss = "sparse_categorical_crossentropy", .optimizer = Adam{.learning_rate = 1e-3f},
                 .metrics = {"accuracy"}, .precision = precision});
  return model;
}

}  // namespace citadel::bench
