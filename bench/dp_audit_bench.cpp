// The DP self-audit's figures on a W2-sized model (docs/SECURITY.md): for each claimed ε,
// the audited lower bound from two training runs and the time. Synthetic rows of
// Fashion-MNIST's shape (28×28 pixels in [0, 1], 10 classes from a fixed linear map), since
// the audit's power rests on the steps and the model, not on the pictures.
// Usage: dp_audit_bench [rows=10000] [epochs=2] [eps list: 1,2,4,8]
#include <citadel/citadel.hpp>
#include <citadel/privacy/dp_audit.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>

#include "workload_models.hpp"

using namespace citadel;

int main(int argc, char** argv) {
  const int64_t rows = argc > 1 ? std::atoll(argv[1]) : 10000;
  const int epochs = argc > 2 ? std::atoi(argv[2]) : 2;
  std::vector<double> epsilons{1, 2, 4, 8};
  if (argc > 3) {
    epsilons.clear();
    std::stringstream list(argv[3]);
    for (std::string item; std::getline(list, item, ',');) epsilons.push_back(std::stod(item));
  }
  random::set_seed(1);
  Tensor x = random::uniform({rows, 28, 28, 1}, 0.0f, 1.0f), y({rows, 1});
  const Tensor map = random::normal({784, 10});
  for (int64_t i = 0; i < rows; ++i) {
    int best = 0;
    double best_score = -1e30;
    for (int c = 0; c < 10; ++c) {
      double score = 0;
      for (int64_t p = 0; p < 784; ++p) score += double(x[i * 784 + p]) * map[p * 10 + c];
      if (score > best_score) best_score = score, best = c;
    }
    y[i] = float(best);
  }
  std::printf("W2 (784-256-128-10, %lld parameters), %lld rows, batch 256, %d epochs, 2 runs, 1000 gradient and 64 "
              "input canaries, 95 %% confidence\n",
              static_cast<long long>(bench::mlp_model(256).parameters().trainable_size()), static_cast<long long>(rows), epochs);
  std::printf("%-8s %-8s %-7s %-7s %-16s %-11s %-11s %-11s %-8s %-8s\n", "claimed", "lower", "ratio", "σ", "strongest",
              "Dirac", "input", "final loss", "train s", "audit s");
  for (double epsilon : epsilons) {
    const auto start = std::chrono::steady_clock::now();
    const DpAuditResult r = audit_private_training(
        [] {
          random::set_seed(7);
          return Model(bench::mlp_model(256));
        },
        x, y, {.epochs = epochs, .batch_size = 256, .verbose = 0},
        {.l2_norm_clip = 1.0f, .target_epsilon = epsilon, .delta = 1e-5},
        {.gradient_canaries = 1000, .input_canaries = 64, .runs = 2});
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    // The canaries' bounds: threshold / one run.
    std::printf("%-8.3f %-8.3f %-7.3f %-7.3f %-16s %.2f/%.2f   %.2f/%.2f   %.2f/%.2f   %-8.1f %-8.1f (total %.1f s)\n",
                r.claimed_epsilon, r.epsilon_lower_bound, r.epsilon_lower_bound / r.claimed_epsilon, r.noise_multiplier,
                r.strongest.c_str(), r.gradient_threshold.epsilon, r.gradient_one_run.epsilon, r.input_threshold.epsilon,
                r.input_one_run.epsilon, r.final_model_threshold.epsilon, r.final_model_one_run.epsilon,
                r.training_seconds, r.audit_seconds, seconds);
    std::fflush(stdout);
  }
}
