// The PLD accountant of the Poisson-subsampled Gaussian mechanism (see the header). One
// step's δ(ε) has a closed form in Gaussian tails; the discrete PLD takes the slopes of the
// chords of δ as a function of u = e^ε between grid points (δ is convex in u), and puts at
// each grid point the mass that turns the slope there: u_j · (s_j − s_{j−1}).
#include "citadel/privacy/pld_accountant.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "citadel/core/error.hpp"
#include "citadel/privacy/normal_tails.hpp"
#include "fft_convolution.hpp"

namespace citadel {
namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();
// A composed distribution longer than this many grid points is refused (a coarser grid, or
// the RDP accountant, answers instead): 2^24 doubles is 128 MiB.
constexpr size_t kLargestGrid = size_t(1) << 24;

// The mixture (1 − q)·N(0, σ²) + q·N(1, σ²) against N(0, σ²): the loss at x is
// log((1 − q) + q·exp((2x − 1)/(2σ²))), increasing in x. `removed` is the pair
// (mixture, N(0, σ²)) — a row removed —, else (N(0, σ²), mixture) with the loss negated.
struct SampledGaussian {
  double q, sigma;

  // x where the mixture's loss equals `loss` (needs e^loss > 1 − q).
  double x_of(double loss) const { return sigma * sigma * (std::log(std::expm1(loss) + q) - std::log(q)) + 0.5; }
  double loss_of(double x) const {
    const double exponent = (2 * x - 1) / (2 * sigma * sigma);
    return exponent > 0 ? std::log(q) + exponent + std::log1p((1 - q) / q * std::exp(-exponent))
                        : std::log1p(-q + q * std::exp(exponent));
  }

  // δ(ε) = sup_S P(S) − e^ε Q(S), attained at S = {loss > ε}.
  double delta(double epsilon, bool removed) const {
    if (removed) {
      if (epsilon <= std::log1p(-q)) return -std::expm1(epsilon);  // every x has a larger loss
      const double x = x_of(epsilon);
      // (1 − q)Φ̄(x/σ) + qΦ̄((x−1)/σ) − e^ε Φ̄(x/σ), with (e^ε − 1 + q) grouped for accuracy.
      return std::max(
          0.0, q * normal_upper_tail((x - 1) / sigma) - (std::expm1(epsilon) + q) * normal_upper_tail(x / sigma));
    }
    if (epsilon >= -std::log1p(-q)) return 0.0;  // the negated loss never exceeds −log(1 − q)
    const double x = x_of(-epsilon);             // negated loss > ε  ⟺  x < x_of(−ε)
    const double e = std::exp(epsilon);
    return std::max(0.0, (1 - e * (1 - q)) * normal_lower_tail(x / sigma) - e * q * normal_lower_tail((x - 1) / sigma));
  }
};

// z with P(N(0,1) > z) <= p (p in (0, 0.5)), by bisection.
double upper_quantile(double p) {
  double low = 0, high = 40;
  for (int i = 0; i < 200 && high - low > 1e-12; ++i) {
    const double middle = (low + high) / 2;
    (normal_upper_tail(middle) > p ? low : high) = middle;
  }
  return high;
}

}  // namespace

PrivacyLossDistribution PrivacyLossDistribution::poisson_gaussian(double q, double noise_multiplier, bool remove,
                                                                  double interval, double tail) {
  CITADEL_CHECK(q > 0 && q <= 1, ValueError, "PLD accountant: the sampling rate must lie in (0, 1], got ", q);
  CITADEL_CHECK(noise_multiplier > 0 && std::isfinite(noise_multiplier), ValueError,
                "PLD accountant: the noise multiplier must be positive, got ", noise_multiplier);
  CITADEL_CHECK(interval > 0 && tail > 0 && tail < 0.5, ValueError, "PLD accountant: bad interval ", interval,
                " or tail ", tail);
  const SampledGaussian mechanism{q, noise_multiplier};
  // The grid: where the loss's own tails fall below `tail` (x beyond 1 + zσ or below −zσ
  // has probability below it under either distribution).
  const double z = upper_quantile(tail);
  double low, high;
  // Without sampling (q = 1) the loss is unbounded below as well: cut there too.
  const double least = q < 1 ? std::log1p(-q) : mechanism.loss_of(-z * noise_multiplier);
  if (remove) {
    low = least;  // the least loss: δ is exactly 1 − e^ε below it
    high = mechanism.loss_of(1 + z * noise_multiplier);
  } else {
    low = -mechanism.loss_of(1 + z * noise_multiplier);
    high = -least;  // the greatest loss: δ is 0 above it
  }
  const int64_t first = int64_t(std::floor(low / interval)), last = int64_t(std::ceil(high / interval));
  const int64_t points = last - first + 1;
  CITADEL_CHECK(size_t(points) <= kLargestGrid, ValueError, "PLD accountant: ", points, " grid points at interval ",
                interval, "; use a coarser interval");
  std::vector<double> u(static_cast<size_t>(points)), delta(static_cast<size_t>(points));
  for (int64_t i = 0; i < points; ++i) {
    const double epsilon = double(first + i) * interval;
    u[size_t(i)] = std::exp(epsilon);
    delta[size_t(i)] = mechanism.delta(epsilon, remove);
  }
  PrivacyLossDistribution pld;
  pld.interval_ = interval;
  pld.offset_ = first;
  pld.pmf_.assign(size_t(points), 0.0);
  // Chord slopes of δ(u): s_0 from (0, 1) to the first point, s_j between points j and
  // j+1, and 0 after the last (δ constant: the mass at ∞).
  double previous_slope = -(1 - delta[0]) / u[0];
  for (int64_t j = 0; j < points; ++j) {
    const double slope =
        j + 1 < points ? (delta[size_t(j + 1)] - delta[size_t(j)]) / (u[size_t(j)] * std::expm1(interval)) : 0.0;
    pld.pmf_[size_t(j)] = std::max(0.0, u[size_t(j)] * (slope - previous_slope));  // convexity: >= 0 up to rounding
    previous_slope = slope;
  }
  pld.infinity_mass_ = delta.back();
  pld.truncate(tail);
  return pld;
}

