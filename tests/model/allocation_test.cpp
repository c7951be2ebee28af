// A training step allocates nothing once the first step has run: every call of the
// global operator new in this program is counted, and steps after warm-up must add none.
// oneDNN's convolution primitives build a small map of their arguments inside each call
// and free it before returning, which citadel cannot avoid: calls made from libdnnl's own
// code are counted apart, and must all be released within the steps.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>

#include "citadel/layers/activation.hpp"
#include "citadel/layers/batch_normalization.hpp"
#include "citadel/layers/conv1d.hpp"
#include "citadel/layers/conv2d.hpp"
#include "citadel/layers/bidirectional.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/layers/global_pooling1d.hpp"
#include "citadel/layers/global_pooling2d.hpp"
#include "citadel/layers/layer_normalization.hpp"
#include "citadel/layers/masking.hpp"
#include "citadel/layers/merge.hpp"
#include "citadel/layers/pooling2d.hpp"
#include "citadel/layers/recurrent.hpp"
#include "citadel/model/sequential.hpp"

namespace {
std::atomic<long> allocations{0};                                   // everyone's but oneDNN's
std::atomic<long> onednn_allocations{0}, onednn_releases{0};  // made by libdnnl's own code

// Whether the code at `caller` lies in oneDNN's library (dladdr allocates nothing).
bool in_onednn(const void* caller) {
  Dl_info info;
  return dladdr(caller, &info) != 0 && info.dli_fname != nullptr && std::strstr(info.dli_fname, "libdnnl") != nullptr;
}

void* allocate(std::size_t size, const void* caller) {
  (in_onednn(caller) ? onednn_allocations : allocations).fetch_add(1, std::memory_order_relaxed);
  if (void* pointer = std::malloc(size == 0 ? 1 : size)) return pointer;
  throw std::bad_alloc();
}

void release(void* pointer, const void* caller) {
  if (pointer != nullptr && in_onednn(caller)) onednn_releases.fetch_add(1, std::memory_order_relaxed);
  std::free(pointer);
}
}  // namespace

// GCC cannot see that these replacements pair malloc with free consistently.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

void* operator new(std::size_t size) { return allocate(size, __builtin_return_address(0)); }
void* operator new[](std::size_t size) { return allocate(size, __builtin_return_address(0)); }
void operator delete(void* pointer) noexcept { release(pointer, __builtin_return_address(0)); }
void operator delete[](void* pointer) noexcept { release(pointer, __builtin_return_address(0)); }
void operator delete(void* pointer, std::size_t) noexcept { release(pointer, __builtin_return_address(0)); }
void operator delete[](void* pointer, std::size_t) noexcept { release(pointer, __builtin_return_address(0)); }

using namespace citadel;

TEST(Allocation, TrainingStepsAfterTheFirstAllocateNothing) {
  for (const char* optimizer : {"adam", "sgd", "rmsprop"}) {
    Sequential model;
    model.add(Dense(10, {.input_dim = 8, .activation = "relu"}));
    model.add(Dense(10, {.activation = "relu"}));
    model.add(Dense(3, {.activation = "softmax"}));
    model.compile({.loss = "sparse_categorical_crossentropy", .optimizer = optimizer});
    Tensor x = random::uniform({32, 8});
    Tensor y = random::randint(0, 3, {32});
    Tensor x_small = random::uniform({5, 8});  // a smaller last batch reuses the buffers
    Tensor y_small = random::randint(0, 3, {5});
    model.train_on_batch(x, y);  // sizes every buffer and the optimizer state
    const long before = allocations.load();
    for (int step = 0; step < 20; ++step) {
      model.train_on_batch(x, y);
      model.train_on_batch(x_small, y_small);
    }
    EXPECT_EQ(allocations.load() - before, 0) << optimizer;
  }
}

