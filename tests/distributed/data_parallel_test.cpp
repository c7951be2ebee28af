// Data-parallel training over MPI, run by CTest as `mpirun -np 2` (every rank runs every
// case). Each case trains the reference on all rows in this process alone and the same
// model on the group, each rank holding its stride shard, and compares: weights, every
// logged figure, DP-SGD without noise, the DP noise's variance, checkpoints resumed on a
// different number of ranks, and a shard that is not one refused on every rank alike.
//
// Tolerance: the group sums each step's gradient in another order (per-rank partial sums
// in GEMM, then the all-reduce) and rescales each rank's rows by local/global batch, so
// float32 rounding differs by a few ulps per step; over tens of steps that stays below
// 1e-5 on weights of order 1 (measured ~1e-7, see docs/SCALING.md).
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <numeric>
#include <string>

#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"
#include "citadel/distributed/communicator.hpp"
#include "citadel/io/checkpoint.hpp"
#include "citadel/layers/batch_normalization.hpp"
#include "citadel/layers/conv2d.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/layers/flatten.hpp"
#include "citadel/layers/merge.hpp"
#include "citadel/layers/pooling2d.hpp"
#include "citadel/layers/regularizers.hpp"
#include "citadel/model/sequential.hpp"
#include "citadel/privacy/private_fit.hpp"

using namespace citadel;

