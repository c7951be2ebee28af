// Flush-to-zero around citadel's computations: set while a model computes (seen from a
// callback and in a prediction whose exact value is denormal), the caller's own MXCSR given
// back afterwards, and the speed reason for it (a GRU's vanishing gradients) left to
// bench/citadel_bench w8, since tests assert no timings.
#include "citadel/core/denormals.hpp"

#include <gtest/gtest.h>

#include <immintrin.h>

#include <cmath>
#include <memory>

#include "citadel/layers/dense.hpp"
#include "citadel/model/sequential.hpp"

namespace denormals_test {

using namespace citadel;

namespace {

constexpr unsigned kFlushBits = 0x8040;

// MXCSR's control bits: its low six are sticky exception flags that arithmetic raises.
unsigned control() { return _mm_getcsr() & ~0x3Fu; }

struct RecordFlushBits : Callback {
  std::shared_ptr<unsigned> seen = std::make_shared<unsigned>(0);
  std::unique_ptr<Callback> clone() const override { return std::make_unique<RecordFlushBits>(*this); }
  void on_batch_end(int64_t, double, Model&) override { *seen |= _mm_getcsr() & kFlushBits; }
};

}  // namespace

TEST(Denormals, ModelsComputeWithThemFlushedAndGiveTheCallerItsSettingBack) {
  ASSERT_TRUE(flush_denormals_enabled()) << "CITADEL_FLUSH_DENORMALS=0 in the test's environment";
  const unsigned before = control();
  ASSERT_EQ(before & kFlushBits, 0u) << "the default floating-point environment flushes nothing";

  // One weight of 2^-70 times an input of 2^-70: 2^-140, a denormal float, flushed to 0.
  Sequential model;
  model.add(Dense(1, {.input_dim = 1, .use_bias = false}));
  model.compile({.loss = "mse", .optimizer = "sgd"});
  const float tiny = std::ldexp(1.0f, -70);
  model.set_weights({Tensor(Shape{1, 1}, {tiny})});
  const Tensor x(Shape{1, 1}, {tiny});
  volatile float exact = tiny;
  exact = exact * tiny;
  ASSERT_GT(exact, 0.0f) << "outside the library the product is the denormal 2^-140";
  EXPECT_EQ(model.predict(x)[0], 0.0f);
  EXPECT_EQ(control(), before) << "predict gave the caller's setting back";

  RecordFlushBits record;
  model.fit(x, Tensor(Shape{1, 1}, {1.0f}), {.epochs = 1, .verbose = 0, .callbacks = {record}});
  EXPECT_EQ(*record.seen, kFlushBits) << "fit computes with FTZ and DAZ";
  EXPECT_EQ(control(), before) << "fit gave the caller's setting back";

  {  // An exception flag the computation raised stays raised: only FTZ and DAZ go back.
    _mm_setcsr(before);  // every sticky flag cleared
    model.set_weights({Tensor(Shape{1, 1}, {1e30f})});
    model.predict(Tensor(Shape{1, 1}, {1e30f}));  // 1e60 overflows a float
    EXPECT_NE(_mm_getcsr() & 0x08u, 0u) << "the overflow flag (bit 3) the product raised was kept";
    EXPECT_EQ(control(), before);
    _mm_setcsr(before);
    model.set_weights({Tensor(Shape{1, 1}, {tiny})});
  }
  {  // A caller that flushes already keeps its setting.
    _mm_setcsr(before | kFlushBits);
    model.predict(x);
    EXPECT_EQ(control(), before | kFlushBits);
    _mm_setcsr(before);
  }
}

}  // namespace denormals_test