TEST(Allocation, ConvolutionalTrainingStepsAllocateNothing) {
  Sequential model;
  model.add(Conv2D(4, 3, {.input_shape = {8, 8, 1}, .padding = "same", .activation = "relu"}));
  model.add(MaxPooling2D());
  model.add(BatchNormalization());
  model.add(Conv2D(6, 3, {.activation = "relu"}));
  model.add(GlobalAveragePooling2D());
  model.add(Dense(3, {.activation = "softmax"}));
  model.compile({.loss = "sparse_categorical_crossentropy", .optimizer = "adam"});
  Tensor x = random::uniform({16, 8, 8, 1});
  Tensor y = random::randint(0, 3, {16});
  model.train_on_batch(x, y);
  const long before = allocations.load();
  const long onednn_before = onednn_allocations.load(), released_before = onednn_releases.load();
  for (int step = 0; step < 10; ++step) model.train_on_batch(x, y);
  EXPECT_EQ(allocations.load() - before, 0);
  // What oneDNN's calls took they gave back: nothing is kept or grows from step to step.
  EXPECT_EQ(onednn_allocations.load() - onednn_before, onednn_releases.load() - released_before);
}

// The residual block of W7 (bench/workload_models.hpp) in small: convolutions without
// bias before BatchNormalization, a 1x1 strided projection, an Add, and a smaller last
// batch; every convolution runs on the direct path, and its steps allocate nothing.
TEST(Allocation, ResidualConvolutionalStepsAllocateNothing) {
  const SymbolicTensor x = Input({12, 12, 3});
  const SymbolicTensor h = BatchNormalization()(Conv2D(8, 3, {.padding = "same", .use_bias = false})(x));
  const SymbolicTensor r = Conv2D(8, 3, {.strides = {2, 2}, .padding = "same", .activation = "relu"})(h);
  const SymbolicTensor shortcut = Conv2D(8, 1, {.strides = {2, 2}})(h);
  const SymbolicTensor out = Dense(3, {.activation = "softmax"})(GlobalAveragePooling2D()(Add()({r, shortcut})));
  Model model({x}, {out});
  model.compile({.loss = "sparse_categorical_crossentropy", .optimizer = "adam"});
  const Tensor images = random::uniform({16, 12, 12, 3}), labels = random::randint(0, 3, {16});
  const Tensor few_images = random::uniform({5, 12, 12, 3}), few_labels = random::randint(0, 3, {5});
  model.train_on_batch(images, labels);
  model.train_on_batch(few_images, few_labels);
  const long before = allocations.load();
  const long onednn_before = onednn_allocations.load(), released_before = onednn_releases.load();
  for (int step = 0; step < 5; ++step) {
    model.train_on_batch(images, labels);
    model.train_on_batch(few_images, few_labels);
  }
  EXPECT_EQ(allocations.load() - before, 0);
  EXPECT_EQ(onednn_allocations.load() - onednn_before, onednn_releases.load() - released_before);
}

// Masks flow beside the tensors (Masking, passed through LayerNormalization, combined by
// Add, read by the pooling): their buffers are sized once, as the values' are.
TEST(Allocation, MaskedSequenceTrainingStepsAllocateNothing) {
  const SymbolicTensor x = Input({6, 3});
  const SymbolicTensor masked = Masking(0.0f)(x);
  const SymbolicTensor a = LayerNormalization()(masked);
  const SymbolicTensor b = Activation("tanh")(masked);
  const SymbolicTensor pooled = GlobalAveragePooling1D()(Add()({a, b}));
  const SymbolicTensor unmasked = GlobalAveragePooling1D()(Conv1D(4, 2, {.padding = "causal"})(x));
  Model model({x}, {Dense(3, {.activation = "softmax"})(Concatenate()({pooled, unmasked}))});
  model.compile({.loss = "sparse_categorical_crossentropy", .optimizer = "adam"});
  Tensor inputs = random::uniform({16, 6, 3});
  for (int64_t n = 0; n < 16; ++n)  // pad the last n % 4 steps of each row
    for (int64_t t = 6 - n % 4; t < 6; ++t)
      for (int64_t c = 0; c < 3; ++c) inputs[(n * 6 + t) * 3 + c] = 0.0f;
  Tensor y = random::randint(0, 3, {16});
  model.train_on_batch(inputs, y);
  const long before = allocations.load();
  for (int step = 0; step < 10; ++step) model.train_on_batch(inputs, y);
  EXPECT_EQ(allocations.load() - before, 0);
}

