// DP-SGD: per-example gradient norms from the layers' caches against per-example backward
// passes, the clipped and noised step against a brute-force computation, the accountant
// in the History, and the options' errors.
#include "citadel/privacy/private_fit.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>

#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"
#include "citadel/io/checkpoint.hpp"
#include "citadel/layers/activation.hpp"
#include "citadel/layers/batch_normalization.hpp"
#include "citadel/layers/conv1d.hpp"
#include "citadel/layers/conv2d.hpp"
#include "citadel/layers/bidirectional.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/layers/dropout.hpp"
#include "citadel/layers/embedding.hpp"
#include "citadel/layers/flatten.hpp"
#include "citadel/layers/global_pooling1d.hpp"
#include "citadel/layers/layer_normalization.hpp"
#include "citadel/layers/merge.hpp"
#include "citadel/layers/recurrent.hpp"
#include "citadel/layers/reshape.hpp"
#include "citadel/layers/symbolic_tensor.hpp"
#include "citadel/layers/time_distributed.hpp"
#include "citadel/privacy/accountant.hpp"
#include "private_step.hpp"

namespace private_training_test {

using namespace citadel;

namespace {

Sequential conv_model(uint64_t seed) {
  random::set_seed(seed);
  Sequential model;
  model.add(Conv2D(2, 3, {.input_shape = {5, 5, 1}, .activation = "relu"}));
  model.add(Flatten());
  model.add(Dense(4, {.activation = "tanh"}));
  model.add(Dense(3, {.activation = "softmax"}));
  model.compile({.loss = "sparse_categorical_crossentropy", .optimizer = SGD{.learning_rate = 0.1f}});
  return model;
}

struct Batch {
  Tensor x, y;
};
Batch batch(int64_t rows) {
  random::set_seed(9);
  Batch b{random::uniform(Shape{rows, 5, 5, 1}, 0.0f, 1.0f), Tensor(Shape{rows})};
  for (int64_t r = 0; r < rows; ++r) b.y[r] = static_cast<float>(r % 3);
  return b;
}

std::vector<float> gradient_of(Sequential& model, ConstTensorView x, ConstTensorView y) {
  model.compute_gradients(x, y);
  const auto g = model.parameters().trainable_grads();
  return {g.begin(), g.end()};
}

// The DP-SGD update computed the slow way: one backward pass per example.
std::vector<float> brute_force_private_update(Sequential& model, const Batch& b, float clip) {
  const auto& params = model.parameters();
  std::vector<double> sum(static_cast<size_t>(params.trainable_size()), 0.0);
  for (int64_t r = 0; r < b.x.shape(0); ++r) {
    const std::vector<float> g = gradient_of(model, b.x.rows(r, r + 1), b.y.rows(r, r + 1));
    double squared = 0;
    for (float v : g) squared += double(v) * v;
    const double factor = std::min(1.0, clip / std::sqrt(squared));
    for (size_t i = 0; i < g.size(); ++i) sum[i] += factor * g[i];
  }
  std::vector<float> update(sum.size());
  for (size_t i = 0; i < sum.size(); ++i) update[i] = static_cast<float>(sum[i] / double(b.x.shape(0)));
  return update;
}

// Dense and Conv2D without a fused activation keep no output gradient of their own: the
// norms must be taken before a lower layer's backward reuses the buffer they read.
Sequential separate_activations_model(uint64_t seed) {
  random::set_seed(seed);
  Sequential model;
  model.add(Conv2D(2, 3, {.input_shape = {5, 5, 1}}));
  model.add(Activation("relu"));
  model.add(Flatten());
  model.add(Dense(16));
  model.add(Activation("tanh"));
  model.add(Dense(4));
  model.add(Activation("relu"));
  model.add(Dense(3, {.activation = "softmax"}));
  model.compile({.loss = "sparse_categorical_crossentropy", .optimizer = SGD{.learning_rate = 0.1f}});
  return model;
}

// The sequence layers with parameters: each 5x5 image read as 5 steps of 5 features.
Sequential sequence_model(uint64_t seed) {
  random::set_seed(seed);
  Sequential model;
  model.add(Reshape({5, 5}, {.input_shape = {5, 5, 1}}));
  model.add(Conv1D(3, 2, {.padding = "causal", .activation = "tanh"}));
  model.add(LayerNormalization(LayerNormalizationOptions{.beta_initializer = "glorot_uniform",
                                                         .gamma_initializer = "glorot_uniform"}));
  model.add(Conv1D(2, 3, {.strides = 2}));
  model.add(Flatten());
  model.add(Dense(3, {.activation = "softmax"}));
  model.compile({.loss = "sparse_categorical_crossentropy", .optimizer = SGD{.learning_rate = 0.1f}});
  return model;
}

// The recurrent layers: their per-example gradients sum over the time steps.
Sequential recurrent_model(uint64_t seed) {
  random::set_seed(seed);
  Sequential model;
  model.add(Reshape({5, 5}, {.input_shape = {5, 5, 1}}));
  model.add(LSTM(3, {.return_sequences = true}));
  model.add(GRU(3, {.return_sequences = true, .go_backwards = true, .reset_after = false}));
  model.add(SimpleRNN(2, {.return_sequences = true}));
  model.add(GRU(3));
  model.add(Dense(3, {.activation = "softmax"}));
  model.compile({.loss = "sparse_categorical_crossentropy", .optimizer = SGD{.learning_rate = 0.1f}});
  return model;
}

// Bidirectional: each example's norm over both copies' weights.
Sequential bidirectional_model(uint64_t seed) {
  random::set_seed(seed);
  Sequential model;
  model.add(Reshape({5, 5}, {.input_shape = {5, 5, 1}}));
  model.add(Bidirectional(LSTM(3, {.return_sequences = true})));
  model.add(Bidirectional(GRU(2), {.merge_mode = "mul"}));
  model.add(Dense(3, {.activation = "softmax"}));
  model.compile({.loss = "sparse_categorical_crossentropy", .optimizer = SGD{.learning_rate = 0.1f}});
  return model;
}

// TimeDistributed: each example's gradient is its steps' gradients summed, then its norm.
Sequential time_distributed_model(uint64_t seed) {
  random::set_seed(seed);
  Sequential model;
  model.add(Reshape({5, 5}, {.input_shape = {5, 5, 1}}));
  model.add(TimeDistributed(Dense(4, {.activation = "tanh"})));
  model.add(Flatten());
  model.add(Dense(3, {.activation = "softmax"}));
  model.compile({.loss = "sparse_categorical_crossentropy", .optimizer = SGD{.learning_rate = 0.1f}});
  return model;
}

void expect_private_update_matches_brute_force(const std::function<Sequential(uint64_t)>& make, const char* what) {
  const Batch b = batch(6);
  for (float clip : {0.05f, 1e6f}) {  // every example clipped; none clipped
    Sequential reference = make(3);
    reference.build(Shape{5, 5, 1});
    const std::vector<float> before(reference.parameters().values().begin(), reference.parameters().values().end());
    const std::vector<float> update = brute_force_private_update(reference, b, clip);

    Sequential model = make(3);
    // One epoch of one full fixed-size batch with no noise: w ← w − lr · update.
    model.fit(b.x, b.y,
              {.epochs = 1, .batch_size = 6, .shuffle = false, .verbose = 0,
               .private_training = PrivateTraining{.l2_norm_clip = clip, .noise_multiplier = 0.0f,
                                                   .poisson_sampling = false}});
    const auto after = model.parameters().values();
    double worst = 0, largest = 0;
    for (size_t i = 0; i < update.size(); ++i) {
      worst = std::max(worst, std::fabs(double(before[i]) - 0.1 * update[i] - after[i]));
      largest = std::max(largest, std::fabs(0.1 * update[i]));
    }
    EXPECT_GT(largest, 1e-5) << what << ", clip " << clip;
    EXPECT_LT(worst, 1e-5 + 1e-3 * largest) << what << ", clip " << clip;
  }
}

// Token ids: 6 examples of 8 ids in [0, 10), each example with repeated ids (the same row of
// the table hit twice, whose gradients add before the norm) and zeros (mask_zero padding).
std::vector<Tensor> id_batch(int inputs) {
  std::vector<Tensor> xs;
  for (int k = 0; k < inputs; ++k) {
    Tensor x(Shape{6, 8});
    for (int64_t r = 0; r < 6; ++r)
      for (int64_t t = 0; t < 8; ++t) x.at(r, t) = float((r * 3 + t * (k + 2) + (t % 3 == 0 ? 5 : 0)) % 10);
    for (int64_t r = 0; r < 6; ++r) x.at(r, 1) = x.at(r, 6);  // a repeat in every example
    xs.push_back(std::move(x));
  }
  return xs;
}

// Embedding (masked) → GlobalAveragePooling1D → Dense; `shared`: one Embedding called on two
// inputs, whose per-example gradient is the sum over both calls (the gradient sink).
Model embedding_model(uint64_t seed, bool shared) {
  random::set_seed(seed);
  const Embedding embedding(10, 4, EmbeddingOptions{.mask_zero = !shared, .embeddings_initializer = "glorot_uniform"});
  std::vector<SymbolicTensor> inputs{Input({8}, {.name = "ids", .dtype = "int32"})};
  SymbolicTensor h = embedding(inputs[0]);
  if (shared) {
    inputs.push_back(Input({8}, {.name = "more_ids", .dtype = "int64"}));
    h = Add()({h, embedding(inputs[1])});
  }
  h = GlobalAveragePooling1D()(h);
  Model model(inputs, {Dense(3, {.activation = "softmax"})(h)});
  model.compile({.loss = "sparse_categorical_crossentropy", .optimizer = SGD{.learning_rate = 0.1f}});
  return model;
}

void expect_embedding_update_matches_brute_force(bool shared) {
  const std::vector<Tensor> xs = id_batch(shared ? 2 : 1);
  Tensor y(Shape{6});
  for (int64_t r = 0; r < 6; ++r) y[r] = float(r % 3);
  for (float clip : {0.01f, 1e6f}) {  // every example clipped; none clipped
    Model reference = embedding_model(3, shared);
    const std::vector<float> before(reference.parameters().values().begin(), reference.parameters().values().end());
    std::vector<double> sum(before.size(), 0.0);
    for (int64_t r = 0; r < 6; ++r) {  // one backward pass per example
      std::vector<ConstTensorView> row;
      for (const Tensor& x : xs) row.push_back(x.rows(r, r + 1));
      reference.compute_gradients(row, {y.rows(r, r + 1)});
      const auto g = reference.parameters().trainable_grads();
      double squared = 0;
      for (float v : g) squared += double(v) * v;
      const double factor = std::min(1.0, clip / std::sqrt(squared));
      for (size_t i = 0; i < g.size(); ++i) sum[i] += factor * g[i];
    }
    Model model = embedding_model(3, shared);
    std::vector<ConstTensorView> all(xs.begin(), xs.end());
    model.fit(all, {y},
              {.epochs = 1, .batch_size = 6, .shuffle = false, .verbose = 0,
               .private_training = PrivateTraining{.l2_norm_clip = clip, .noise_multiplier = 0.0f,
                                                   .poisson_sampling = false}});
    const auto after = model.parameters().values();
    double worst = 0, largest = 0;
    for (size_t i = 0; i < sum.size(); ++i) {
      const double step = 0.1 * sum[i] / 6.0;
      worst = std::max(worst, std::fabs(double(before[i]) - step - after[i]));
      largest = std::max(largest, std::fabs(step));
    }
    EXPECT_GT(largest, 1e-5) << "shared " << shared << ", clip " << clip;
    EXPECT_LT(worst, 1e-6 + 1e-3 * largest) << "shared " << shared << ", clip " << clip;
  }
}

}  // namespace

// Embedding's per-example gradient is sparse (the rows one example's ids hit, a repeated
// id's positions summed): its clipped sum against one backward pass per example.
TEST(PrivateTraining, EmbeddingClippedSumMatchesPerExampleBackwardPasses) {
  expect_embedding_update_matches_brute_force(false);
  expect_embedding_update_matches_brute_force(true);
}

TEST(PrivateTraining, ClippedSumMatchesPerExampleBackwardPasses) {
  expect_private_update_matches_brute_force(conv_model, "fused activations");
  expect_private_update_matches_brute_force(separate_activations_model, "linear layers and separate activations");
  expect_private_update_matches_brute_force(sequence_model, "Conv1D and LayerNormalization");
  expect_private_update_matches_brute_force(recurrent_model, "LSTM, GRU and SimpleRNN");
  expect_private_update_matches_brute_force(bidirectional_model, "Bidirectional");
  expect_private_update_matches_brute_force(time_distributed_model, "TimeDistributed");
}

// The defect as found: with batch 1, SGD lr 1 and no noise, one example moved the weights
// by 0.0140 when C = 0.01. Every step's update must have norm C (each gradient is larger).
TEST(PrivateTraining, OneExampleMovesTheWeightsByAtMostTheClipNorm) {
  random::set_seed(17);
  const Tensor x = random::uniform(Shape{12, 8}, -1.0f, 1.0f);
  Tensor y(Shape{12, 1});
  for (int64_t r = 0; r < 12; ++r) y[r] = float(r % 2);
  const std::vector<std::pair<const char*, std::function<void(Sequential&)>>> models{
      {"separate activations", [](Sequential& m) {
         m.add(Dense(16, {.input_dim = 8}));
         m.add(Activation("relu"));
         m.add(Dense(4));
         m.add(Activation("relu"));
         m.add(Dense(1, {.activation = "sigmoid"}));
       }},
      {"dropout", [](Sequential& m) {
         m.add(Dense(16, {.input_dim = 8}));
         m.add(Dropout(0.5f));
         m.add(Activation("tanh"));
         m.add(Dense(1, {.activation = "sigmoid"}));
       }}};
  const float clip = 0.01f;
  for (const auto& [what, add_layers] : models) {
    Sequential model;
    add_layers(model);
    model.compile({.loss = "binary_crossentropy", .optimizer = SGD{.learning_rate = 1.0f}});
    for (int64_t r = 0; r < 12; ++r)
      EXPECT_NEAR(testkit::private_step_distance(model, x.rows(r, r + 1), y.rows(r, r + 1), clip), clip, 1e-3 * clip)
          << what << ", row " << r;
  }
}

namespace {

std::vector<float> private_fit_weights(uint64_t seed, float noise, bool reproducible) {
  random::set_seed(seed);
  Sequential model;
  model.add(Dense(6, {.input_dim = 4, .activation = "relu"}));
  model.add(Dense(1, {.activation = "sigmoid"}));
  model.compile({.loss = "binary_crossentropy", .optimizer = SGD{.learning_rate = 0.5f}});
  random::set_seed(2);
  const Tensor x = random::uniform(Shape{64, 4});
  Tensor y(Shape{64, 1});
  for (int64_t r = 0; r < 64; ++r) y[r] = x[r * 4] > 0.5f ? 1.0f : 0.0f;
  model.fit(x, y, {.epochs = 2, .batch_size = 8, .verbose = 0, .seed = seed,
                   .private_training = PrivateTraining{.l2_norm_clip = 1.0f, .noise_multiplier = noise,
                                                       .reproducible = reproducible}});
  const auto values = model.parameters().values();
  return {values.begin(), values.end()};
}

}  // namespace

// Knowing the seed (42 by default, and written into reports) must not give the noise away,
// nor which rows formed each Poisson batch (the subsampling the accountant relies on).
TEST(PrivateTraining, NoiseAndSamplingAreNotDerivedFromTheSeed) {
  EXPECT_NE(private_fit_weights(42, 1.1f, false), private_fit_weights(42, 1.1f, false)) << "noise";
  EXPECT_NE(private_fit_weights(42, 0.0f, false), private_fit_weights(42, 0.0f, false)) << "Poisson sampling";
  // The explicit opt-in for tests and debugging is reproducible.
  EXPECT_EQ(private_fit_weights(42, 1.1f, true), private_fit_weights(42, 1.1f, true));
  EXPECT_NE(private_fit_weights(42, 1.1f, true), private_fit_weights(43, 1.1f, true));
}

namespace {

// One full-batch SGD step per epoch with a vanishing clip: each epoch's update is its noise.
Sequential noise_only_model() {
  random::set_seed(8);
  Sequential model;
  model.add(Dense(32, {.input_dim = 4}));
  model.add(Dense(1, {.activation = "sigmoid"}));
  model.compile({.loss = "binary_crossentropy", .optimizer = SGD{.learning_rate = 1.0f}});
  return model;
}

double correlation(const std::vector<double>& a, const std::vector<double>& b) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < a.size(); ++i) ab += a[i] * b[i], aa += a[i] * a[i], bb += b[i] * b[i];
  return ab / std::sqrt(aa * bb);
}

}  // namespace

