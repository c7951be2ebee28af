// The trigger-set watermark study for docs/SECURITY.md ("Trigger-set watermarks in model files"),
// issue 34's goal: a Fashion-MNIST MLP (784-128-10, pixels / 255) trained with a 100-row trigger
// set (k rows added to each batch's gradient), then fine-tuned for 5 epochs on a random 10 % of
// the training rows without the set, as a remover holding some data would; the trigger accuracy
// before and after, and the clean test accuracy against a model trained alike without the set.
//
//   trigger_set_study [epochs = 10] [rows per batch = 16] [fine-tune epochs = 5] [fine-tune lr = 0.001]
//                     [seed = 1]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <vector>

#include "citadel/core/random.hpp"
#include "citadel/data/idx.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/model/sequential.hpp"
#include "citadel/optim/optimizer.hpp"
#include "citadel/provenance/served_watermark.hpp"
#include "citadel/provenance/trigger_set_watermark.hpp"

using namespace citadel;

namespace {

Tensor flat_pixels(const Tensor& images) {
  Tensor x(Shape{images.shape(0), 784});
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = images[i] / 255.0f;
  return x;
}

Tensor take_rows(const Tensor& x, const std::vector<int64_t>& rows) {
  const int64_t width = x.numel() / x.shape(0);
  Tensor out(x.shape().without_batch().with_batch(int64_t(rows.size())));
  for (size_t i = 0; i < rows.size(); ++i)
    std::copy(x.data() + rows[i] * width, x.data() + (rows[i] + 1) * width, out.data() + int64_t(i) * width);
  return out;
}

Sequential mlp(uint64_t seed, float learning_rate) {
  random::set_seed(seed);
  Sequential model;
  model.add(Dense(128, {.input_dim = 784, .activation = "relu"}));
  model.add(Dense(10, {.activation = "softmax"}));
  model.compile({.loss = "sparse_categorical_crossentropy", .optimizer = Adam{.learning_rate = learning_rate}});
  return model;
}

double accuracy(Model& model, const Tensor& x, const Tensor& y) {
  const Tensor p = model.predict(x, {.batch_size = 256});
  int64_t right = 0;
  for (int64_t r = 0; r < x.shape(0); ++r)
    right += std::max_element(p.data() + r * 10, p.data() + (r + 1) * 10) - (p.data() + r * 10) == int64_t(y[r]);
  return double(right) / double(x.shape(0));
}

}  // namespace

int main(int argc, char** argv) {
  const int epochs = argc > 1 ? std::atoi(argv[1]) : 10;
  const int64_t per_batch = argc > 2 ? std::atoll(argv[2]) : 16;
  const int tune_epochs = argc > 3 ? std::atoi(argv[3]) : 5;
  const float tune_lr = argc > 4 ? float(std::atof(argv[4])) : 0.001f;
  const uint64_t seed = argc > 5 ? std::strtoull(argv[5], nullptr, 10) : 1;
  using clock = std::chrono::steady_clock;
  const auto seconds = [](clock::time_point from) { return std::chrono::duration<double>(clock::now() - from).count(); };

  const ImageDataset data = load_fashion_mnist();
  const Tensor train_x = flat_pixels(data.x_train), train_y = data.y_train;
  const Tensor test_x = flat_pixels(data.x_test), test_y = data.y_test;
  std::array<unsigned char, 32> key_bytes{};
  for (size_t i = 0; i < key_bytes.size(); ++i) key_bytes[i] = static_cast<unsigned char>(seed * 131 + i * 7);
  const WatermarkKey key(key_bytes);
  const TriggerSet set = make_trigger_set(key, Shape{784}, 10, {.size = 100, .low = 0.0f, .high = 1.0f});

  Sequential marked = mlp(seed, 0.001f);
  auto start = clock::now();
  marked.fit(train_x, train_y, {.epochs = epochs, .batch_size = 64, .verbose = 0, .seed = seed,
                                .gradient_step = trigger_set_training(set, per_batch)});
  const double marked_seconds = seconds(start);
  Sequential plain = mlp(seed, 0.001f);
  start = clock::now();
  plain.fit(train_x, train_y, {.epochs = epochs, .batch_size = 64, .verbose = 0, .seed = seed});
  const double plain_seconds = seconds(start);

  const TriggerSetVerdict before = verify_trigger_set(marked, set);
  const double marked_clean = accuracy(marked, test_x, test_y), plain_clean = accuracy(plain, test_x, test_y);
  const TriggerSetVerdict plain_verdict = verify_trigger_set(plain, set);

  // The remover: 10 % of the training rows, chosen at random, 5 epochs, a fresh optimizer.
  std::vector<int64_t> rows(size_t(train_x.shape(0)));
  std::iota(rows.begin(), rows.end(), 0);
  Rng rng(seed + 1000);
  for (int64_t i = int64_t(rows.size()) - 1; i > 0; --i) std::swap(rows[size_t(i)], rows[rng.below(uint64_t(i + 1))]);
  rows.resize(rows.size() / 10);
  const Tensor tune_x = take_rows(train_x, rows), tune_y = take_rows(train_y, rows);
  marked.compile({.loss = "sparse_categorical_crossentropy", .optimizer = Adam{.learning_rate = tune_lr}});
  marked.fit(tune_x, tune_y, {.epochs = tune_epochs, .batch_size = 64, .verbose = 0, .seed = seed + 1});
  const TriggerSetVerdict after = verify_trigger_set(marked, set);
  const double tuned_clean = accuracy(marked, test_x, test_y);

  std::printf("trigger_set_study: Fashion-MNIST MLP 784-128-10, %d epochs, batch 64, Adam 0.001, 100 trigger rows, "
              "%lld per batch, seed %llu\n",
              epochs, static_cast<long long>(per_batch), static_cast<unsigned long long>(seed));
  std::printf("watermarked: trigger accuracy %.3f (p %.3g), clean test accuracy %.4f (train %.1f s)\n",
              before.accuracy, before.p_value, marked_clean, marked_seconds);
  std::printf("without the set: trigger accuracy %.3f (p %.3g), clean test accuracy %.4f (train %.1f s); cost %.4f\n",
              plain_verdict.accuracy, plain_verdict.p_value, plain_clean, plain_seconds, plain_clean - marked_clean);
  std::printf("after %d epochs of fine-tuning on %zu rows (10 %%, Adam %g): trigger accuracy %.3f (p %.3g, %s), "
              "clean test accuracy %.4f\n",
              tune_epochs, rows.size(), double(tune_lr), after.accuracy, after.p_value,
              after.claimed ? "claimed" : "not claimed", tuned_clean);
  return 0;
}
