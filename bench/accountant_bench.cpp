// The privacy accountants' cost on the shapes DP-SGD training meets (docs/PERFORMANCE.md,
// "Accountants"): one PLD composition of 14,062 steps, the per-epoch ledger of a 30-epoch
// W4-sized run, and --target-epsilon's search for the noise. Median of `reps` runs each.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>

#include "citadel/privacy/accountant.hpp"

using namespace citadel;

namespace {

double median_ms(int reps, const std::function<double()>& work, double* figure) {
  std::vector<double> times;
  for (int r = 0; r < reps; ++r) {
    const auto start = std::chrono::steady_clock::now();
    *figure = work();
    times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::max(1, std::atoi(argv[1])) : 5;
  const double q = 256.0 / 60000;  // W4: batch 256 of Fashion-MNIST's 60,000 rows
  double figure = 0;
  double ms = median_ms(reps, [] { return dp_sgd_epsilon(0.0043, 4.0, 14062, 1e-5).epsilon; }, &figure);
  std::printf("PLD and RDP, q 0.0043, sigma 4, 14,062 steps: epsilon %.6f in %.1f ms\n", figure, ms);
  ms = median_ms(reps, [&] { return dp_sgd_epsilon_by_epoch(q, 1.1, 235, 30, 1e-5).back().epsilon; }, &figure);
  std::printf("ledger of 30 epochs of 235 steps, sigma 1.1: epsilon %.6f in %.1f ms\n", figure, ms);
  ms = median_ms(reps, [&] { return dp_sgd_noise_multiplier_for_epochs(q, 235, 30, 1e-5, 3.0); }, &figure);
  std::printf("noise multiplier for epsilon 3 over those 30 epochs: %.5f in %.1f ms\n", figure, ms);
}