void PrivacyLossDistribution::truncate(double tail) {
  for (double& mass : pmf_) mass = std::max(mass, 0.0);  // FFT rounding below zero
  // The top: mass above the cut goes to an infinite loss.
  size_t end = pmf_.size();
  double top = 0;
  while (end > 1 && top + pmf_[end - 1] <= tail) top += pmf_[--end];
  infinity_mass_ = std::min(1.0, infinity_mass_ + top);
  // The bottom: mass below the cut moves up onto the first point kept.
  size_t begin = 0;
  double bottom = 0;
  while (begin + 1 < end && bottom + pmf_[begin] <= tail) bottom += pmf_[begin++];
  pmf_[begin] += bottom;
  pmf_.erase(pmf_.begin() + std::ptrdiff_t(end), pmf_.end());
  pmf_.erase(pmf_.begin(), pmf_.begin() + std::ptrdiff_t(begin));
  offset_ += int64_t(begin);
}

PrivacyLossDistribution PrivacyLossDistribution::compose(const PrivacyLossDistribution& other, double tail) const {
  CITADEL_CHECK(interval_ == other.interval_, ValueError, "PLD accountant: composing grids of different intervals");
  CITADEL_CHECK(pmf_.size() + other.pmf_.size() <= kLargestGrid, ValueError,
                "PLD accountant: the composed distribution exceeds ", kLargestGrid, " grid points");
  PrivacyLossDistribution result;
  result.interval_ = interval_;
  result.offset_ = offset_ + other.offset_;
  result.pmf_ = detail::convolve(pmf_, other.pmf_);
  result.infinity_mass_ = std::min(1.0, infinity_mass_ + other.infinity_mass_ - infinity_mass_ * other.infinity_mass_);
  result.truncate(tail);
  return result;
}

PrivacyLossDistribution PrivacyLossDistribution::self_compose(int64_t times, double tail) const {
  CITADEL_CHECK(times >= 0, ValueError, "PLD accountant: a negative number of compositions (", times, ")");
  PrivacyLossDistribution result;  // releases nothing: all mass at loss 0
  result.interval_ = interval_;
  PrivacyLossDistribution power = *this;
  for (bool first = true; times > 0; times >>= 1, first = false) {
    if (!first) power = power.compose(power, tail);
    if (times & 1) result = result.compose(power, tail);
  }
  return result;
}

double PrivacyLossDistribution::delta_for_epsilon(double epsilon) const {
  double delta = infinity_mass_;
  for (size_t i = pmf_.size(); i-- > 0;) {
    const double loss = double(offset_ + int64_t(i)) * interval_;
    if (loss <= epsilon) break;
    delta += pmf_[i] * -std::expm1(epsilon - loss);
  }
  return std::min(1.0, delta);
}

double PrivacyLossDistribution::epsilon_for_delta(double delta) const {
  if (infinity_mass_ > delta) return kInfinity;
  // Scanning down from the top: on [loss_i, loss_{i+1}] δ(ε) = A − e^ε·B, where A and B sum
  // the mass (and mass × e^−loss) above loss_i, the infinite loss included in A.
  double above = infinity_mass_, weighted = 0;
  for (size_t i = pmf_.size(); i-- > 0;) {
    const double loss = double(offset_ + int64_t(i)) * interval_;
    if (loss <= 0) break;
    if (above - std::exp(loss) * weighted >= delta) return weighted > 0 ? std::log((above - delta) / weighted) : loss;
    above += pmf_[i];
    weighted += pmf_[i] * std::exp(-loss);
  }
  // δ(ε) at ε = 0 and below the grid's positive part.
  return above - weighted > delta && weighted > 0 ? std::max(0.0, std::log((above - delta) / weighted)) : 0.0;
}

double dp_sgd_pld_epsilon(double q, double noise_multiplier, int64_t steps, double delta, double interval) {
  CITADEL_CHECK(delta > 0 && delta < 1, ValueError, "PLD accountant: delta must lie in (0, 1), got ", delta);
  CITADEL_CHECK(steps >= 0, ValueError, "PLD accountant: steps must be >= 0, got ", steps);
  if (steps == 0 || q == 0) return 0;
  if (noise_multiplier == 0) return kInfinity;
  CITADEL_CHECK(q > 0 && q <= 1, ValueError, "PLD accountant: the sampling rate must lie in (0, 1], got ", q);
  // Each truncation may add its tail to δ: together at most 1e-4 of δ.
  int compositions = 2;
  for (int64_t t = steps; t > 0; t >>= 1) compositions += 2;
  const double tail = std::min(1e-13, 1e-4 * delta / (2 * compositions));
  double epsilon = 0;
  for (bool remove : {true, false}) {
    const PrivacyLossDistribution step =
        PrivacyLossDistribution::poisson_gaussian(q, noise_multiplier, remove, interval, tail);
    epsilon = std::max(epsilon, step.self_compose(steps, tail).epsilon_for_delta(delta));
  }
  return epsilon;
}

}  // namespace citadel