TEST(PrivateTraining, ResumedRunsDrawFreshNoise) {
  const std::string path = (std::filesystem::temp_directory_path() / "citadel_dp_resume.ckpt").string();
  random::set_seed(3);
  const Tensor x = random::uniform(Shape{16, 4});
  const Tensor y(Shape{16, 1});
  for (bool reproducible : {false, true}) {
    const FitOptions base{.epochs = 1, .batch_size = 16, .verbose = 0, .seed = 5,
                          .private_training = PrivateTraining{.l2_norm_clip = 1e-6f, .noise_multiplier = 1e5f,
                                                              .poisson_sampling = false,
                                                              .reproducible = reproducible}};
    Sequential first = noise_only_model();
    const std::vector<float> w0(first.parameters().values().begin(), first.parameters().values().end());
    FitOptions one = base;
    one.callbacks.push_back(ModelCheckpoint(path));
    first.fit(x, y, one);
    const std::vector<float> w1(first.parameters().values().begin(), first.parameters().values().end());

    Sequential resumed = noise_only_model();
    FitOptions two = base;
    two.epochs = 2;
    two.resume = restore_checkpoint(resumed, path);
    resumed.fit(x, y, two);
    const auto w2 = resumed.parameters().values();
    std::vector<double> first_noise, second_noise;
    for (size_t i = 0; i < w0.size(); ++i) {
      first_noise.push_back(double(w1[i]) - w0[i]);
      second_noise.push_back(double(w2[i]) - w1[i]);
    }
    EXPECT_GT(std::sqrt(correlation(first_noise, first_noise)), 0.0);
    EXPECT_LT(std::fabs(correlation(first_noise, second_noise)), 0.5) << "reproducible " << reproducible;
  }
  std::filesystem::remove(path);
}

