// The models of ../shared/BENCHMARKS.md's W2 (MLP) and W3 (CNN) on Fashion-MNIST, shared by
// citadel_bench and scaling_bench.
#pragma once

#include <citadel/citadel.hpp>

#include <string>

namespace citadel::bench {

inline Sequential w2_model(const std::string& precision = "float32") {
  Sequential model;
  model.add(Flatten({.input_shape = {28, 28, 1}}));
  model.add(Dense(256, {.activation = "relu"}));
  model.add(Dense(128, {.activation = "relu"}));
  model.add(Dense(10, {.activation = "softmax"}));
  model.compile({.loss = "sparse_categorical_crossentropy", .optimizer = Adam{.learning_rate = 1e-3f},
                 .metrics = {"accuracy"}, .precision = precision});
  return model;
}

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
