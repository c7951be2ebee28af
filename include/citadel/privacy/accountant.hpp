// Privacy accounting for DP-SGD: Rényi differential privacy of the sampled Gaussian
// mechanism (Mironov 2017; Mironov, Talwar and Zhang 2019, "Rényi Differential Privacy
// of the Sampled Gaussian Mechanism", Sections 3.2-3.3), composed over steps and
// converted to (ε, δ) with the bound of Balle et al. 2020 ("Hypothesis testing
// interpretations and Rényi differential privacy", Theorem 21) — the computation of
// TensorFlow Privacy's RDP accountant and of Opacus's RDPAccountant, over their orders.
#pragma once

#include <cstdint>
#include <vector>

namespace citadel {

// The default orders α: 1.1, 1.2, ..., 10.9, then 12, 13, ..., 63 (as Opacus and
// TensorFlow Privacy).
const std::vector<double>& default_rdp_orders();

// RDP at order α (> 1) of one step of the Gaussian mechanism with noise multiplier σ,
// applied to a Poisson sample with rate q: ε_α = log(A_α) / (α − 1).
double sampled_gaussian_rdp(double q, double noise_multiplier, double order);

struct PrivacySpent {
  double epsilon = 0;
  double order = 0;  // the order α attaining it
};

// (ε, δ) after `steps` steps with sampling rate q and noise multiplier σ.
PrivacySpent dp_sgd_epsilon(double q, double noise_multiplier, int64_t steps, double delta,
                            const std::vector<double>& orders = default_rdp_orders());

// The smallest noise multiplier (to 0.1 % relative) whose ε after `steps` steps is at most
// target_epsilon; throws ValueError when even σ = 1000 does not reach it.
double dp_sgd_noise_multiplier(double q, int64_t steps, double delta, double target_epsilon,
                               const std::vector<double>& orders = default_rdp_orders());

}  // namespace citadel