// Recurrent layers size their workspaces on the first step of a batch size: no step after
// that allocates, per time step or otherwise, a smaller last batch and dropout masks included.
TEST(Allocation, RecurrentTrainingStepsAllocateNothing) {
  Sequential model;
  model.add(Masking(MaskingOptions{.input_shape = {7, 3}}));
  model.add(LSTM(5, {.dropout = 0.2f, .recurrent_dropout = 0.3f, .return_sequences = true}));
  model.add(GRU(4, {.recurrent_dropout = 0.3f, .return_sequences = true, .go_backwards = true, .reset_after = false}));
  model.add(GRU(4, {.return_sequences = true}));
  model.add(SimpleRNN(3, {.dropout = 0.1f}));
  model.add(Dense(2, {.activation = "softmax"}));
  model.compile({.loss = "sparse_categorical_crossentropy", .optimizer = "adam"});
  Tensor inputs = random::uniform({16, 7, 3}, 0.5f, 1.0f);
  for (int64_t n = 0; n < 16; ++n)
    for (int64_t t = 7 - n % 4; t < 7; ++t)
      for (int64_t c = 0; c < 3; ++c) inputs[(n * 7 + t) * 3 + c] = 0.0f;
  Tensor y = random::randint(0, 2, {16});
  const Tensor small_x = Tensor::from(inputs.rows(0, 5)), small_y = Tensor::from(y.rows(0, 5));
  model.train_on_batch(inputs, y);
  model.train_on_batch(small_x, small_y);
  const long before = allocations.load();
  for (int i = 0; i < 5; ++i) {
    model.train_on_batch(inputs, y);
    model.train_on_batch(small_x, small_y);
  }
  EXPECT_EQ(allocations.load() - before, 0);
}

TEST(Allocation, BidirectionalTrainingStepsAllocateNothing) {
  Sequential model;
  model.add(Masking(MaskingOptions{.input_shape = {6, 3}}));
  model.add(Bidirectional(LSTM(4, {.dropout = 0.2f, .return_sequences = true})));
  model.add(Bidirectional(GRU(3, {.recurrent_dropout = 0.3f}), {.merge_mode = "mul"}));
  model.add(Dense(2, {.activation = "softmax"}));
  model.compile({.loss = "sparse_categorical_crossentropy", .optimizer = "adam"});
  Tensor inputs = random::uniform({12, 6, 3}, 0.5f, 1.0f);
  for (int64_t n = 0; n < 12; ++n)
    for (int64_t t = 6 - n % 4; t < 6; ++t)
      for (int64_t c = 0; c < 3; ++c) inputs[(n * 6 + t) * 3 + c] = 0.0f;
  Tensor y = random::randint(0, 2, {12});
  const Tensor small_x = Tensor::from(inputs.rows(0, 5)), small_y = Tensor::from(y.rows(0, 5));
  model.train_on_batch(inputs, y);
  model.train_on_batch(small_x, small_y);
  const long before = allocations.load();
  for (int i = 0; i < 3; ++i) {
    model.train_on_batch(inputs, y);
    model.train_on_batch(small_x, small_y);
  }
  EXPECT_EQ(allocations.load() - before, 0);
}

TEST(Allocation, CounterSeesAllocations) {
  const long before = allocations.load();
  void* probe = ::operator new(16);  // a call, which unlike a new-expression is never elided
  ::operator delete(probe);
  EXPECT_GT(allocations.load(), before);
}