// With 3 rows and a batch of 1, a Poisson epoch draws no row at all about once in 40: such
// epochs still took noisy steps, which must be logged and counted, never end training.
TEST(PrivateTraining, EpochsWithOnlyEmptyPoissonBatchesAreCounted) {
  random::set_seed(4);
  Sequential model;
  model.add(Dense(1, {.input_dim = 2, .activation = "sigmoid"}));
  model.compile({.loss = "binary_crossentropy", .optimizer = SGD{.learning_rate = 0.1f}});
  const Tensor x = random::uniform(Shape{3, 2});
  Tensor y(Shape{3, 1});
  y[1] = 1.0f;
  const History history = fit_private(model, x, y, {.epochs = 300, .batch_size = 1, .verbose = 0},
                                      {.l2_norm_clip = 1.0f, .noise_multiplier = 1.0, .reproducible = true});
  ASSERT_EQ(history.epoch.size(), 300u);
  const auto& epsilons = history.history.at("epsilon");
  ASSERT_EQ(epsilons.size(), 300u);
  EXPECT_NEAR(epsilons.back(), dp_sgd_epsilon(1.0 / 3, 1.0, 900, 1e-5).epsilon, 1e-9);
  int empty_epochs = 0;
  for (double loss : history.history.at("loss")) empty_epochs += std::isnan(loss);
  EXPECT_GT(empty_epochs, 0) << "the seed should give at least one empty epoch";
}

