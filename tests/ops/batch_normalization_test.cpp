// The batch normalization kernels against plain two-pass loops in long double, on a batch
// large enough to be split into several chunks, and with the same bits at 1 and 2 threads.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "citadel/core/random.hpp"
#include "citadel/core/threads.hpp"
#include "citadel/ops/batch_normalization.hpp"

namespace batch_normalization_test {

using namespace citadel;

namespace {

constexpr int64_t kRows = 6000, kChannels = 24;  // 144k values: several chunks

// Channel c has mean 10⁴·(c − 12) and spread 0.1·(c + 1): a mean far from zero against the
// spread is where summing x and x² would lose the variance.
Tensor shifted_batch() {
  Tensor x = random::normal({kRows, kChannels});
  for (int64_t m = 0; m < kRows; ++m)
    for (int64_t c = 0; c < kChannels; ++c) x[m * kChannels + c] = 1e4f * float(c - 12) + 0.1f * float(c + 1) * x[m * kChannels + c];
  return x;
}

TEST(BatchNormKernels, StatisticsMatchATwoPassComputation) {
  const Tensor x = shifted_batch();
  std::vector<double> mean(kChannels), variance(kChannels), partials;
  ops::batch_norm_statistics(x.data(), kRows, kChannels, mean.data(), variance.data(), partials);
  for (int64_t c = 0; c < kChannels; ++c) {
    long double sum = 0, squares = 0;
    for (int64_t m = 0; m < kRows; ++m) sum += x[m * kChannels + c];
    const long double expected_mean = sum / kRows;
    for (int64_t m = 0; m < kRows; ++m) squares += (x[m * kChannels + c] - expected_mean) * (x[m * kChannels + c] - expected_mean);
    const long double expected_variance = squares / kRows;
    EXPECT_NEAR(mean[c], double(expected_mean), 1e-9 * std::abs(double(expected_mean)) + 1e-12) << c;
    EXPECT_NEAR(variance[c], double(expected_variance), 1e-9 * double(expected_variance)) << c;
  }
}

TEST(BatchNormKernels, GradientSumsAndInputGradientMatchPlainLoops) {
  const Tensor dy = random::normal({kRows, kChannels}), hat = random::normal({kRows, kChannels});
  std::vector<double> sum_dy(kChannels), sum_dy_hat(kChannels), partials;
  ops::batch_norm_gradient_sums(dy.data(), hat.data(), kRows, kChannels, sum_dy.data(), sum_dy_hat.data(), partials);
  std::vector<float> scale(kChannels), mean_dy(kChannels), mean_dy_hat(kChannels);
  for (int64_t c = 0; c < kChannels; ++c) {
    long double s = 0, sh = 0;
    for (int64_t m = 0; m < kRows; ++m) s += dy[m * kChannels + c], sh += (long double)dy[m * kChannels + c] * hat[m * kChannels + c];
    EXPECT_NEAR(sum_dy[c], double(s), 1e-9 * kRows);
    EXPECT_NEAR(sum_dy_hat[c], double(sh), 1e-9 * kRows);
    scale[c] = 0.5f + 0.1f * float(c), mean_dy[c] = float(s / kRows), mean_dy_hat[c] = float(sh / kRows);
  }
  Tensor dx(dy.shape()), dx_inference(dy.shape());
  ops::batch_norm_input_gradient(dy.data(), hat.data(), kRows, kChannels, scale.data(), mean_dy.data(),
                                 mean_dy_hat.data(), dx.data());
  ops::batch_norm_input_gradient(dy.data(), hat.data(), kRows, kChannels, scale.data(), nullptr, nullptr,
                                 dx_inference.data());
  for (int64_t i = 0; i < dy.numel(); ++i) {
    const int64_t c = i % kChannels;
    ASSERT_NEAR(dx[i], scale[c] * (dy[i] - mean_dy[c] - hat[i] * mean_dy_hat[c]), 1e-5f) << i;
    ASSERT_FLOAT_EQ(dx_inference[i], scale[c] * dy[i]) << i;
  }
}

// The chunks do not depend on the thread count: 2 threads give 1 thread's bits.
TEST(BatchNormKernels, TwoThreadsGiveTheSameBitsAsOne) {
  const Tensor x = shifted_batch(), dy = random::normal({kRows, kChannels});
  const std::vector<float> gamma(kChannels, 1.5f), beta(kChannels, -0.25f);
  const int previous = num_threads();
  std::vector<std::vector<double>> statistics, sums;
  std::vector<Tensor> outputs;
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    std::vector<double> mean(kChannels), variance(kChannels), sum_dy(kChannels), sum_dy_hat(kChannels), partials;
    ops::batch_norm_statistics(x.data(), kRows, kChannels, mean.data(), variance.data(), partials);
    std::vector<float> mean_f(kChannels), inverse_std(kChannels);
    for (int64_t c = 0; c < kChannels; ++c) mean_f[c] = float(mean[c]), inverse_std[c] = float(1 / std::sqrt(variance[c] + 1e-3));
    Tensor hat(x.shape()), y(x.shape());
    ops::batch_norm_apply(x.data(), kRows, kChannels, mean_f.data(), inverse_std.data(), gamma.data(), beta.data(),
                          hat.data(), y.data());
    ops::batch_norm_gradient_sums(dy.data(), hat.data(), kRows, kChannels, sum_dy.data(), sum_dy_hat.data(), partials);
    mean.insert(mean.end(), variance.begin(), variance.end());
    statistics.push_back(mean);
    sum_dy.insert(sum_dy.end(), sum_dy_hat.begin(), sum_dy_hat.end());
    sums.push_back(sum_dy);
    outputs.push_back(y);
  }
  set_num_threads(previous);
  EXPECT_EQ(statistics[0], statistics[1]);
  EXPECT_EQ(sums[0], sums[1]);
  for (int64_t i = 0; i < outputs[0].numel(); ++i) ASSERT_EQ(outputs[0][i], outputs[1][i]) << i;
}

}  // namespace

}  // namespace batch_normalization_test
