// The DP self-audit of data-parallel training, run by CTest as `mpirun -np 2`: clipping
// skipped on one rank only (a layer of rank 1's model lets its gradient escape clipping)
// makes the audit contradict the accountant and name that rank; the same group with every
// rank correct is not contradicted.
#include <gtest/gtest.h>

#include <cstdio>

#include "citadel/core/random.hpp"
#include "citadel/distributed/communicator.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/model/sequential.hpp"
#include "citadel/privacy/dp_audit.hpp"
#include "planted_defects.hpp"

using namespace citadel;

namespace {

const distributed::Communicator& world() { return distributed::Communicator::world(); }

// All rows of a binary task on 10 unit-scale features (every rank draws the same).
void task(int64_t rows, Tensor& x, Tensor& y) {
  random::set_seed(3);
  x = random::normal({rows, 10});
  y = Tensor(Shape{rows, 1});
  Rng noise(4);
  for (int64_t i = 0; i < rows; ++i) {
    double score = 0;
    for (int64_t j = 0; j < 10; ++j) score += (j % 2 ? 1.0 : -1.0) * x[i * 10 + j];
    y[i] = score + 0.5 * noise.normal() > 0 ? 1.0f : 0.0f;
  }
}

Model network(bool first_layer_unclipped) {
  random::set_seed(5);
  Sequential model;
  const Dense first(64, {.input_dim = 10, .activation = "relu"});
  if (first_layer_unclipped) model.add(std::make_unique<testkit::DenseEscapingClipping>(first));
  else model.add(first);
  model.add(Dense(32, {.activation = "relu"}));
  model.add(Dense(1, {.activation = "sigmoid"}));
  model.compile({.loss = "binary_crossentropy", .optimizer = SGD{.learning_rate = 0.1f}});
  return model;
}

DpAuditResult audit_group(bool rank_one_unclipped, uint64_t seed) {
  Tensor x, y;
  task(1500, x, y);
  const Tensor shard_x = shard_rows(x, world()), shard_y = shard_rows(y, world());
  const bool defect = rank_one_unclipped && world().rank() == 1;
  return audit_private_training([defect] { return network(defect); }, shard_x, shard_y,
                                {.epochs = 5, .batch_size = 75, .verbose = 0, .communicator = &world()},
                                {.l2_norm_clip = 1.0f, .target_epsilon = 1.0, .delta = 1e-5},
                                {.gradient_canaries = 1000, .input_canaries = 60, .seed = seed});
}

}  // namespace

TEST(DpAuditRanks, ClippingSkippedOnOneRankIsCaught) {
  ASSERT_EQ(world().size(), 2) << "run under mpirun -np 2";
  const DpAuditResult r = audit_group(true, 21);
  if (!world().is_root()) return;  // the bounds are rank 0's
  std::printf("rank 1 unclipped: claimed ε %.3f, lower bound %.3f from %s; canary added %.3f on rank %d\n",
              r.claimed_epsilon, r.epsilon_lower_bound, r.strongest.c_str(), r.probed_sensitivity, r.probed_rank);
  EXPECT_TRUE(r.contradicts_accountant);
  EXPECT_GT(r.epsilon_lower_bound, r.claimed_epsilon);
  EXPECT_EQ(r.probed_rank, 1);
  EXPECT_GT(r.probed_sensitivity, 2.0 * r.l2_norm_clip);
  EXPECT_GE(r.measured_noise_multiplier, r.noise_multiplier);  // the noise itself is right
}

TEST(DpAuditRanks, ACorrectGroupIsNotContradicted) {
  const DpAuditResult r = audit_group(false, 22);
  if (!world().is_root()) return;
  std::printf("every rank clipped: claimed ε %.3f, lower bound %.3f from %s; canary added %.3f\n", r.claimed_epsilon,
              r.epsilon_lower_bound, r.strongest.c_str(), r.probed_sensitivity);
  EXPECT_FALSE(r.contradicts_accountant);
  EXPECT_LE(r.probed_sensitivity, 1.0001 * r.l2_norm_clip);
  EXPECT_GT(r.epsilon_lower_bound, 0.7 * r.claimed_epsilon);  // the measured noise, pooled over the group
}
