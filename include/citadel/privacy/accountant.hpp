// Privacy accounting for DP-SGD. Two sound accountants, and the tighter of the two:
// - Rényi differential privacy of the sampled Gaussian mechanism (Mironov 2017; Mironov,
//   Talwar and Zhang 2019, "Rényi Differential Privacy of the Sampled Gaussian Mechanism",
//   Sections 3.2-3.3), composed over steps and converted to (ε, δ) with the bound of Balle
//   et al. 2020 ("Hypothesis testing interpretations and Rényi differential privacy",
//   Theorem 21) — TensorFlow Privacy's and Opacus's RDP accountant, over orders up to
//   about 10,000 rather than their 63 (which overstates ε several times at large noise);
// - the privacy loss distribution (citadel/privacy/pld_accountant.hpp), as
//   Google's dp_accounting PLD accountant.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

namespace citadel {

// The default orders α: 1.01, ..., 1.09, 1.1, 1.2, ..., 10.9, the integers 11 to 256, then
// integers about 5 % apart up to 10,000. Where the best of them is past 256, the integers
// between its neighbours are searched too, so the order is in effect continuous there.
const std::vector<double>& default_rdp_orders();
// The orders of Opacus and TensorFlow Privacy: 1.1, 1.2, ..., 10.9, 12, 13, ..., 63.
const std::vector<double>& opacus_rdp_orders();

// RDP at order α (> 1) of one step of the Gaussian mechanism with noise multiplier σ,
// applied to a Poisson sample with rate q: ε_α = log(A_α) / (α − 1).
double sampled_gaussian_rdp(double q, double noise_multiplier, double order);

struct PrivacySpent {
  double epsilon = 0;      // the tightest of the accountants computed
  double order = 0;        // the RDP order α attaining rdp_epsilon
  double rdp_epsilon = 0;  // the RDP accountant's ε
  double pld_epsilon = 0;  // the PLD accountant's ε (∞ where not computed)
  const char* accountant = "RDP";  // which gave `epsilon`: "RDP" or "PLD"
};

enum class Accountant {
  kTightest,  // both, and the smaller ε (each is a sound upper bound)
  kRdp,       // Rényi DP alone (fast: microseconds to milliseconds)
  kPld,       // the privacy loss distribution alone
};

// (ε, δ) after `steps` steps with Poisson sampling rate q and noise multiplier σ.
PrivacySpent dp_sgd_epsilon(double q, double noise_multiplier, int64_t steps, double delta,
                            Accountant accountant = Accountant::kTightest);
// The RDP accountant alone, over the given orders.
PrivacySpent dp_sgd_rdp_epsilon(double q, double noise_multiplier, int64_t steps, double delta,
                                const std::vector<double>& orders = default_rdp_orders());

// One step's RDP at each order for one (q, σ), kept so that ε after any number of steps
// costs one pass over the orders instead of one series per order (the per-step series are
// most of an accountant's time: ~25 ms for the default orders). Not safe to share between
// threads: the integer orders searched past 256 are remembered as they are computed.
class StepRdp {
 public:
  StepRdp(double q, double noise_multiplier, const std::vector<double>& orders = default_rdp_orders());
  // dp_sgd_rdp_epsilon(q, noise_multiplier, steps, delta, orders), bit for bit.
  PrivacySpent spent(int64_t steps, double delta) const;

 private:
  double at_integer_order(int64_t order) const;
  double q_, noise_multiplier_;
  std::vector<double> orders_, step_rdp_;
  mutable std::map<int64_t, double> refined_;
};

// The smallest noise multiplier (to 0.1 % relative) whose ε after `steps` steps is at most
// target_epsilon by `accountant`; throws ValueError when even σ = 1000 does not reach it.
double dp_sgd_noise_multiplier(double q, int64_t steps, double delta, double target_epsilon,
                               Accountant accountant = Accountant::kTightest);

// ε epoch after epoch of `steps_per_epoch` steps, composing the PLD one epoch at a time
// (one convolution an epoch rather than a composition from scratch).
class EpochAccountant {
 public:
  EpochAccountant(double q, double noise_multiplier, int64_t steps_per_epoch, double delta,
                  Accountant accountant = Accountant::kTightest);
  ~EpochAccountant();
  EpochAccountant(const EpochAccountant&);
  EpochAccountant(EpochAccountant&&) noexcept;
  EpochAccountant& operator=(EpochAccountant other) noexcept;
  // ε after the epoch that has just ended (the first call: after one epoch).
  PrivacySpent next_epoch();

 private:
  struct Composed;
  double q_, noise_multiplier_, delta_;
  int64_t steps_per_epoch_;
  Accountant accountant_;
  int epochs_ = 0;
  std::unique_ptr<Composed> composed_;  // the PLDs so far, made at the first epoch
};

// ε after each of `epochs` epochs (EpochAccountant's figures).
std::vector<PrivacySpent> dp_sgd_epsilon_by_epoch(double q, double noise_multiplier, int64_t steps_per_epoch,
                                                  int epochs, double delta,
                                                  Accountant accountant = Accountant::kTightest);

// The ε of a training run: after `epochs` epochs, composed epoch by epoch as the training
// logs compose it, so that the run's report, its logs, `citadel dp-budget` and Python's
// compute_epsilon print the same figure (a composition of all the steps at once agrees
// to about 1e-6 relative: rounding and tails cut in another order).
PrivacySpent dp_sgd_epsilon_after_epochs(double q, double noise_multiplier, int64_t steps_per_epoch, int epochs,
                                         double delta);
// The smallest noise multiplier (to 0.1 %) whose dp_sgd_epsilon_after_epochs is at most
// target_epsilon.
double dp_sgd_noise_multiplier_for_epochs(double q, int64_t steps_per_epoch, int epochs, double delta,
                                          double target_epsilon);

}  // namespace citadel
