// A small residual network (W7 of the benchmarks) on Fashion-MNIST, written with the
// functional API: a stem, two residual blocks (the second widening with a 1×1 projection
// on its skip path), BatchNormalization after every convolution, global average pooling and
// a softmax; Adam with a cosine-decayed learning rate, batch 64, five epochs over all 60,000
// training images, the official test split for the result. It beats the W3 CNN
// (examples/fashion_cnn.cpp) in the same five epochs: docs/PERFORMANCE.md has the figures.
// CLI equivalent: citadel train --data fashion-mnist --model-config examples/fashion_resnet.json
//                 --batch-size 64 --lr-schedule cosine
#include <citadel/citadel.hpp>
#include <cstdio>
#include <filesystem>
#include <string>

using namespace citadel;

namespace {

// conv → batch norm → relu (the relu left out when `activate` is false).
SymbolicTensor conv_bn(const SymbolicTensor& x, int64_t filters, int64_t kernel, bool activate = true) {
  SymbolicTensor y = Conv2D(filters, {kernel, kernel}, {.padding = "same", .use_bias = false})(x);
  y = BatchNormalization()(y);
  return activate ? Activation("relu")(y) : y;
}

// Two 3×3 convolutions whose output is added to the block's input (projected by a 1×1
// convolution when the width changes), then a relu.
SymbolicTensor residual_block(const SymbolicTensor& x, int64_t filters) {
  const SymbolicTensor body = conv_bn(conv_bn(x, filters, 3), filters, 3, false);
  const SymbolicTensor skip = x.shape()[2] == filters ? x : conv_bn(x, filters, 1, false);
  return Activation("relu")(Add()({body, skip}));
}

// The network, made before any data is read (so that `fashion_resnet --config` can print its
// Keras-style config, which examples/fashion_resnet.json holds).
Model make_network() {
  const SymbolicTensor image = Input({28, 28, 1}, {.name = "image"});
  SymbolicTensor x = conv_bn(image, 32, 3);
  x = MaxPooling2D({2, 2})(x);  // 14×14×32
  x = residual_block(x, 32);
  x = MaxPooling2D({2, 2})(x);  // 7×7×32
  x = residual_block(x, 64);    // 7×7×64, projected skip
  x = GlobalAveragePooling2D()(x);
  return Model(image, Dense(10, {.activation = "softmax"})(x), {.name = "fashion_resnet"});
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "--config") {
    std::printf("%s\n", model_to_config(make_network()).c_str());
    return 0;
  }
  if (!std::filesystem::exists(std::string(kFashionMnistDirectory) + "/train-images-idx3-ubyte.gz")) {
    std::puts("Fashion-MNIST is not installed (Debian package dataset-fashion-mnist); skipped.");
    return 77;  // CTest's "skipped"
  }
  ImageDataset data = load_fashion_mnist();
  scale_pixels(data.x_train.view());
  scale_pixels(data.x_test.view());

  random::set_seed(42);
  Model model = make_network();
  model.compile({.loss = "sparse_categorical_crossentropy", .optimizer = Adam{.learning_rate = 2e-3f},
                 .metrics = {"accuracy"}});
  model.summary();
  model.fit(data.x_train, data.y_train,
            {.epochs = 5, .batch_size = 64, .verbose = 2,
             .callbacks = {LearningRateScheduler(cosine_decay(2e-3, 5))}});

  const Logs test = model.evaluate(data.x_test, data.y_test);
  std::printf("test loss: %.4f\ntest accuracy: %.4f\n", test.at("loss"), test.at("accuracy"));
}