// A graph with a fan-out, a shared layer and merges: its steps allocate nothing either
// (gradients summed into slots, merges' inputs gathered into buffers sized once).
TEST(Allocation, GraphTrainingStepsWithAFanOutAndAMergeAllocateNothing) {
  const SymbolicTensor a = Input({6}), b = Input({6});
  const Dense shared(8, {.activation = "tanh"});
  const SymbolicTensor ha = shared(a), hb = shared(b);  // one layer, two calls
  const SymbolicTensor merged = Concatenate()({Add()({ha, hb}), Multiply()({ha, ha})});
  const SymbolicTensor out1 = Dense(3, {.activation = "softmax"}).named("classes")(merged);
  const SymbolicTensor out2 = Dense(1).named("amount")(Dense(4, {.activation = "relu"})(ha));
  Model model({a, b}, {out1, out2});
  model.compile({.loss = "mse",
                 .optimizer = "adam",
                 .losses = {{"classes", LossSpec("sparse_categorical_crossentropy")}},
                 .loss_weights = {{"amount", 0.5}}});
  const Tensor xa = random::uniform({32, 6}), xb = random::uniform({32, 6});
  const Tensor classes = random::randint(0, 3, {32}), amounts = random::uniform({32, 1});
  const std::vector<ConstTensorView> x{xa, xb}, y{classes, amounts};
  model.train_on_batch(x, y);
  const long before = allocations.load();
  for (int step = 0; step < 10; ++step) model.train_on_batch(x, y);
  EXPECT_EQ(allocations.load() - before, 0);
}

TEST(Allocation, StepsWithFrozenLayersAllocateNothing) {
  // Frozen after build: the compile lays the store out again (once); the steps then allocate nothing.
  Sequential model;
  model.add(Dense(10, {.input_dim = 8, .activation = "relu"}));
  model.add(BatchNormalization());
  model.add(Dense(10, {.activation = "relu"}));
  model.add(Dense(3, {.activation = "softmax"}));
  model.compile({.loss = "sparse_categorical_crossentropy", .optimizer = "adam"});
  model.layer(0).set_trainable(false);
  model.layer(1).set_trainable(false);
  model.compile({.loss = "sparse_categorical_crossentropy", .optimizer = "adam"});
  ASSERT_EQ(model.parameters().trainable_size(), 10 * 10 + 10 + 10 * 3 + 3);
  const Tensor x = random::uniform({32, 8});
  const Tensor y = random::randint(0, 3, {32});
  model.train_on_batch(x, y);
  const long before = allocations.load();
  for (int step = 0; step < 10; ++step) model.train_on_batch(x, y);
  EXPECT_EQ(allocations.load() - before, 0);
}

// An encoder's states into a decoder (return_state's packed outputs and their OutputPart
// views, initial states) and a Bidirectional encoder's four states into another: no step
// after the first of each batch size allocates.
TEST(Allocation, EncoderDecoderStepsWithStatesAllocateNothing) {
  const SymbolicTensor source = Input({5, 3}), start = Input({4, 2});
  const auto encoded = LSTM(4, {.return_state = true}).call({source});
  const SymbolicTensor decoded = LSTM(4).call({start, encoded[1], encoded[2]})[0];
  const auto both = Bidirectional(GRU(3, {.return_sequences = true, .return_state = true})).call({source});
  const SymbolicTensor again = Bidirectional(GRU(3), {.merge_mode = "sum"}).call({start, both[1], both[2]})[0];
  Model model({source, start}, {Dense(2, {.activation = "softmax"})(Concatenate()({decoded, again}))});
  model.compile({.loss = "sparse_categorical_crossentropy", .optimizer = "adam"});
  const Tensor x = random::uniform({12, 5, 3}, -1.0f, 1.0f), s = random::uniform({12, 4, 2}, -1.0f, 1.0f);
  const Tensor y = random::randint(0, 2, {12});
  const Tensor small_x = Tensor::from(x.rows(0, 5)), small_s = Tensor::from(s.rows(0, 5)),
               small_y = Tensor::from(y.rows(0, 5));
  const std::vector<ConstTensorView> inputs{x, s}, small_inputs{small_x, small_s}, targets{y}, small_targets{small_y};
  model.train_on_batch(inputs, targets);
  model.train_on_batch(small_inputs, small_targets);
  const long before = allocations.load();
  for (int i = 0; i < 5; ++i) {
    model.train_on_batch(inputs, targets);
    model.train_on_batch(small_inputs, small_targets);
  }
  EXPECT_EQ(allocations.load() - before, 0);
}
