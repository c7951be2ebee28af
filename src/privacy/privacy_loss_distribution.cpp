// Discretized privacy loss distributions of the Poisson-subsampled Gaussian, composed by FFT,
// every approximation on the side of less privacy loss (so the ε found is a lower bound).
//
// One step, sensitivity 1, noise σ, rate q: with the row, x ~ P = (1 − q)·N(0, σ²) + q·N(1, σ²);
// without it, x ~ Q = N(0, σ²). The loss L(x) = log P(x)/Q(x) = log(1 − q + q·e^{(2x − 1)/(2σ²)})
// rises with x, so its distribution is the distribution of x pushed through it: the mass of a
// grid cell [kh, (k + 1)h) is a difference of Gaussian CDFs at the cell's ends, put at kh.
// "Remove" is L under P, "add" is −L under Q; δ(ε) = E[(1 − e^{ε − L_total})₊].
#include "citadel/privacy/privacy_loss_distribution.hpp"

#include <algorithm>
#include <cmath>
#include <complex>
#include <limits>
#include <vector>

#include "citadel/core/error.hpp"
#include "citadel/core/fft.hpp"
#include "citadel/privacy/normal_tails.hpp"
#include "fft_convolution.hpp"

namespace citadel {
namespace {

constexpr double kTailMass = 1e-30;  // mass beyond this in a step's tail is dropped
constexpr int kMaxLogSize = 23;      // 2^23 grid points: 128 MiB of complex doubles

using Complex = std::complex<double>;

struct Step {
  double q, sigma;
  // The x at which L(x) = l (−∞ below L's infimum log(1 − q)).
  double x_at(double l) const {
    const double inner = std::exp(l) - (1.0 - q);
    if (inner <= 0) return -std::numeric_limits<double>::infinity();
    return sigma * sigma * std::log(inner / q) + 0.5;
  }
  // P[x ≥ t] and P[x ≤ t] under the mixture P, and under Q.
  double p_above(double t) const {
    return (1 - q) * normal_upper_tail(t / sigma) + q * normal_upper_tail((t - 1) / sigma);
  }
  double p_below(double t) const {
    return (1 - q) * normal_lower_tail(t / sigma) + q * normal_lower_tail((t - 1) / sigma);
  }
  double q_above(double t) const { return normal_upper_tail(t / sigma); }
  double q_below(double t) const { return normal_lower_tail(t / sigma); }
};

// One step's discretized loss: mass[i] at the value (first + i)·h.
struct Grid {
  int64_t first = 0;
  std::vector<double> mass;
};

// The mass of x in [a, b) under a distribution with the given tails, from whichever tail is
// small there (a difference of two numbers near 1 would lose the digits that matter).
template <typename Above, typename Below>
double mass_between(double a, double b, const Above& above, const Below& below) {
  if (b <= a) return 0.0;
  if (a >= 0) return std::max(0.0, above(a) - above(b));
  return std::max(0.0, below(b) - below(a));
}

// "Remove": L under P. Cells from the lowest with mass up to where P's upper tail is spent.
Grid remove_grid(const Step& step, double h) {
  Grid grid;
  const double floor_loss = step.q < 1 ? std::log1p(-step.q) : -std::numeric_limits<double>::infinity();
  int64_t k = std::isfinite(floor_loss) ? int64_t(std::floor(floor_loss / h)) : 0;
  if (!std::isfinite(floor_loss))  // q = 1: L is unbounded below; start where P's lower tail is spent
    while (step.p_below(step.x_at((k - 1) * h)) > kTailMass) k -= std::max<int64_t>(1, -k / 4 + 1);
  grid.first = k;
  auto above = [&](double t) { return step.p_above(t); };
  auto below = [&](double t) { return step.p_below(t); };
  for (;; ++k) {
    const double a = step.x_at(k * h), b = step.x_at((k + 1) * h);
    grid.mass.push_back(mass_between(a, b, above, below));
    if (std::isfinite(b) && step.p_above(b) < kTailMass) break;
  }
  return grid;
}

// "Add": −L under Q. The loss −L is at most −log(1 − q); its cell [kh, (k + 1)h) is x in
// (x_at(−(k + 1)h), x_at(−kh)]. Cells from the highest down to where Q's upper tail is spent.
Grid add_grid(const Step& step, double h) {
  const double ceiling = step.q < 1 ? -std::log1p(-step.q) : std::numeric_limits<double>::infinity();
  int64_t k = std::isfinite(ceiling) ? int64_t(std::floor(ceiling / h)) : 0;
  if (!std::isfinite(ceiling))
    while (step.q_below(step.x_at(-(k + 1) * h)) > kTailMass) k += std::max<int64_t>(1, k / 4 + 1);
  auto above = [&](double t) { return step.q_above(t); };
  auto below = [&](double t) { return step.q_below(t); };
  std::vector<double> descending;
  for (;; --k) {
    const double a = step.x_at(-(k + 1) * h), b = step.x_at(-k * h);
    descending.push_back(mass_between(a, b, above, below));
    if (std::isfinite(a) && step.q_above(a) < kTailMass) break;
  }
  Grid grid;
  grid.first = k;
  grid.mass.assign(descending.rbegin(), descending.rend());
  return grid;
}

// log E[e^{λ·loss}] of one step's grid.
double log_moment(const Grid& grid, double h, double lambda) {
  double peak = -std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < grid.mass.size(); ++i)
    if (grid.mass[i] > 0) peak = std::max(peak, lambda * double(grid.first + int64_t(i)) * h);
  double sum = 0;
  for (size_t i = 0; i < grid.mass.size(); ++i)
    if (grid.mass[i] > 0) sum += grid.mass[i] * std::exp(lambda * double(grid.first + int64_t(i)) * h - peak);
  return peak + std::log(sum);
}

// The T-fold sum's distribution on a window of values, with a bound on the mass the window
// misses (which the circular convolution would have folded back into it).
struct Composed {
  double first_value = 0, h = 0;
  std::vector<double> mass;
  double missed = 0;
};

Composed compose(const Grid& grid, double h, int64_t steps) {
  // Window [low, high]: the sum's mass outside is bounded by Chernoff on the grid's moments.
  const double log_bound = std::log(1e-18);
  double low = 0, high = 0, missed = 0;
  {
    double best_low = -std::numeric_limits<double>::infinity(), best_high = std::numeric_limits<double>::infinity();
    for (double lambda : {0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0}) {
      // P[S ≥ u] ≤ exp(T·log M(λ) − λu): u for the bound; likewise P[S ≤ v] with −λ.
      const double up = (double(steps) * log_moment(grid, h, lambda) - log_bound) / lambda;
      const double down = -(double(steps) * log_moment(grid, h, -lambda) - log_bound) / lambda;
      if (std::isfinite(up)) best_high = std::min(best_high, up);
      if (std::isfinite(down)) best_low = std::max(best_low, down);
    }
    low = std::max(best_low, double(steps) * double(grid.first) * h);
    high = std::min(best_high, double(steps) * double(grid.first + int64_t(grid.mass.size()) - 1) * h);
    missed = 2 * std::exp(log_bound);
  }
  const int64_t span = int64_t(std::ceil((high - low) / h)) + 1;
  int log_size = 1;
  while ((int64_t(1) << log_size) < std::max<int64_t>(span, int64_t(grid.mass.size())) + 1) ++log_size;
  CITADEL_CHECK(log_size <= kMaxLogSize, ValueError, "privacy loss distribution: the grid needs 2^", log_size,
                " points; use a coarser grid_step");
  const size_t n = size_t(1) << log_size;
  std::vector<Complex> data(n, 0.0);
  for (size_t i = 0; i < grid.mass.size(); ++i) data[i] = grid.mass[i];
  fft(data, false);
  for (Complex& value : data) value = std::abs(value) == 0.0 ? 0.0 : std::exp(double(steps) * std::log(value));
  fft(data, true);
  // Entry j (mod n) holds the sums of index j = Σ (k_t − first), value (j + T·first)·h.
  Composed composed;
  composed.h = h;
  const int64_t offset = steps * grid.first;
  const int64_t j_low = int64_t(std::floor(low / h)) - offset;
  composed.first_value = double(j_low + offset) * h;
  composed.mass.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const int64_t j = j_low + int64_t(i);
    composed.mass[i] = data[size_t(((j % int64_t(n)) + int64_t(n)) % int64_t(n))].real();
  }
  // Round-off of the transforms: about 1e-16 per operation on masses summing to 1.
  composed.missed = missed + 1e-15 * double(log_size) * std::sqrt(double(n));
  return composed;
}

