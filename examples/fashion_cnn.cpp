// The W3 network of the benchmarks on Fashion-MNIST: 28×28×1 → Conv2D(32, 3×3, relu) →
// MaxPooling2D(2) → Conv2D(64, 3×3, relu) → MaxPooling2D(2) → Flatten → Dense(128, relu)
// → Dense(10, softmax); Adam with a cosine-decayed learning rate, batch 64, five epochs over all 60,000 training images;
// the official test split gives the result.
// CLI equivalent: citadel train --data fashion-mnist --model-config examples/w3_cnn.json --batch-size 64 --lr-schedule cosine
#include <citadel/citadel.hpp>
#include <cstdio>
#include <filesystem>

using namespace citadel;

int main() {
  if (!std::filesystem::exists(std::string(kFashionMnistDirectory) + "/train-images-idx3-ubyte.gz")) {
    std::puts("Fashion-MNIST is not installed (Debian package dataset-fashion-mnist); skipped.");
    return 77;  // CTest's "skipped"
  }
  ImageDataset data = load_fashion_mnist();
  scale_pixels(data.x_train.view());
  scale_pixels(data.x_test.view());

  random::set_seed(42);
  Sequential model;
  model.add(Conv2D(32, {3, 3}, {.input_shape = {28, 28, 1}, .activation = "relu"}));
  model.add(MaxPooling2D({2, 2}));
  model.add(Conv2D(64, {3, 3}, {.activation = "relu"}));
  model.add(MaxPooling2D({2, 2}));
  model.add(Flatten());
  model.add(Dense(128, {.activation = "relu"}));
  model.add(Dense(10, {.activation = "softmax"}));
  model.compile({.loss = "sparse_categorical_crossentropy", .optimizer = Adam{.learning_rate = 1e-3f},
                 .metrics = {"accuracy"}});
  model.summary();
  // The learning rate decays from 1e-3 along a cosine over the five epochs.
  model.fit(data.x_train, data.y_train,
            {.epochs = 5, .batch_size = 64, .verbose = 2,
             .callbacks = {LearningRateScheduler(cosine_decay(1e-3, 5))}});

  const Logs test = model.evaluate(data.x_test, data.y_test);
  std::printf("test loss: %.4f\ntest accuracy: %.4f\n", test.at("loss"), test.at("accuracy"));
  const ClassificationReport report = classification_report(model.predict(data.x_test), data.y_test, data.classes);
  std::printf("\n%s", report.text().c_str());
}
