// Concurrent prediction: 8 threads × 1,000 predictions through Predictors of one model give
// exactly the serial results, for a dense and a convolutional model.
#include "citadel/model/predictor.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"
#include "citadel/layers/batch_normalization.hpp"
#include "citadel/layers/conv2d.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/layers/dropout.hpp"
#include "citadel/layers/flatten.hpp"
#include "citadel/layers/pooling2d.hpp"

namespace predictor_test {

using namespace citadel;

namespace {

void expect_concurrent_equals_serial(Sequential& model, const Shape& input) {
  constexpr int kThreads = 8, kPredictions = 1000;
  std::vector<Tensor> inputs, expected;
  for (int i = 0; i < 16; ++i) {
    inputs.push_back(random::uniform(input.with_batch(1 + i % 5)));
    expected.push_back(model.predict(inputs.back()));
  }
  std::vector<int> mismatches(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      Predictor predictor(model);
      for (int p = 0; p < kPredictions; ++p) {
        const size_t which = size_t(t * 7 + p) % inputs.size();
        const Tensor output = predictor.predict(inputs[which]);
        for (int64_t i = 0; i < output.numel(); ++i) mismatches[t] += output[i] != expected[which][i];
      }
    });
  for (auto& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(mismatches[t], 0) << "thread " << t;
}

}  // namespace

TEST(Predictor, ConcurrentPredictionsEqualSerialOnes) {
  random::set_seed(12);
  Sequential dense;
  dense.add(Dense(32, {.input_dim = 20, .activation = "relu"}));
  dense.add(Dropout(0.5f));
  dense.add(Dense(3, {.activation = "softmax"}));
  dense.build(Shape{20});
  expect_concurrent_equals_serial(dense, Shape{20});

  Sequential conv;
  conv.add(Conv2D(4, 3, {.input_shape = {8, 8, 1}, .activation = "relu"}));
  conv.add(BatchNormalization());
  conv.add(MaxPooling2D({2, 2}));
  conv.add(Flatten());
  conv.add(Dense(2, {.activation = "softmax"}));
  conv.build(Shape{8, 8, 1});
  expect_concurrent_equals_serial(conv, Shape{8, 8, 1});
}

TEST(Predictor, NeedsABuiltModelAndTheRightShape) {
  Sequential unbuilt;
  unbuilt.add(Dense(2));
  EXPECT_THROW(Predictor{unbuilt}, ValueError);
  Sequential model;
  model.add(Dense(2, {.input_dim = 3}));
  model.build(Shape{3});
  Predictor predictor(model);
  EXPECT_THROW(predictor.predict(Tensor(Shape{2, 4})), ShapeError);
  EXPECT_EQ(predictor.predict(Tensor(Shape{5, 3})).shape(), (Shape{5, 2}));
}

}  // namespace predictor_test
