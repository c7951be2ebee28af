// bf16 products: the rounding against an independent nearest-value search, gemm_bfloat16
// against a double-precision product of the rounded inputs, and gemm's dispatch under a
// PrecisionScope. CTest runs this file three times: as the processor is, with oneDNN held
// to AVX-512 without bf16 (its emulation) and to AVX2 (citadel's emulation), so every
// path is checked on every machine.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"
#include "citadel/ops/gemm.hpp"
#include "citadel/ops/precision.hpp"

namespace gemm_bfloat16_test {

using namespace citadel;
using ops::Transpose;

namespace {

float bits_to_float(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

uint32_t float_to_bits(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
}

// The bf16 value nearest to x (ties to the even bit pattern), found by comparing the two
// bf16 neighbours of x in double arithmetic: no bit tricks shared with the library.
uint16_t nearest_bfloat16(float x) {
  const uint32_t bits = float_to_bits(x);
  const uint16_t below = static_cast<uint16_t>(bits >> 16);  // truncated: nearer zero
  const uint16_t above = static_cast<uint16_t>(below + 1);   // one step further from zero
  const double low = bits_to_float(uint32_t(below) << 16), high = bits_to_float(uint32_t(above) << 16);
  const double to_low = std::fabs(double(x) - low), to_high = std::fabs(double(x) - high);
  if (to_low != to_high) return to_low < to_high ? below : above;
  return (below & 1) == 0 ? below : above;
}

float rounded(float x) { return bits_to_float(uint32_t(nearest_bfloat16(x)) << 16); }

std::vector<float> random_values(size_t count, Rng& rng, double scale = 1.0) {
  std::vector<float> values(count);
  for (auto& v : values) v = static_cast<float>(scale * rng.normal());
  return values;
}

bool isa_capped_to(const char* name) {
  const char* cap = std::getenv("ONEDNN_MAX_CPU_ISA");
  return cap && std::string(cap) == name;
}

}  // namespace

TEST(BFloat16, RoundsToNearestWithTiesToEven) {
  Rng rng(7);
  std::vector<float> values;
  for (double scale : {1e-30, 1e-3, 1.0, 1e3, 1e30})
    for (float v : random_values(300, rng, scale)) values.push_back(v);
  // Exact ties: the dropped half is 0x8000, with an even and an odd kept part.
  for (uint32_t kept : {0x3f80u, 0x3f81u, 0xbf80u, 0xbf81u, 0x0001u}) values.push_back(bits_to_float(kept << 16 | 0x8000u));
  values.push_back(0.0f);
  values.push_back(-0.0f);
  values.push_back(std::numeric_limits<float>::denorm_min());
  values.push_back(3.0e38f);  // rounds to the largest bf16
  // 1003 values: the 32-wide path and its tail both run.
  std::vector<uint16_t> out(values.size());
  ops::to_bfloat16(values.data(), out.data(), static_cast<int64_t>(values.size()));
  for (size_t i = 0; i < values.size(); ++i)
    EXPECT_EQ(out[i], nearest_bfloat16(values[i])) << "value " << values[i] << " (index " << i << ")";
}

TEST(BFloat16, KeepsInfinitiesAndNaN) {
  const float specials[] = {std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                            std::numeric_limits<float>::quiet_NaN(), bits_to_float(0x7f800001u),  // a signalling NaN
                            std::numeric_limits<float>::max()};  // beyond bf16's range: infinity
  uint16_t out[5];
  ops::to_bfloat16(specials, out, 5);
  EXPECT_EQ(out[0], 0x7f80);
  EXPECT_EQ(out[1], 0xff80);
  EXPECT_TRUE(std::isnan(bits_to_float(uint32_t(out[2]) << 16)));
  EXPECT_TRUE(std::isnan(bits_to_float(uint32_t(out[3]) << 16))) << "a NaN must not round to infinity";
  EXPECT_EQ(out[4], 0x7f80);
}

struct Case {
  int64_t M, N, K;
};
const Case kCases[] = {{70, 50, 90}, {129, 65, 33}, {3, 300, 64}};

class GemmBFloat16Test : public ::testing::TestWithParam<std::tuple<bool, bool, int, float, float>> {};

TEST_P(GemmBFloat16Test, EqualsTheProductOfRoundedInputs) {
  const auto [ta, tb, index, alpha, beta] = GetParam();
  const auto [M, N, K] = kCases[index];
  Rng rng(42);
  const std::vector<float> A = random_values(M * K, rng), B = random_values(K * N, rng);
  std::vector<float> C = random_values(M * N, rng);
  const std::vector<float> C0 = C;
  auto a = [&](int64_t i, int64_t k) { return ta ? A[k * M + i] : A[i * K + k]; };
  auto b = [&](int64_t k, int64_t j) { return tb ? B[j * K + k] : B[k * N + j]; };
  ops::gemm_bfloat16(ta ? Transpose::kYes : Transpose::kNo, tb ? Transpose::kYes : Transpose::kNo, M, N, K, alpha,
                     A.data(), ta ? M : K, B.data(), tb ? K : N, beta, C.data(), N);
  double farthest_from_float32 = 0;
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double expected = beta * double(C0[i * N + j]), unrounded = expected, magnitude = std::fabs(expected);
      for (int64_t k = 0; k < K; ++k) {
        const double term = double(rounded(a(i, k))) * rounded(b(k, j));
        expected += alpha * term;
        magnitude += std::fabs(alpha * term);
        unrounded += alpha * double(a(i, k)) * b(k, j);
      }
      // float32 accumulation in some order: within a few float32 steps of the total size.
      ASSERT_NEAR(C[i * N + j], expected, 1e-6 * magnitude + 1e-6) << i << "," << j;
      farthest_from_float32 = std::max(farthest_from_float32, std::fabs(expected - unrounded));
    }
  EXPECT_GT(farthest_from_float32, 1e-3) << "the inputs were not rounded to bf16";
}

INSTANTIATE_TEST_SUITE_P(TransposesScalesAndShapes, GemmBFloat16Test,
                         ::testing::Combine(::testing::Bool(), ::testing::Bool(), ::testing::Values(0, 1, 2),
                                            ::testing::Values(1.0f, 0.5f), ::testing::Values(0.0f, 1.0f, -0.25f)));

TEST(GemmBFloat16, EmptySumScalesC) {
  std::vector<float> C{1, 2, 3, 4};
  ops::gemm_bfloat16(Transpose::kNo, Transpose::kNo, 2, 2, 0, 1.0f, nullptr, 1, nullptr, 2, 0.5f, C.data(), 2);
  EXPECT_EQ(C, (std::vector<float>{0.5f, 1, 1.5f, 2}));
}

TEST(GemmBFloat16, RefusesShortLeadingDimensions) {
  std::vector<float> A(64), B(64), C(64);
  EXPECT_THROW(ops::gemm_bfloat16(Transpose::kNo, Transpose::kNo, 8, 8, 8, 1.0f, A.data(), 4, B.data(), 8, 0.0f,
                                  C.data(), 8),
               ValueError);
}

// Under a mixed_bfloat16 scope gemm hands large products to gemm_bfloat16 and keeps in
// float32 the small ones (below 16K multiply-adds) and those whose inputs are used too few
// times to pay for rounding them (M·N < 8·(M + N): a matrix-vector product, a batch of a
// few rows, a layer of a few units); the scope ends with the block.
TEST(GemmBFloat16, GemmFollowsThePrecisionScope) {
  Rng rng(3);
  auto run = [&](int64_t M, int64_t N, int64_t K, bool bf16_kernel, bool scoped) {
    Rng local(11);
    const std::vector<float> A = random_values(M * K, local), B = random_values(K * N, local);
    std::vector<float> C(M * N);
    if (bf16_kernel) {
      ops::gemm_bfloat16(Transpose::kNo, Transpose::kNo, M, N, K, 1.0f, A.data(), K, B.data(), N, 0.0f, C.data(), N);
    } else if (scoped) {
      const ops::PrecisionScope scope(ops::Precision::kMixedBFloat16);
      EXPECT_EQ(ops::current_precision(), ops::Precision::kMixedBFloat16);
      ops::gemm(Transpose::kNo, Transpose::kNo, M, N, K, 1.0f, A.data(), K, B.data(), N, 0.0f, C.data(), N);
    } else {
      ops::gemm(Transpose::kNo, Transpose::kNo, M, N, K, 1.0f, A.data(), K, B.data(), N, 0.0f, C.data(), N);
    }
    return C;
  };
  EXPECT_EQ(run(64, 64, 64, false, true), run(64, 64, 64, true, false)) << "a large product, scoped";
  EXPECT_NE(run(64, 64, 64, false, true), run(64, 64, 64, false, false));
  EXPECT_EQ(run(16, 16, 16, false, true), run(16, 16, 16, false, false)) << "a small product stays float32";
  EXPECT_EQ(run(1, 512, 512, false, true), run(1, 512, 512, false, false)) << "one row stays float32";
  EXPECT_EQ(run(8, 512, 256, false, true), run(8, 512, 256, false, false)) << "8 rows stay float32";
  EXPECT_EQ(run(128, 4, 256, false, true), run(128, 4, 256, false, false)) << "4 columns stay float32";
  EXPECT_EQ(run(9, 72, 64, false, true), run(9, 72, 64, true, false)) << "9·72 = 8·81: bf16";
  EXPECT_EQ(run(8, 256, 64, false, true), run(8, 256, 64, false, false)) << "8·256 < 8·264: float32";
  EXPECT_EQ(ops::current_precision(), ops::Precision::kFloat32);
}

TEST(Precision, NamesAndErrors) {
  EXPECT_EQ(ops::parse_precision("float32"), ops::Precision::kFloat32);
  EXPECT_EQ(ops::parse_precision("mixed_bfloat16"), ops::Precision::kMixedBFloat16);
  EXPECT_STREQ(ops::precision_name(ops::Precision::kMixedBFloat16), "mixed_bfloat16");
  try {
    ops::parse_precision("bfloat16");
    FAIL() << "no error";
  } catch (const ValueError& error) {
    EXPECT_NE(std::string(error.what()).find("'bfloat16'"), std::string::npos) << error.what();
    EXPECT_NE(std::string(error.what()).find("mixed_bfloat16"), std::string::npos) << error.what();
  }
}

TEST(Precision, Bf16OnlyWhereTheProcessorHasIt) {
  const bool has = ops::processor_has_bf16();
  EXPECT_EQ(has, ops::bf16_instructions() != "none");
  EXPECT_EQ(ops::effective_precision(ops::Precision::kMixedBFloat16),
            has ? ops::Precision::kMixedBFloat16 : ops::Precision::kFloat32);
  EXPECT_EQ(ops::effective_precision(ops::Precision::kFloat32), ops::Precision::kFloat32);
  if (isa_capped_to("AVX2") || isa_capped_to("AVX512_CORE")) {
    EXPECT_FALSE(has) << "oneDNN was held below bf16";
  }
  std::printf("bf16 instructions here: %s\n", ops::bf16_instructions().c_str());
}

}  // namespace gemm_bfloat16_test
