// ops::gemm against a plain triple loop, for every transpose combination.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "citadel/core/random.hpp"
#include "citadel/ops/gemm.hpp"

namespace gemm_test {

using namespace citadel;
using ops::Transpose;

namespace {

std::vector<float> random_values(size_t count, Rng& rng) {
  std::vector<float> values(count);
  for (auto& v : values) v = static_cast<float>(rng.normal());
  return values;
}

}  // namespace

struct Size {
  int64_t M, N, K;
};
// Each path of ops::gemm: narrow (N <= 8 and 8 < N <= 16, with rows in blocks of 4 and a
// remainder, or 1-3 rows with B as stored) and wide small products on citadel's own loops,
// and a large one through oneDNN.
const Size kSizes[] = {{7, 5, 9}, {9, 13, 6}, {6, 40, 7}, {70, 50, 90}, {1, 10, 8}, {3, 16, 11}};

class GemmTest : public ::testing::TestWithParam<std::tuple<bool, bool, int, float>> {};

TEST_P(GemmTest, MatchesNaiveProduct) {
  const auto [ta, tb, size, beta] = GetParam();
  const auto [M, N, K] = kSizes[size];
  Rng rng(42);
  // Stored shapes: A is (M, K) or (K, M) when transposed; B is (K, N) or (N, K).
  const std::vector<float> A = random_values(M * K, rng), B = random_values(K * N, rng);
  std::vector<float> C = random_values(M * N, rng);
  const std::vector<float> C0 = C;
  const float alpha = 0.75f;
  auto a = [&](int64_t i, int64_t k) { return ta ? A[k * M + i] : A[i * K + k]; };
  auto b = [&](int64_t k, int64_t j) { return tb ? B[j * K + k] : B[k * N + j]; };
  ops::gemm(ta ? Transpose::kYes : Transpose::kNo, tb ? Transpose::kYes : Transpose::kNo, M, N, K, alpha,
            A.data(), ta ? M : K, B.data(), tb ? K : N, beta, C.data(), N);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double expected = beta * C0[i * N + j];
      for (int64_t k = 0; k < K; ++k) expected += alpha * double(a(i, k)) * b(k, j);
      EXPECT_NEAR(C[i * N + j], expected, 1e-3) << i << "," << j;
    }
}

INSTANTIATE_TEST_SUITE_P(AllTransposes, GemmTest,
                         ::testing::Combine(::testing::Bool(), ::testing::Bool(), ::testing::Values(0, 1, 2, 3, 4, 5),
                                            ::testing::Values(0.0f, 1.0f, 0.5f)));

// A row's result must not depend on how many rows share its product: a single-row predict
// gives the bits the same row gets in a batch. Narrow products of 1-3 rows and of more run
// different loops (B read as stored, or padded first), which must sum alike.
TEST(Gemm, NarrowRowsGiveTheSameBitsAloneAsInABatch) {
  Rng rng(5);
  for (const int64_t N : {1, 7, 8, 10, 16})
    for (const float beta : {0.0f, 1.0f, 0.5f}) {
      const int64_t K = 23, M = 9;
      const std::vector<float> A = random_values(M * K, rng), B = random_values(K * N, rng);
      const std::vector<float> C0 = random_values(M * N, rng);
      std::vector<float> batch = C0;
      ops::gemm(Transpose::kNo, Transpose::kNo, M, N, K, 0.75f, A.data(), K, B.data(), N, beta, batch.data(), N);
      for (const int64_t rows : {1, 2, 3})
        for (int64_t first = 0; first + rows <= M; first += rows) {
          std::vector<float> part(C0.begin() + first * N, C0.begin() + (first + rows) * N);
          ops::gemm(Transpose::kNo, Transpose::kNo, rows, N, K, 0.75f, A.data() + first * K, K, B.data(), N, beta,
                    part.data(), N);
          for (int64_t e = 0; e < rows * N; ++e)
            ASSERT_EQ(part[size_t(e)], batch[size_t(first * N + e)])
                << "N=" << N << " beta=" << beta << " rows " << first << "+" << rows << " element " << e;
        }
    }
}

TEST(Gemm, BackendIsNamed) { EXPECT_NE(std::string(ops::gemm_backend()), ""); }

}  // namespace gemm_test