TEST(PrivateTraining, RefusesStoppingOnTrainingFiguresAndCanOmitThem) {
  random::set_seed(5);
  Sequential model;
  model.add(Dense(1, {.input_dim = 2, .activation = "sigmoid"}));
  model.compile({.loss = "binary_crossentropy", .optimizer = "sgd", .metrics = {"accuracy"}});
  const Tensor x = random::uniform(Shape{40, 2});
  const Tensor y(Shape{40, 1});
  const PrivateTraining dp{.noise_multiplier = 1.0f};
  EXPECT_THROW(model.fit(x, y, {.verbose = 0, .loss_threshold = 0.1, .private_training = dp}), ValueError);
  EXPECT_THROW(model.fit(x, y, {.verbose = 0, .callbacks = {EarlyStopping({.monitor = "loss"})}, .private_training = dp}),
               ValueError);
  EXPECT_THROW(model.fit(x, y, {.verbose = 0, .callbacks = {ReduceLROnPlateau({.monitor = "accuracy"})},
                                .private_training = dp}),
               ValueError);
  EXPECT_NO_THROW(model.fit(x, y, {.epochs = 2, .validation_split = 0.25, .verbose = 0,
                                   .callbacks = {EarlyStopping({.monitor = "val_loss"})}, .private_training = dp}));
  const History omitted = fit_private(model, x, y, {.epochs = 2, .validation_split = 0.25, .verbose = 0},
                                      {.noise_multiplier = 1.0, .record_training_metrics = false});
  EXPECT_EQ(omitted.history.count("loss"), 0u);
  EXPECT_EQ(omitted.history.count("accuracy"), 0u);
  EXPECT_EQ(omitted.history.at("val_loss").size(), 2u);
  EXPECT_EQ(omitted.history.at("epsilon").size(), 2u);
}