// δ(ε) = Σ_{v > ε} m_v·(1 − e^{ε − v}) = A(ε) − e^ε·B(ε) with suffix sums A of m_v and B of
// m_v·e^{−v}: each ε then costs one look-up.
class DeltaCurve {
 public:
  explicit DeltaCurve(const Composed& composed)
      : first_(composed.first_value), h_(composed.h), missed_(composed.missed) {
    const size_t n = composed.mass.size();
    mass_.assign(n + 1, 0.0L);
    weighted_.assign(n + 1, 0.0L);
    for (size_t i = n; i-- > 0;) {
      const long double m = std::max(0.0, composed.mass[i]);  // round-off can leave tiny negatives
      mass_[i] = mass_[i + 1] + m;
      weighted_[i] = weighted_[i + 1] + m * std::exp(-(long double)(first_ + double(i) * h_));
    }
  }
  double operator()(double epsilon) const {
    const double position = (epsilon - first_) / h_;
    size_t i = position < 0 ? 0 : size_t(std::floor(position)) + 1;  // the first value above ε
    if (i >= mass_.size()) return 0.0;
    const long double delta = mass_[i] - std::exp((long double)epsilon) * weighted_[i];
    return std::max(0.0, double(delta) - missed_);
  }

 private:
  double first_, h_, missed_;
  std::vector<long double> mass_, weighted_;
};

