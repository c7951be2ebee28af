// Privacy-loss-distribution (PLD) accounting for DP-SGD: the distribution of the privacy
// loss of one step of the Poisson-subsampled Gaussian mechanism, discretized pessimistically
// by "connecting the dots" (Doroshenko, Ghazi, Kamath, Kumar and Manurangsi 2022: masses on a
// grid of losses whose δ(ε) equals the mechanism's at every grid point and lies above it
// between them), composed over steps by convolution (FFT), and read as (ε, δ) — the method
// of Google's dp_accounting PLD accountant. Tails beyond the grid are moved pessimistically:
// mass above it to an infinite loss (counted whole in δ), mass below it up onto its lowest
// point. Both neighbouring relations are composed (a row removed, and a row added) and the
// larger ε is reported.
#pragma once

#include <cstdint>
#include <vector>

namespace citadel {

class PrivacyLossDistribution {
 public:
  // One step: Poisson sampling at rate q (1: every row, every step), Gaussian noise of standard deviation
  // noise_multiplier × the sensitivity. `remove`: the pair (mechanism on D, on D minus a
  // row), else the pair for an added row. Losses on a grid `interval` apart; the mass beyond
  // the grid at each end is at most `tail`.
  static PrivacyLossDistribution poisson_gaussian(double q, double noise_multiplier, bool remove, double interval,
                                                  double tail);

  // The PLD of running this mechanism and then `other` (independent noise): the
  // convolution of the two. Mass below `tail` at either end is moved as above.
  PrivacyLossDistribution compose(const PrivacyLossDistribution& other, double tail) const;
  // `times` runs of this mechanism (times >= 0; 0: the mechanism that releases nothing).
  PrivacyLossDistribution self_compose(int64_t times, double tail) const;

  // δ(ε) = P(loss = ∞) + E[(1 − e^(ε − loss))₊]: the hockey-stick divergence at e^ε.
  double delta_for_epsilon(double epsilon) const;
  // The smallest ε >= 0 with δ(ε) <= delta (∞ when the infinite loss alone exceeds it).
  double epsilon_for_delta(double delta) const;

  int64_t size() const { return int64_t(pmf_.size()); }
  double infinity_mass() const { return infinity_mass_; }

 private:
  double interval_ = 1;
  int64_t offset_ = 0;       // pmf_[i] is the mass at loss (offset_ + i) × interval_
  std::vector<double> pmf_{1.0};
  double infinity_mass_ = 0;

  void truncate(double tail);
};

// ε of `steps` steps of DP-SGD (Poisson rate q, noise multiplier σ) at δ by the PLD
// accountant: the larger of the removed-row and added-row compositions. `interval`: the
// grid of losses (finer is tighter and slower; any interval gives an upper bound).
double dp_sgd_pld_epsilon(double q, double noise_multiplier, int64_t steps, double delta, double interval = 1e-4);

}  // namespace citadel