TEST(PrivateTraining, NoiseHasTheStandardDeviationOfTheMechanism) {
  // With a zero learning signal (clip tiny) the update is noise: σ·C / batch per coordinate.
  // The noise comes from the operating system, so the tolerance is set from the sample size:
  // the RMS of n normal draws has a relative spread of 1/√(2n); 6 of those fail once in 10⁹.
  const Batch b = batch(64);
  random::set_seed(4);
  Sequential model;
  model.add(Conv2D(8, 3, {.input_shape = {5, 5, 1}, .activation = "relu"}));
  model.add(Flatten());
  model.add(Dense(64, {.activation = "tanh"}));
  model.add(Dense(3, {.activation = "softmax"}));
  model.compile({.loss = "sparse_categorical_crossentropy", .optimizer = SGD{.learning_rate = 0.1f}});
  model.build(Shape{5, 5, 1});
  const std::vector<float> before(model.parameters().values().begin(), model.parameters().values().end());
  const float clip = 1e-6f, sigma = 2000.0f;
  model.fit(b.x, b.y,
            {.epochs = 1, .batch_size = 64, .verbose = 0,
             .private_training = PrivateTraining{.l2_norm_clip = clip, .noise_multiplier = sigma,
                                                 .poisson_sampling = false}});
  const auto after = model.parameters().values();
  double squared = 0;
  for (size_t i = 0; i < before.size(); ++i) squared += std::pow((after[i] - before[i]) / 0.1, 2);
  const double measured = std::sqrt(squared / double(before.size()));
  const double expected = double(sigma) * clip / 64;
  const double relative_spread = 1.0 / std::sqrt(2.0 * double(before.size()));
  ASSERT_GT(before.size(), 4000u);
  EXPECT_NEAR(measured, expected, 6 * relative_spread * expected);
}