double choose_grid_step(int64_t steps, const LossDistributionOptions& options) {
  if (options.grid_step > 0) return options.grid_step;
  return std::max(0.04 / double(steps), 1e-6);
}

void check_arguments(double q, double sigma, int64_t steps) {
  CITADEL_CHECK(q > 0 && q <= 1, ValueError, "privacy loss distribution: the sampling rate must lie in (0, 1], got ",
                q);
  CITADEL_CHECK(sigma > 0 && std::isfinite(sigma), ValueError,
                "privacy loss distribution: the noise multiplier must be positive, got ", sigma);
  CITADEL_CHECK(steps >= 1, ValueError, "privacy loss distribution: need at least one step, got ", steps);
}

struct BothDirections {
  Composed remove, add;
};

BothDirections both(double q, double sigma, int64_t steps, double h) {
  const Step step{q, sigma};
  for (;; h *= 2) {  // a grid that does not fit is made coarser (a looser, still lower, bound)
    try {
      return {compose(remove_grid(step, h), h, steps), compose(add_grid(step, h), h, steps)};
    } catch (const ValueError&) {
      if (h > 1) throw;
    }
  }
}

}  // namespace

double subsampled_gaussian_delta_lower(double q, double sigma, int64_t steps, double epsilon,
                                       const LossDistributionOptions& options) {
  check_arguments(q, sigma, steps);
  const BothDirections d = both(q, sigma, steps, choose_grid_step(steps, options));
  return std::max(DeltaCurve(d.remove)(epsilon), DeltaCurve(d.add)(epsilon));
}

double subsampled_gaussian_epsilon_lower(double q, double sigma, int64_t steps, double delta,
                                         const LossDistributionOptions& options) {
  check_arguments(q, sigma, steps);
  CITADEL_CHECK(delta > 0 && delta < 1, ValueError, "privacy loss distribution: delta must lie in (0, 1), got ", delta);
  const BothDirections d = both(q, sigma, steps, choose_grid_step(steps, options));
  double epsilon = 0;
  for (const Composed* composed : {&d.remove, &d.add}) {
    const DeltaCurve delta_at(*composed);
    if (delta_at(0) <= delta) continue;
    double low = 0, high = 1;
    while (delta_at(high) > delta) high *= 2;
    for (int iteration = 0; iteration < 60; ++iteration) {
      const double middle = 0.5 * (low + high);
      (delta_at(middle) > delta ? low : high) = middle;
    }
    epsilon = std::max(epsilon, low);  // δ(low) > δ: the steps are not (low, δ)-DP
  }
  return epsilon;
}

}  // namespace citadel
