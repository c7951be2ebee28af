// The models of ../shared/BENCHMARKS.md's W2 (MLP) and W3 (CNN) on Fashion-MNIST, W2 as a
// graph of the functional API, and W7 (a small ResNet, docs/PERFORMANCE.md), shared by
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

// W2 as a Functional chain (Input → the same layers → Model): the graph engine's cost
// against Sequential's on the same products.
inline Model w2_functional_model(const std::string& precision = "float32") {
  const SymbolicTensor image = Input({28, 28, 1});
  SymbolicTensor x = Flatten()(image);
  x = Dense(256, {.activation = "relu"})(x);
  x = Dense(128, {.activation = "relu"})(x);
  Model model(image, Dense(10, {.activation = "softmax"})(x));
  model.compile({.loss = "sparse_categorical_crossentropy", .optimizer = Adam{.learning_rate = 1e-3f},
                 .metrics = {"accuracy"}, .precision = precision});
  return model;
}

// W7: examples/fashion_resnet.cpp's network (a stem, two residual blocks with
// BatchNormalization, the second with a projected skip, global average pooling).
inline SymbolicTensor w7_conv_bn(const SymbolicTensor& x, int64_t filters, int64_t kernel, bool activate = true) {
  SymbolicTensor y = Conv2D(filters, {kernel, kernel}, {.padding = "same", .use_bias = false})(x);
  y = BatchNormalization()(y);
  return activate ? Activation("relu")(y) : y;
}

inline SymbolicTensor w7_block(const SymbolicTensor& x, int64_t filters) {
  const SymbolicTensor body = w7_conv_bn(w7_conv_bn(x, filters, 3), filters, 3, false);
  const SymbolicTensor skip = x.shape()[2] == filters ? x : w7_conv_bn(x, filters, 1, false);
  return Activation("relu")(Add()({body, skip}));
}

inline Model w7_model(const std::string& precision = "float32") {
  const SymbolicTensor image = Input({28, 28, 1});
  SymbolicTensor x = MaxPooling2D({2, 2})(w7_conv_bn(image, 32, 3));
  x = MaxPooling2D({2, 2})(w7_block(x, 32));
  x = GlobalAveragePooling2D()(w7_block(x, 64));
  Model model(image, Dense(10, {.activation = "softmax"})(x));
  model.compile({.loss = "sparse_categorical_crossentropy", .optimizer = Adam{.learning_rate = 2e-3f},
                 .metrics = {"accuracy"}, .precision = precision});
  return model;
}

}  // namespace citadel::bench