TEST(PrivateTraining, FitPrivateReportsEpsilonPerEpoch) {
  random::set_seed(1);
  Tensor x = random::uniform(Shape{200, 4}, 0.0f, 1.0f), y(Shape{200, 1});
  for (int64_t r = 0; r < 200; ++r) y[r] = x[r * 4] > 0.5f ? 1.0f : 0.0f;
  Sequential model;
  model.add(Dense(8, {.input_dim = 4, .activation = "relu"}));
  model.add(Dense(1, {.activation = "sigmoid"}));
  model.compile({.loss = "binary_crossentropy", .optimizer = Adam{.learning_rate = 0.05f}, .metrics = {"accuracy"}});
  const History history =
      fit_private(model, x, y, {.epochs = 3, .batch_size = 20, .verbose = 0}, {.l2_norm_clip = 1.0f,
                                                                               .noise_multiplier = 1.0f});
  const auto& epsilons = history.history.at("epsilon");
  ASSERT_EQ(epsilons.size(), 3u);
  for (int e = 0; e < 3; ++e)  // q = 0.1, 10 steps per epoch
    EXPECT_NEAR(epsilons[e], dp_sgd_epsilon_after_epochs(0.1, 1.0, 10, e + 1, 1e-5).epsilon, 1e-9);
  EXPECT_LT(epsilons[0], epsilons[2]);
  // With a budget the noise is found for it.
  const PrivateTrainingPlan plan = plan_private_training(200, 20, 3, {.target_epsilon = 2.0});
  EXPECT_LE(plan.epsilon, 2.0);
  EXPECT_GT(plan.noise_multiplier, 0.5);
}

TEST(PrivateTraining, RejectsLayersWithoutPerExampleNormsAndBadOptions) {
  Sequential model;
  model.add(Dense(4, {.input_dim = 3}));
  model.add(BatchNormalization());
  model.add(Dense(1, {.activation = "sigmoid"}));
  model.compile({.loss = "binary_crossentropy"});
  const Tensor x = random::uniform(Shape{8, 3}), y(Shape{8, 1});
  EXPECT_THROW(model.fit(x, y, {.verbose = 0, .private_training = PrivateTraining{}}), NotImplementedError);
  Sequential dense;
  dense.add(Dense(1, {.input_dim = 3, .activation = "sigmoid"}));
  dense.compile({.loss = "binary_crossentropy"});
  EXPECT_THROW(dense.fit(x, y, {.verbose = 0, .private_training = PrivateTraining{.l2_norm_clip = 0.0f}}), ValueError);
  EXPECT_THROW(dense.fit(x, y, {.verbose = 0, .private_training = PrivateTraining{.noise_multiplier = -1.0f}}),
               ValueError);
}

namespace {

// The noisy sums a DP-SGD run of one epoch of one full fixed batch releases, noise off.
std::vector<std::vector<float>> observed_sums(const Tensor& x, const Tensor& y, double validation_split = 0) {
  random::set_seed(5);
  Sequential model;
  model.add(Dense(4, {.input_dim = 3, .activation = "tanh"}));
  model.add(Dense(1));
  model.compile({.loss = "mse", .optimizer = SGD{.learning_rate = 1e-30f}});
  std::vector<std::vector<float>> sums;
  PrivateTraining privacy{.l2_norm_clip = 1.0f, .noise_multiplier = 0.0f, .poisson_sampling = false};
  privacy.observe_noisy_sum = [&](std::span<const float> sum) { sums.emplace_back(sum.begin(), sum.end()); };
  model.fit(x, y, {.epochs = 2, .batch_size = 1000, .shuffle = false, .validation_split = validation_split,
                   .verbose = 0, .seed = 3, .private_training = privacy});
  return sums;
}

Tensor rows_of(const std::vector<std::vector<float>>& values) {
  Tensor t(Shape{int64_t(values.size()), int64_t(values[0].size())});
  for (size_t r = 0; r < values.size(); ++r)
    for (size_t c = 0; c < values[r].size(); ++c) t.at(int64_t(r), int64_t(c)) = values[r][c];
  return t;
}

}  // namespace