namespace {

const distributed::Communicator& world() { return distributed::Communicator::world(); }

constexpr double kWeightTolerance = 1e-5;

// Rows of a binary task: y = 1 when a fixed linear score of x is positive (plus label noise).
void binary_data(int64_t rows, int64_t features, Tensor& x, Tensor& y) {
  random::set_seed(99);
  x = random::normal({rows, features});
  y = Tensor({rows, 1});
  Rng noise(3);
  for (int64_t i = 0; i < rows; ++i) {
    double score = 0;
    for (int64_t j = 0; j < features; ++j) score += (j % 3 == 0 ? 1.0 : -0.5) * x[i * features + j];
    y[i] = (score + 0.3 * noise.normal()) > 0 ? 1.0f : 0.0f;
  }
}

Sequential dense_model(const OptimizerSpec& optimizer, int64_t features) {
  random::set_seed(21);
  Sequential model;
  model.add(Dense(16, {.input_dim = features, .activation = "relu", .kernel_regularizer = L2(1e-3)}));
  model.add(Dense(8, {.activation = "tanh"}));
  model.add(Dense(1, {.activation = "sigmoid"}));
  model.compile({.loss = "binary_crossentropy", .optimizer = optimizer,
                 .metrics = {"accuracy", "precision", "recall", "auc"}});
  return model;
}

double max_weight_difference(const Model& a, const Model& b) {
  const std::vector<Tensor> wa = a.get_weights(), wb = b.get_weights();
  EXPECT_EQ(wa.size(), wb.size());
  double worst = 0;
  for (size_t t = 0; t < wa.size(); ++t)
    for (int64_t i = 0; i < wa[t].numel(); ++i) worst = std::max(worst, std::fabs(double(wa[t][i]) - wb[t][i]));
  return worst;
}

void expect_same_history(const History& reference, const History& group, double tolerance) {
  ASSERT_EQ(reference.epoch.size(), group.epoch.size());
  ASSERT_EQ(reference.history.size(), group.history.size());
  for (const auto& [name, values] : reference.history) {
    const std::vector<double>& other = group[name];
    for (size_t e = 0; e < values.size(); ++e)
      if (values[e] != other[e]) {  // equal infinities (ε without noise) included
        EXPECT_NEAR(values[e], other[e], tolerance * std::max(1.0, std::fabs(values[e])))
            << name << " at epoch " << e + 1 << " (rank " << world().rank() << ")";
      }
  }
}

TEST(DataParallel, RunsOnTwoRanks) {
  ASSERT_TRUE(distributed::Communicator::mpi_built());
  ASSERT_EQ(world().size(), 2) << "run this binary with mpirun -np 2";
}

TEST(DataParallel, CollectivesCombineEveryRank) {
  const int rank = world().rank(), size = world().size();
  std::vector<float> sums{float(rank), 1.0f};
  world().all_reduce_sum(sums);
  EXPECT_EQ(sums[0], float(size * (size - 1) / 2));
  EXPECT_EQ(sums[1], float(size));
  std::vector<double> mine(size_t(rank + 1), double(rank));  // rank r sends r + 1 values
  std::vector<int64_t> counts;
  const std::vector<double> all = world().all_gather(mine, &counts);
  ASSERT_EQ(counts.size(), size_t(size));
  size_t offset = 0;
  for (int r = 0; r < size; ++r) {
    ASSERT_EQ(counts[size_t(r)], r + 1);
    for (int k = 0; k <= r; ++k) EXPECT_EQ(all[offset++], double(r));
  }
  std::vector<uint64_t> words{rank == 0 ? 42u : 7u};
  world().broadcast(words);
  EXPECT_EQ(words[0], 42u);
  const distributed::Communicator alone = world().split(rank, 0);  // one group per rank
  EXPECT_EQ(alone.size(), 1);
  EXPECT_EQ(alone.rank(), 0);
}

TEST(DataParallel, DenseAdamShuffledWithValidationTrainsTheSameModel) {
  Tensor x, y;
  binary_data(403, 8, x, y);  // odd: the ranks' shares and batches differ by a row
  const FitOptions base{.epochs = 4, .batch_size = 25, .shuffle = true, .validation_split = 0.2, .verbose = 0,
                        .seed = 11};
  Sequential reference = dense_model("adam", 8);
  const History expected = reference.fit(x, y, base);

  Sequential model = dense_model("adam", 8);
  FitOptions options = base;
  options.communicator = &world();
  const Tensor shard_x = shard_rows(x, world()), shard_y = shard_rows(y, world());
  const History history = model.fit(shard_x, shard_y, options);
  EXPECT_LT(max_weight_difference(reference, model), kWeightTolerance);
  expect_same_history(expected, history, 1e-5);
  EXPECT_TRUE(history.history.count("val_auc"));
  std::printf("rank %d: dense Adam, max |Δw| %.3g\n", world().rank(), max_weight_difference(reference, model));
}

// A graph of two inputs and two outputs with a shared layer: the group trains the model one
// process trains, every figure (per output, validation included) alike.
TEST(DataParallel, AGraphOfTwoInputsAndOutputsTrainsTheSameModel) {
  Tensor a, label;
  binary_data(203, 6, a, label);
  random::set_seed(7);
  const Tensor b = random::normal({203, 6});
  Tensor amount(Shape{203, 1});
  for (int64_t i = 0; i < 203; ++i) amount[i] = a[i * 6] - b[i * 6 + 1];
  auto make = [] {
    random::set_seed(23);
    const SymbolicTensor left = Input({6}, {.name = "left"}), right = Input({6}, {.name = "right"});
    const Dense shared(8, {.activation = "tanh"});
    const SymbolicTensor joined = Concatenate()({shared(left), shared(right)});
    Model model({left, right}, {Dense(1, {.activation = "sigmoid"}).named("label")(joined),
                                Dense(1).named("amount")(Add()({shared(left), shared(right)}))});
    model.compile({.loss = LossSpec(), .optimizer = "adam",
                   .losses = {{"label", LossSpec("binary_crossentropy")}, {"amount", LossSpec("mse")}},
                   .output_metrics = {{"label", {"accuracy"}}}});
    return model;
  };
  const FitOptions base{.epochs = 3, .batch_size = 20, .validation_split = 0.2, .verbose = 0, .seed = 13};
  Model reference = make();
  const History expected = reference.fit({a, b}, {label, amount}, base);
  Model model = make();
  FitOptions options = base;
  options.communicator = &world();
  const Tensor sa = shard_rows(a, world()), sb = shard_rows(b, world()), sl = shard_rows(label, world()),
               sm = shard_rows(amount, world());
  const History history = model.fit({sa, sb}, {sl, sm}, options);
  EXPECT_LT(max_weight_difference(reference, model), kWeightTolerance);
  expect_same_history(expected, history, 1e-5);
  EXPECT_TRUE(history.history.count("val_label_accuracy"));
}

TEST(DataParallel, CnnSgdMomentumTrainsTheSameModel) {
  random::set_seed(5);
  const int64_t rows = 150;
  Tensor x = random::uniform({rows, 8, 8, 1});
  Tensor y({rows, 3});
  for (int64_t i = 0; i < rows; ++i) {  // the class: which third of the image is brightest
    double third[3] = {0, 0, 0};
    for (int64_t p = 0; p < 64; ++p) third[std::min<int64_t>(2, (p % 8) / 3)] += x[i * 64 + p];
    y[i * 3 + (std::max_element(third, third + 3) - third)] = 1.0f;
  }
  auto make = [] {
    random::set_seed(8);
    Sequential model;
    model.add(Conv2D(4, {3, 3}, {.input_shape = {8, 8, 1}, .padding = "same", .activation = "relu"}));
    model.add(MaxPooling2D({2, 2}));
    model.add(Flatten());
    model.add(Dense(3, {.activation = "softmax"}));
    model.compile({.loss = "categorical_crossentropy", .optimizer = SGD{.learning_rate = 0.05f, .momentum = 0.9f},
                   .metrics = {"accuracy", "f1"}});
    return model;
  };
  const FitOptions base{.epochs = 3, .batch_size = 16, .verbose = 0, .seed = 4};
  Sequential reference = make();
  const History expected = reference.fit(x, y, base);
  Sequential model = make();
  FitOptions options = base;
  options.communicator = &world();
  const History history = model.fit(shard_rows(x, world()), shard_rows(y, world()), options);
  EXPECT_LT(max_weight_difference(reference, model), kWeightTolerance);
  expect_same_history(expected, history, 1e-5);
}

// Early stopping and the learning-rate schedule watch global figures, so the ranks stop at
// the epoch one process stops at, with the same weights restored.
TEST(DataParallel, CallbacksDecideAsOneProcess) {
  Tensor x, y;
  binary_data(240, 8, x, y);
  auto run = [&](bool group) {
    Sequential model = dense_model(Adam{.learning_rate = 0.05f}, 8);  // fast: overfits, then stalls
    FitOptions options{.epochs = 40, .batch_size = 16, .validation_split = 0.3, .verbose = 0, .seed = 3};
    options.callbacks.push_back(EarlyStopping({.patience = 3, .restore_best_weights = true}));
    options.callbacks.push_back(ReduceLROnPlateau({.factor = 0.5, .patience = 1}));
    if (group) options.communicator = &world();
    const History history = group ? model.fit(shard_rows(x, world()), shard_rows(y, world()), options)
                                  : model.fit(x, y, options);
    return std::make_pair(std::move(model), history);
  };
  auto [reference, expected] = run(false);
  auto [model, history] = run(true);
  ASSERT_LT(expected.epoch.size(), 40u) << "the reference did not stop early; the case tests nothing";
  EXPECT_EQ(history.epoch.size(), expected.epoch.size());
  EXPECT_EQ(history.stop_reason, expected.stop_reason);
  expect_same_history(expected, history, 1e-5);  // learning_rate included
  EXPECT_LT(max_weight_difference(reference, model), kWeightTolerance);
}

TEST(DataParallel, EvaluateMergesEveryRanksRows) {
  Tensor x, y;
  binary_data(257, 8, x, y);
  Sequential model = dense_model("adam", 8);
  model.fit(x, y, {.epochs = 1, .verbose = 0, .seed = 2});
  const Logs all = model.evaluate(x, y);
  const Logs merged = model.evaluate(shard_rows(x, world()), shard_rows(y, world()), {.communicator = &world()});
  for (const auto& [name, value] : all) {
    if (name == "loss") EXPECT_NEAR(merged.at(name), value, 1e-6);
    else EXPECT_EQ(merged.at(name), value) << name;  // counts and the AUC's scores merge exactly
  }
}

TEST(DataParallel, StartsFromRankZerosWeights) {
  Tensor x, y;
  binary_data(64, 8, x, y);
  random::set_seed(100 + uint64_t(world().rank()));  // each rank would initialize differently
  Sequential model;
  model.add(Dense(4, {.input_dim = 8, .activation = "relu"}));
  model.add(Dense(1, {.activation = "sigmoid"}));
  model.compile({.loss = "binary_crossentropy", .optimizer = "sgd"});
  model.fit(shard_rows(x, world()), shard_rows(y, world()), {.epochs = 1, .verbose = 0, .communicator = &world()});
  std::vector<float> flat;
  for (const Tensor& w : model.get_weights()) flat.insert(flat.end(), w.data(), w.data() + w.numel());
  std::vector<float> root = flat;
  world().broadcast(root);
  EXPECT_EQ(flat, root) << "the replicas diverged";
}

// BatchNormalization normalizes with each rank's batch statistics; its moving statistics are
// averaged across ranks at each epoch end, so the replicas (and the saved model) agree.
TEST(DataParallel, BatchNormalizationReplicasAgree) {
  Tensor x, y;
  binary_data(203, 8, x, y);
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = x[i] * 3.0f + 2.0f;  // statistics far from 0 and 1
  Sequential model;
  model.add(Dense(16, {.input_dim = 8}));
  model.add(BatchNormalization());
  model.add(Dense(1, {.activation = "sigmoid"}));
  model.compile({.loss = "binary_crossentropy", .optimizer = "adam"});
  model.fit(shard_rows(x, world()), shard_rows(y, world()),
            {.epochs = 2, .batch_size = 20, .verbose = 0, .seed = 5, .communicator = &world()});
  std::vector<float> flat;
  for (const Tensor& w : model.get_weights()) flat.insert(flat.end(), w.data(), w.data() + w.numel());
  std::vector<float> root = flat;
  world().broadcast(root);
  EXPECT_EQ(flat, root) << "the replicas' weights or moving statistics differ";
  const ParameterStore& params = model.parameters();
  const std::span<const float> moving = params.values().subspan(size_t(params.trainable_size()));
  ASSERT_EQ(moving.size(), 32u);  // moving mean and variance of 16 units
  double moved = 0;
  for (size_t i = 0; i < 16; ++i) moved += std::fabs(moving[i]);  // the means started at 0
  EXPECT_GT(moved, 0.1);
}

TEST(DataParallel, PrivateTrainingWithoutNoiseTakesTheSameSteps) {
  Tensor x, y;
  binary_data(300, 8, x, y);
  for (const bool poisson : {true, false}) {
    SCOPED_TRACE(poisson ? "Poisson sampling" : "shuffled fixed batches");
    const DPSGDOptions dp{.l2_norm_clip = 0.5f, .noise_multiplier = 0.0, .poisson_sampling = poisson,
                          .reproducible = true};
    const FitOptions base{.epochs = 2, .batch_size = 30, .verbose = 0, .seed = 6};
    Sequential reference = dense_model(SGD{.learning_rate = 0.5f}, 8);
    const History expected = fit_private(reference, x, y, base, dp);
    Sequential model = dense_model(SGD{.learning_rate = 0.5f}, 8);
    FitOptions options = base;
    options.communicator = &world();
    const History history = fit_private(model, shard_rows(x, world()), shard_rows(y, world()), options, dp);
    EXPECT_LT(max_weight_difference(reference, model), kWeightTolerance);
    expect_same_history(expected, history, 1e-5);  // epsilon included: the accountant counts global steps
  }
}

// One DP-SGD step on every row (Poisson rate 1), SGD with learning rate 1: the step is
// (clipped sum + noise) / B, so the noisy and the noiseless runs (same sampling stream)
// differ by noise / B, whose variance must be σ²C²/B² over ~10k parameters: once, not
// once per rank.
TEST(DataParallel, PrivateNoiseIsAddedOncePerGlobalStep) {
  Tensor x, y;
  binary_data(64, 100, x, y);
  const float clip = 0.7f;
  const double sigma = 1.3;
  auto run = [&](double noise_multiplier) {
    random::set_seed(12);
    Sequential model;
    model.add(Dense(100, {.input_dim = 100, .activation = "tanh"}));
    model.add(Dense(1, {.activation = "sigmoid"}));
    model.compile({.loss = "binary_crossentropy", .optimizer = SGD{.learning_rate = 1.0f}});
    FitOptions options{.epochs = 1, .batch_size = 64, .verbose = 0, .seed = 1, .communicator = &world()};
    fit_private(model, shard_rows(x, world()), shard_rows(y, world()), options,
                {.l2_norm_clip = clip, .noise_multiplier = noise_multiplier, .reproducible = true});
    return model.get_weights();
  };
  const std::vector<Tensor> noisy = run(sigma), clean = run(0.0);
  double sum = 0, squares = 0;
  int64_t count = 0;
  for (size_t t = 0; t < noisy.size(); ++t)
    for (int64_t i = 0; i < noisy[t].numel(); ++i) {
      const double d = double(noisy[t][i]) - clean[t][i];
      sum += d, squares += d * d, ++count;
    }
  const double variance = squares / double(count) - (sum / double(count)) * (sum / double(count));
  const double expected = (sigma * clip / 64.0) * (sigma * clip / 64.0);
  // The sample variance of ~10k normals lies within 5 % of the truth (its std is 1.4 %).
  EXPECT_NEAR(variance / expected, 1.0, 0.05) << "variance " << variance << ", expected " << expected
                                               << " (2.0 would be noise from both ranks)";
}

TEST(DataParallel, CheckpointOfTwoRanksResumesOnOne) {
  Tensor x, y;
  binary_data(200, 8, x, y);
  std::vector<uint64_t> id{uint64_t(getpid())};
  world().broadcast(id);  // one path for the job
  const std::string path =
      (std::filesystem::temp_directory_path() / ("citadel_dp_" + std::to_string(id[0]) + ".ckpt")).string();
  const FitOptions base{.epochs = 4, .batch_size = 20, .verbose = 0, .seed = 9};
  Sequential reference = dense_model("adam", 8);
  reference.fit(x, y, base);

  Sequential first = dense_model("adam", 8);
  FitOptions half = base;
  half.epochs = 2;
  half.communicator = &world();
  if (world().is_root()) half.callbacks.push_back(ModelCheckpoint(path));  // rank 0 writes
  first.fit(shard_rows(x, world()), shard_rows(y, world()), half);
  world().barrier();

  Sequential resumed = dense_model("adam", 8);  // on each rank alone: a group of one
  FitOptions rest = base;
  rest.resume = restore_checkpoint(resumed, path);
  const History history = resumed.fit(x, y, rest);
  EXPECT_EQ(history.epoch.size(), 4u);
  EXPECT_LT(max_weight_difference(reference, resumed), kWeightTolerance);
  world().barrier();
  if (world().is_root()) std::filesystem::remove(path);
}

TEST(DataParallel, DataThatIsNotAShardIsRefusedOnEveryRank) {
  Tensor x, y;
  binary_data(101, 8, x, y);
  Sequential model = dense_model("adam", 8);
  // Rank 0 passing rows 0-59 and rank 1 rows 60-100: not the stride shards' counts (51, 50).
  const int64_t begin = world().is_root() ? 0 : 60, end = world().is_root() ? 60 : 101;
  try {
    model.fit(x.rows(begin, end), y.rows(begin, end), {.verbose = 0, .communicator = &world()});
    FAIL() << "fit accepted unsharded data";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("shard_rows"), std::string::npos) << e.what();
  }
  world().barrier();  // and no rank is left waiting in a collective
}

}  // namespace