// An example whose loss or gradient overflows (a label of 3e38, a feature of 1e38) must
// neither end training nor turn the step into NaN: its share of the sum is clipped, or
// zero where its gradient is not finite — the same sums as without it, within the clip.
TEST(PrivateTraining, OverflowingExamplesKeepTheStepBounded) {
  std::vector<std::vector<float>> features, labels;
  for (int i = 0; i < 20; ++i) {
    features.push_back({float(i % 5) / 5, float(i % 3) / 3, float(i % 7) / 7});
    labels.push_back({float(i % 4)});
  }
  const auto clean = observed_sums(rows_of(features), rows_of(labels));
  ASSERT_EQ(clean.size(), 2u);
  for (const auto& [feature, label] : {std::pair{0.5f, 3e38f}, std::pair{1e38f, 1.0f}}) {
    auto x = features, y = labels;
    x.push_back({feature, 0.5f, -feature});
    y.push_back({label});
    const auto with_extreme = observed_sums(rows_of(x), rows_of(y));
    ASSERT_EQ(with_extreme.size(), clean.size()) << "feature " << feature << ", label " << label;
    for (size_t s = 0; s < clean.size(); ++s) {
      double distance = 0;
      for (size_t i = 0; i < clean[s].size(); ++i) {
        ASSERT_TRUE(std::isfinite(with_extreme[s][i]));
        distance += std::pow(double(clean[s][i]) - with_extreme[s][i], 2);
      }
      EXPECT_LE(std::sqrt(distance), 1.0 + 1e-4) << "feature " << feature << ", label " << label;
    }
  }
}

// Under private training, validation_split keeps a row by a hash of its own values: taking
// one row away moves no other row between training and validation, so the sums differ by
// at most one clipped gradient (Keras's cut at a position would move a row across it).
TEST(PrivateTraining, ValidationSplitMovesNoOtherRow) {
  // 41 rows: Keras's cut keeps 28 training rows with or without one of them (floor(41 · 0.7)
  // = floor(40 · 0.7) = 28), so it would move row 28 into training; labels of ±10 make every
  // gradient large (clipped to norm 1) and of opposite sign between neighbouring rows.
  std::vector<std::vector<float>> features, labels;
  for (int i = 0; i < 41; ++i) {
    features.push_back({float(i % 5) / 5 + 0.01f * i, float(i % 3) / 3, float(i % 7) / 7});
    labels.push_back({i % 2 ? 10.0f : -10.0f});
  }
  const auto all = observed_sums(rows_of(features), rows_of(labels), 0.3);
  for (const size_t k : {0u, 5u, 17u}) {
    auto x = features, y = labels;
    x.erase(x.begin() + std::ptrdiff_t(k));
    y.erase(y.begin() + std::ptrdiff_t(k));
    const auto without = observed_sums(rows_of(x), rows_of(y), 0.3);
    ASSERT_EQ(without.size(), all.size());
    for (size_t s = 0; s < all.size(); ++s) {
      double distance = 0;
      for (size_t i = 0; i < all[s].size(); ++i) distance += std::pow(double(all[s][i]) - without[s][i], 2);
      EXPECT_LE(std::sqrt(distance), 1.0 + 1e-4) << "row " << k << " removed, step " << s + 1;
    }
  }
}

// A model of two inputs: a row is one example across both (its parts hashed together for
// the validation split, counted once by the accountant), as the CLI's --dp promises for the
// column groups of one CSV row.
TEST(PrivateTraining, FitPrivateOnTwoInputsTakesEachRowAsOneExample) {
  random::set_seed(5);
  const Tensor a = random::uniform(Shape{60, 3}, -1.0f, 1.0f), b = random::uniform(Shape{60, 2}, -1.0f, 1.0f);
  Tensor y(Shape{60, 1});
  for (int64_t r = 0; r < 60; ++r) y[r] = a[r * 3] + b[r * 2] > 0 ? 1.0f : 0.0f;
  // The split against split_rows_by_hash of the rows laid side by side, written out here.
  Tensor joined(Shape{60, 5});
  for (int64_t r = 0; r < 60; ++r) {
    for (int64_t f = 0; f < 3; ++f) joined.at(r, f) = a.at(r, f);
    for (int64_t f = 0; f < 2; ++f) joined.at(r, 3 + f) = b.at(r, f);
  }
  const SplitIndices split = private_validation_split({a, b}, {y}, 0.25, 7);
  const SplitIndices expected = split_rows_by_hash(joined, y, 0.25, 7);
  EXPECT_EQ(split.train, expected.train);
  EXPECT_EQ(split.test, expected.test);
  ASSERT_FALSE(split.train.empty());
  ASSERT_FALSE(split.test.empty());
  // One input and one target: fit()'s own split.
  EXPECT_EQ(private_validation_split({joined}, {y}, 0.25, 7).train, expected.train);
  // Changing one row's second input moves no other row.
  Tensor changed = Tensor::from(b);
  changed.at(10, 0) += 0.5f;
  const SplitIndices after = private_validation_split({a, changed}, {y}, 0.25, 7);
  auto side = [](const SplitIndices& s, int64_t r) {
    return std::find(s.train.begin(), s.train.end(), r) != s.train.end();
  };
  for (int64_t r = 0; r < 60; ++r)
    if (r != 10) {
      EXPECT_EQ(side(after, r), side(split, r)) << "row " << r;
    }

  auto make = [] {
    random::set_seed(6);
    const SymbolicTensor left = Input({3}), right = Input({2});
    Model model({left, right}, {Dense(1, {.activation = "sigmoid"})(Concatenate()({Dense(4)(left), right}))});
    model.compile({.loss = "binary_crossentropy", .optimizer = SGD{.learning_rate = 0.1f}});
    return model;
  };
  Model model = make();
  const History history = fit_private(model, {a, b}, {y}, {.epochs = 2, .batch_size = 15, .validation_split = 0.25,
                                                            .verbose = 0, .seed = 7},
                                      {.l2_norm_clip = 1.0f, .noise_multiplier = 1.0});
  ASSERT_EQ(history.history.at("val_loss").size(), 2u);
  const auto training = double(split.train.size());  // the accountant counts the rows trained on, once each
  const auto steps = std::llround(training / 15.0);
  for (int e = 0; e < 2; ++e)
    EXPECT_NEAR(history.history.at("epsilon")[size_t(e)],
                dp_sgd_epsilon_after_epochs(15.0 / training, 1.0, steps, e + 1, 1e-5).epsilon, 1e-9);
}

// A recurrent layer called twice (shared weights): its per-example gradient is the sum over
// both calls and all their steps, written to the model's sink rather than as a norm.
TEST(PrivateTraining, ASharedRecurrentLayerClipsTheSumOverItsCalls) {
  for (int cell = 0; cell < 4; ++cell) {
    auto make = [cell] {
      random::set_seed(21);
      const SymbolicTensor left = Input({3, 2}), right = Input({3, 2});
      std::unique_ptr<Layer> encoder;
      if (cell == 0) encoder = std::make_unique<LSTM>(3);
      if (cell == 1) encoder = std::make_unique<GRU>(3);
      if (cell == 2) encoder = std::make_unique<GRU>(3, GRUOptions{.reset_after = false});
      if (cell == 3) encoder = std::make_unique<Bidirectional>(LSTM(2), BidirectionalOptions{.merge_mode = "sum"});
      const SymbolicTensor joined = Concatenate()({(*encoder)(left), (*encoder)(right)});
      Model model({left, right}, {Dense(1, {.activation = "sigmoid"})(joined)});
      model.compile({.loss = "binary_crossentropy", .optimizer = SGD{.learning_rate = 1.0f}});
      return model;
    };
    random::set_seed(22);
    const Tensor l = random::uniform({6, 3, 2}, -2, 2), r = random::uniform({6, 3, 2}, -2, 2);
    Tensor y(Shape{6, 1});
    for (int64_t i = 0; i < 6; ++i) y[i] = float(i % 2);
    for (const float clip : {0.05f, 1e6f}) {
      const auto [worst, largest] = testkit::private_step_against_per_example_passes(make, l, r, y, clip);
      EXPECT_GT(largest, 1e-4) << "cell " << cell << ", clip " << clip;
      EXPECT_LT(worst, 1e-5 + 1e-3 * largest) << "cell " << cell << ", clip " << clip;
    }
  }
}

// An encoder whose states start a decoder (return_state, initial states): each example's
// clipped gradient, the encoder's reached only through the states, against one backward
// pass per example.
TEST(PrivateTraining, AnEncoderDecoderClipsEachExamplesGradientThroughTheStates) {
  for (const bool lstm : {true, false}) {
    auto make = [lstm] {
      random::set_seed(23);
      const SymbolicTensor source = Input({3, 2}), start = Input({3, 2});
      SymbolicTensor decoded;
      if (lstm) {
        const auto encoded = LSTM(3, {.return_state = true}).call({source});
        decoded = LSTM(3).call({start, encoded[1], encoded[2]})[0];
      } else {
        const auto encoded = GRU(3, {.return_state = true}).call({source});
        decoded = GRU(3)({start, encoded[1]});
      }
      Model model({source, start}, {Dense(1, {.activation = "sigmoid"})(decoded)});
      model.compile({.loss = "binary_crossentropy", .optimizer = SGD{.learning_rate = 1.0f}});
      return model;
    };
    random::set_seed(24);
    const Tensor s = random::uniform({6, 3, 2}, -2, 2), t = random::uniform({6, 3, 2}, -2, 2);
    Tensor y(Shape{6, 1});
    for (int64_t i = 0; i < 6; ++i) y[i] = float(i % 2);
    for (const float clip : {0.05f, 1e6f}) {
      const auto [worst, largest] = testkit::private_step_against_per_example_passes(make, s, t, y, clip);
      EXPECT_GT(largest, 1e-4) << (lstm ? "LSTM" : "GRU") << ", clip " << clip;
      EXPECT_LT(worst, 1e-5 + 1e-3 * largest) << (lstm ? "LSTM" : "GRU") << ", clip " << clip;
    }
  }
}

}  // namespace private_training_test
