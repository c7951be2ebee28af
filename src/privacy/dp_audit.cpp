// The DP self-audit: canaries in, private training runs observed step by step, scores out,
// and the scores turned into lower bounds on ε (see dp_audit.hpp for the design).
#include "citadel/privacy/dp_audit.hpp"

#include <algorithm>
#include <boost/math/distributions/chi_squared.hpp>
#include <chrono>
#include <cmath>
#include <numeric>

#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"
#include "citadel/core/secure_random.hpp"
#include "citadel/metrics/normality.hpp"
#include "citadel/privacy/privacy_loss_distribution.hpp"

namespace citadel {
namespace {

using Clock = std::chrono::steady_clock;

constexpr double kSensitivityTolerance = 1e-4;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// log of the likelihood ratio of one step's observation z (in units of the noise) between
// "in" — shifted by a with probability q — and "out": log(1 − q + q·e^{a·z − a²/2}).
double step_log_likelihood_ratio(double z, double a, double q) {
  const double t = a * z - 0.5 * a * a;
  if (t > 0) return t + std::log(q + (1 - q) * std::exp(-t));
  return std::log1p(q * std::expm1(t));
}

// The lower `alpha` quantile of a chi-square with `dof` degrees of freedom (Wilson–Hilferty
// beyond a million, where it is exact to far more digits than the bound needs).
double chi_square_lower_quantile(double dof, double alpha) {
  if (dof <= 1e6) return boost::math::quantile(boost::math::chi_squared_distribution<double>(dof), alpha);
  const double c = 2.0 / (9.0 * dof);
  return dof * std::pow(1.0 - c + normal_quantile(alpha) * std::sqrt(c), 3);
}

int64_t rows_of(ConstTensorView x) { return x.rank() == 0 ? 0 : x.shape(0); }

// Rows of `a` followed by the listed rows of `b` (same shape but the first axis).
Tensor append_rows(ConstTensorView a, ConstTensorView b, const std::vector<int64_t>& rows) {
  const int64_t width = a.numel() / std::max<int64_t>(1, a.shape(0));
  Shape shape = a.shape();
  shape[0] = a.shape(0) + int64_t(rows.size());
  Tensor joined(shape);
  std::copy(a.data(), a.data() + a.numel(), joined.data());
  for (size_t i = 0; i < rows.size(); ++i)
    std::copy(b.data() + rows[i] * width, b.data() + (rows[i] + 1) * width, joined.data() + a.numel() + int64_t(i) * width);
  return joined;
}

std::vector<int64_t> distinct_below(int64_t count, int64_t bound, Rng& rng) {
  std::vector<int64_t> all(static_cast<size_t>(bound));
  std::iota(all.begin(), all.end(), 0);
  for (int64_t i = 0; i < count; ++i) std::swap(all[size_t(i)], all[size_t(i + int64_t(rng.below(uint64_t(bound - i))))]);
  all.resize(static_cast<size_t>(count));
  return all;
}

// Each canary's evidence, step by step: its projection of the noisy sum (in units of the
// noise) and the shift an "in" canary would give it. Scored after the run, against a
// baseline: the median of its projections over the steps around (the training rows'
// gradients project onto a canary's direction too, and drift as the model learns; a canary
// sampled in about q of the steps leaves the median where the rows put it).
class CanaryTrace {
 public:
  explicit CanaryTrace(size_t canaries) : z_(canaries), shift_(canaries) {}
  void add(size_t canary, double z, double shift) {
    z_[canary].push_back(float(z));
    shift_[canary].push_back(float(shift));
  }
  // Σ over steps of the log likelihood ratio of the projection above its local baseline.
  std::vector<double> scores(double q) const {
    std::vector<double> scores(z_.size(), 0.0);
    std::vector<float> window;
    for (size_t k = 0; k < z_.size(); ++k) {
      const std::vector<float>& z = z_[k];
      const size_t steps = z.size();
      for (size_t t = 0; t < steps; ++t) {
        if (shift_[k][t] <= 0) continue;  // the canary added nothing this step (no gradient)
        const size_t from = t >= kHalfWindow ? t - kHalfWindow : 0, to = std::min(steps, t + kHalfWindow + 1);
        window.assign(z.begin() + std::ptrdiff_t(from), z.begin() + std::ptrdiff_t(to));
        std::nth_element(window.begin(), window.begin() + std::ptrdiff_t(window.size() / 2), window.end());
        scores[k] += step_log_likelihood_ratio(double(z[t]) - double(window[window.size() / 2]), shift_[k][t], q);
      }
    }
    return scores;
  }

 private:
  static constexpr size_t kHalfWindow = 10;
  std::vector<std::vector<float>> z_, shift_;
};

// The auditor inside one run: called with every step's noisy sum (on rank 0).
class StepObserver {
 public:
  struct Setup {
    Model* model = nullptr;  // the model being trained (its weights: those the sum was computed at)
    Model* shadow = nullptr;  // a model of the same architecture for the canaries' gradients
    const Tensor* canary_x = nullptr;
    const Tensor* canary_y = nullptr;
    const std::vector<uint8_t>* gradient_in = nullptr;
    std::vector<int64_t> coordinates;  // of the gradient canaries
    double q = 0, sigma = 0, clip = 0;
    uint64_t sampling_seed = 0;
  };

  explicit StepObserver(Setup setup)
      : s_(std::move(setup)), sampling_(s_.sampling_seed), gradient_trace_(s_.coordinates.size()),
        input_trace_(size_t(rows_of(*s_.canary_x))) {}

  void operator()(std::span<const float> sum) {
    const Clock::time_point start = Clock::now();
    const size_t width = sum.size();
    if (odd_.empty()) odd_.assign(width, 0.0), even_.assign(width, 0.0);
    CITADEL_ASSERT(odd_.size() == width, "the noisy sums changed width during training");
    std::vector<double>& squares = (steps_ % 2 == 0) ? odd_ : even_;  // step 1, 3, ... select; 2, 4, ... judge
    for (size_t p = 0; p < width; ++p) squares[p] += double(sum[p]) * sum[p];
    ++steps_;
    const double noise = s_.sigma * s_.clip;
    // Dirac canaries: an "in" canary sampled this step adds C to its coordinate.
    const double a = s_.clip / noise;
    for (size_t k = 0; k < s_.coordinates.size(); ++k) {
      const bool sampled = sampling_.uniform_double() < s_.q;  // drawn for every canary, in or out
      double value = sum[size_t(s_.coordinates[k])];
      if (sampled && (*s_.gradient_in)[k]) value += s_.clip;
      gradient_trace_.add(k, value / noise, a);
    }
    score_input_canaries(sum, noise);
    seconds_ += seconds_since(start);
  }

  std::vector<double> gradient_scores() const { return gradient_trace_.scores(s_.q); }
  std::vector<double> input_scores() const { return input_trace_.scores(s_.q); }
  const std::vector<double>& odd_squares() const { return odd_; }
  const std::vector<double>& even_squares() const { return even_; }
  int64_t steps() const { return steps_; }
  double seconds() const { return seconds_; }

 private:
  // Each input canary's clipped gradient at the weights of this step, as the run should
  // have added it were the canary sampled; the sum projected onto its direction is the
  // step's evidence.
  void score_input_canaries(std::span<const float> sum, double noise) {
    const int64_t count = rows_of(*s_.canary_x);
    if (count == 0) return;
    Model& shadow = *s_.shadow;
    const auto weights = s_.model->parameters().values();
    std::copy(weights.begin(), weights.end(), shadow.parameters().values().begin());
    // Weight penalties are added after the noise, outside the sum: taken off the gradient.
    std::vector<float> penalty;
    if (shadow.parameters().trainable_size() > 0) {
      shadow.parameters().zero_grad();
      shadow.parameters().add_regularization_gradient();
      const auto grads = shadow.parameters().trainable_grads();
      if (std::any_of(grads.begin(), grads.end(), [](float g) { return g != 0.0f; })) penalty.assign(grads.begin(), grads.end());
    }
    const int64_t x_width = s_.canary_x->numel() / count, y_width = s_.canary_y->numel() / count;
    Shape x_shape = s_.canary_x->shape(), y_shape = s_.canary_y->shape();
    x_shape[0] = 1, y_shape[0] = 1;
    for (int64_t k = 0; k < count; ++k) {
      const ConstTensorView row_x(s_.canary_x->data() + k * x_width, x_shape);
      const ConstTensorView row_y(s_.canary_y->data() + k * y_width, y_shape);
      const double loss = shadow.compute_gradients(row_x, row_y);
      const auto grads = shadow.parameters().trainable_grads();
      double squared = 0, dot = 0;
      for (size_t p = 0; p < grads.size(); ++p) {
        const double g = double(grads[p]) - (penalty.empty() ? 0.0 : double(penalty[p]));
        squared += g * g;
        dot += g * double(sum[p]);
      }
      const double norm = std::sqrt(squared);
      // A row whose gradient is not finite contributes nothing in the run (it is dropped).
      if (!std::isfinite(loss) || !std::isfinite(norm) || norm == 0) {
        input_trace_.add(size_t(k), 0.0, 0.0);
        continue;
      }
      input_trace_.add(size_t(k), dot / norm / noise, norm / noise);
    }
  }

  Setup s_;
  Rng sampling_;
  CanaryTrace gradient_trace_, input_trace_;
  std::vector<double> odd_, even_;
  int64_t steps_ = 0;
  double seconds_ = 0;
};

// The black-box evidence: each input canary's loss under the final model (lower: more
// likely trained on), as −loss; a canary whose loss is not finite scores lowest.
void append_final_model_scores(Model& model, const Tensor& canary_x, const Tensor& canary_y, std::vector<double>& scores) {
  const int64_t count = rows_of(canary_x);
  if (count == 0) return;
  const int64_t x_width = canary_x.numel() / count, y_width = canary_y.numel() / count;
  Shape x_shape = canary_x.shape(), y_shape = canary_y.shape();
  x_shape[0] = 1, y_shape[0] = 1;
  for (int64_t k = 0; k < count; ++k) {
    const double loss = model.compute_gradients(ConstTensorView(canary_x.data() + k * x_width, x_shape),
                                                ConstTensorView(canary_y.data() + k * y_width, y_shape));
    scores.push_back(std::isfinite(loss) ? -loss : -INFINITY);
  }
}

// The sensitivity probe: the real DP-SGD step (fit with private_training, no noise, one row
// per batch) run on each input canary at `weights`; the norm of the sum it reports is what
// that row adds to a step's sum, which the accountant takes to be at most C. The largest.
double probe_sensitivity(const std::function<Model()>& make_model, std::span<const float> weights, const Tensor& canary_x,
                         const Tensor& canary_y, float clip) {
  const int64_t count = rows_of(canary_x);
  if (count == 0) return 0;
  Model probe = make_model();
  if (!probe.built()) probe.build(canary_x.shape().without_batch());
  // Empty `weights`: the first weights, those make_model gives (restored before every row,
  // since each probe steps the weights).
  const std::vector<float> start = weights.empty()
                                       ? std::vector<float>(probe.parameters().values().begin(), probe.parameters().values().end())
                                       : std::vector<float>(weights.begin(), weights.end());
  const int64_t x_width = canary_x.numel() / count, y_width = canary_y.numel() / count;
  Shape x_shape = canary_x.shape(), y_shape = canary_y.shape();
  x_shape[0] = 1, y_shape[0] = 1;
  double largest = 0, norm = 0;
  PrivateTraining step{.l2_norm_clip = clip, .noise_multiplier = 0.0f, .poisson_sampling = false,
                       .record_training_metrics = false};
  step.observe_noisy_sum = [&norm](std::span<const float> sum) {
    double squared = 0;
    for (float g : sum) squared += double(g) * g;
    norm = std::sqrt(squared);
  };
  for (int64_t k = 0; k < count; ++k) {
    std::copy(start.begin(), start.end(), probe.parameters().values().begin());
    norm = 0;
    probe.fit(ConstTensorView(canary_x.data() + k * x_width, x_shape), ConstTensorView(canary_y.data() + k * y_width, y_shape),
              {.epochs = 1, .batch_size = 1, .verbose = 0, .private_training = step});
    if (std::isfinite(norm)) largest = std::max(largest, norm);
  }
  return largest;
}

// Pools one run's noise evidence: the sum of squares on even steps over the coordinates
// whose odd-step squares are smallest (chosen independently of what they are judged on).
void add_noise_evidence(const StepObserver& observer, double share, long double& squares, double& dof) {
  const auto& odd = observer.odd_squares();
  const auto& even = observer.even_squares();
  const int64_t judged_steps = observer.steps() / 2;
  if (odd.empty() || judged_steps == 0) return;
  std::vector<size_t> order(odd.size());
  std::iota(order.begin(), order.end(), 0);
  const size_t keep = std::max<size_t>(1, size_t(double(order.size()) * share));
  std::nth_element(order.begin(), order.begin() + std::ptrdiff_t(keep - 1), order.end(),
                   [&](size_t a, size_t b) { return odd[a] < odd[b]; });
  for (size_t i = 0; i < keep; ++i) squares += even[order[i]];
  dof += double(keep) * double(judged_steps);
}

void split_by_membership(const std::vector<double>& scores, const std::vector<uint8_t>& in, std::vector<double>& in_scores,
                         std::vector<double>& out_scores) {
  for (size_t i = 0; i < scores.size(); ++i) (in[i] ? in_scores : out_scores).push_back(scores[i]);
}

}  // namespace

void make_input_canaries(ConstTensorView x, ConstTensorView y, int64_t count, uint64_t seed, Tensor& canary_x,
                         Tensor& canary_y) {
  const int64_t rows = rows_of(x);
  CITADEL_CHECK(rows >= 2 && rows_of(y) == rows, ValueError, "DP audit: need at least 2 rows with labels to craft canaries, got ",
                rows, " rows and ", rows_of(y), " labels");
  const int64_t width = x.numel() / rows, y_width = y.numel() / rows;
  std::vector<float> low(size_t(width), INFINITY), high(size_t(width), -INFINITY);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < width; ++j) {
      const float v = x[r * width + j];
      if (!std::isfinite(v)) continue;
      low[size_t(j)] = std::min(low[size_t(j)], v), high[size_t(j)] = std::max(high[size_t(j)], v);
    }
  Shape x_shape = x.shape(), y_shape = y.shape();
  x_shape[0] = count, y_shape[0] = count;
  canary_x = Tensor(x_shape);
  canary_y = Tensor(y_shape);
  Rng rng(seed);
  for (int64_t k = 0; k < count; ++k) {
    for (int64_t j = 0; j < width; ++j) {
      const bool finite = std::isfinite(low[size_t(j)]);
      canary_x[k * width + j] = finite ? (rng.below(2) ? high[size_t(j)] : low[size_t(j)]) : 0.0f;
    }
    const int64_t label_row = int64_t(rng.below(uint64_t(rows)));
    std::copy(y.data() + label_row * y_width, y.data() + (label_row + 1) * y_width, canary_y.data() + k * y_width);
  }
}

DpAuditResult audit_private_training(const std::function<Model()>& make_model, ConstTensorView x, ConstTensorView y,
                                     const FitOptions& fit, const DPSGDOptions& dp, const DpAuditOptions& audit,
                                     const PrivateTrainer& trainer) {
  CITADEL_CHECK(make_model, ValueError, "DP audit: make_model must return a fresh compiled model");
  CITADEL_CHECK(audit.runs >= 1 && audit.gradient_canaries >= 0 && audit.input_canaries >= 0, ValueError,
                "DP audit: need runs >= 1 and canary counts >= 0");
  CITADEL_CHECK(audit.gradient_canaries + audit.input_canaries > 0 || audit.release, ValueError,
                "DP audit: no canaries to audit with");
  CITADEL_CHECK(audit.confidence > 0 && audit.confidence < 1, ValueError, "DP audit: confidence must lie in (0, 1), got ",
                audit.confidence);
  CITADEL_CHECK(fit.validation_split == 0, ValueError,
                "DP audit: give validation_data rather than validation_split (the audit counts the training rows itself)");
  CITADEL_CHECK(audit.noise_coordinates > 0 && audit.noise_coordinates <= 1, ValueError,
                "DP audit: noise_coordinates must lie in (0, 1]");
  const Collective& group = fit.communicator ? *fit.communicator : Collective::single();
  const bool root = group.is_root();
  CITADEL_CHECK(!audit.release || group.size() == 1, ValueError, "DP audit: audit a pipeline's release in one process");

  // The seed of everything secret to the run: agreed by all ranks, from rank 0.
  std::array<uint64_t, 1> seed{audit.seed ? *audit.seed : SecureRng::from_os().next_u64()};
  group.broadcast(std::span<uint64_t>(seed));
  Rng rng(seed[0]);

  Tensor canary_x, canary_y;
  if (audit.input_canaries > 0) {
    // Canaries are crafted from every rank's rows alike: from rank 0's, sent to the others.
    make_input_canaries(x, y, audit.input_canaries, rng.next_u64(), canary_x, canary_y);
    group.broadcast(std::span<float>(canary_x.data(), size_t(canary_x.numel())));
    group.broadcast(std::span<float>(canary_y.data(), size_t(canary_y.numel())));
  } else {
    Shape x_shape = x.shape(), y_shape = y.shape();
    x_shape[0] = 0, y_shape[0] = 0;
    canary_x = Tensor(x_shape), canary_y = Tensor(y_shape);
  }

  DpAuditResult result;
  result.runs = audit.runs;
  result.confidence = audit.confidence;
  result.delta = dp.delta;
  result.l2_norm_clip = dp.l2_norm_clip;
  long double noise_squares = 0;
  double noise_dof = 0;
  const Clock::time_point audit_start = Clock::now();
  double training_seconds = 0, probe_seconds = 0;

  for (int run = 0; run < audit.runs; ++run) {
    std::vector<uint8_t> gradient_in(size_t(audit.gradient_canaries)), input_in(size_t(audit.input_canaries));
    for (auto& bit : gradient_in) bit = uint8_t(rng.below(2));
    for (auto& bit : input_in) bit = uint8_t(rng.below(2));
    // This rank's rows: its data and the "in" canaries it holds. fit wants each rank to hold
    // its stride share of all the rows, so the canaries fill each rank's shortfall in turn.
    std::vector<int64_t> in_canaries, mine;
    for (int64_t k = 0; k < audit.input_canaries; ++k)
      if (input_in[size_t(k)]) in_canaries.push_back(k);
    std::vector<double> held(size_t(group.size()), 0.0);
    held[size_t(group.rank())] = double(rows_of(x));
    group.all_reduce_sum(std::span<double>(held));
    const int64_t all_rows = int64_t(std::accumulate(held.begin(), held.end(), 0.0)) + int64_t(in_canaries.size());
    int64_t next = 0;
    for (int r = 0; r < group.size(); ++r) {
      const int64_t share = (all_rows - r + group.size() - 1) / group.size();
      const int64_t need = std::clamp<int64_t>(share - int64_t(held[size_t(r)]), 0, int64_t(in_canaries.size()) - next);
      if (r == group.rank()) mine.assign(in_canaries.begin() + next, in_canaries.begin() + next + need);
      next += need;
    }
    const Tensor run_x = append_rows(x, canary_x, mine), run_y = append_rows(y, canary_y, mine);
    double global_rows = double(run_x.shape(0));
    group.all_reduce_sum(std::span<double>(&global_rows, 1));

    const PrivateTrainingPlan plan = plan_private_training(int64_t(global_rows), fit.batch_size, fit.epochs, dp);
    if (run == 0) {
      result.claimed_epsilon = plan.epsilon;
      result.sampling_rate = plan.sampling_rate;
      result.noise_multiplier = plan.noise_multiplier;
      result.steps = plan.steps_per_epoch * fit.epochs;
      result.training_rows = int64_t(global_rows);
    }
    Model model = make_model();
    std::optional<Model> shadow;
    std::optional<StepObserver> observer;
    const uint64_t coordinate_seed = rng.next_u64(), sampling_seed = rng.next_u64();
    if (root) {
      shadow.emplace(make_model());
      const int64_t trainable = shadow->parameters().trainable_size();
      CITADEL_CHECK(audit.gradient_canaries <= trainable, ValueError, "DP audit: ", audit.gradient_canaries,
                    " gradient canaries for a model of ", trainable, " trainable parameters; use at most that many");
      Rng coordinate_rng(coordinate_seed);
      observer.emplace(StepObserver::Setup{.model = &model, .shadow = &*shadow, .canary_x = &canary_x,
                                           .canary_y = &canary_y, .gradient_in = &gradient_in,
                                           .coordinates = distinct_below(audit.gradient_canaries, trainable, coordinate_rng),
                                           .q = plan.sampling_rate, .sigma = plan.noise_multiplier,
                                           .clip = dp.l2_norm_clip, .sampling_seed = sampling_seed});
    }
    DPSGDOptions run_dp = dp;
    run_dp.noise_multiplier = plan.noise_multiplier;  // the planned noise, as the accountant assumes it
    run_dp.target_epsilon = std::nullopt;
    if (root) {
      const auto user_observer = dp.observe_noisy_sum;
      StepObserver* auditor = &*observer;
      run_dp.observe_noisy_sum = [auditor, user_observer](std::span<const float> sum) {
        (*auditor)(sum);
        if (user_observer) user_observer(sum);
      };
    }
    const Clock::time_point run_start = Clock::now();
    if (trainer) trainer(model, run_x, run_y, fit, run_dp);
    else fit_private(model, run_x, run_y, fit, run_dp);
    const double run_seconds = seconds_since(run_start);
    // Every rank probes its own step (a defect may live on one rank only), at the first
    // weights and the last; rank 0 takes the largest.
    {
      const Clock::time_point probe_start = Clock::now();
      const std::vector<float> last(model.parameters().values().begin(), model.parameters().values().end());
      std::vector<double> largest(size_t(group.size()), 0.0);
      largest[size_t(group.rank())] = std::max(probe_sensitivity(make_model, {}, canary_x, canary_y, dp.l2_norm_clip),
                                               probe_sensitivity(make_model, last, canary_x, canary_y, dp.l2_norm_clip));
      group.all_reduce_sum(std::span<double>(largest));
      for (size_t r = 0; r < largest.size(); ++r)
        if (largest[r] > result.probed_sensitivity) result.probed_sensitivity = largest[r], result.probed_rank = int(r);
      probe_seconds += seconds_since(probe_start);
    }
    if (!root) {
      training_seconds += run_seconds;
      continue;
    }
    training_seconds += run_seconds - observer->seconds();
    CITADEL_CHECK(observer->steps() > 0, ValueError,
                  "DP audit: the run reported no noisy sums (its trainer must train with dp.observe_noisy_sum)");
    const std::vector<double> gradient_scores = observer->gradient_scores(), input_scores = observer->input_scores();
    for (size_t k = 0; k < gradient_in.size(); ++k)
      result.gradient_scores.push_back(gradient_scores[k]), result.gradient_in.push_back(gradient_in[k]);
    for (size_t k = 0; k < input_in.size(); ++k)
      result.input_scores.push_back(input_scores[k]), result.input_in.push_back(input_in[k]);
    append_final_model_scores(model, canary_x, canary_y, result.final_model_scores);
    add_noise_evidence(*observer, audit.noise_coordinates, noise_squares, noise_dof);
  }
  result.training_seconds = training_seconds;
  if (!root) return result;

  // The release: one canary per trial, the data's own release as the reference.
  if (audit.release) {
    CITADEL_CHECK(audit.release_trials >= 4, ValueError, "DP audit: release_trials must be at least 4");
    Tensor release_x, release_y;
    if (canary_x.shape(0) > 0) release_x = canary_x, release_y = canary_y;
    else make_input_canaries(x, y, 16, rng.next_u64(), release_x, release_y);
    const std::vector<double> reference = audit.release(x, y);
    for (int trial = 0; trial < audit.release_trials; ++trial) {
      const bool in = rng.below(2) != 0;
      const int64_t canary = int64_t(rng.below(uint64_t(release_x.shape(0))));
      const std::vector<double> released =
          in ? audit.release(append_rows(x, release_x, {canary}), append_rows(y, release_y, {canary})) : audit.release(x, y);
      double distance = 0;
      const size_t common = std::min(released.size(), reference.size());
      for (size_t i = 0; i < common; ++i) distance += std::pow(released[i] - reference[i], 2);
      distance = released.size() == reference.size() ? std::sqrt(distance) : INFINITY;
      result.release_scores.push_back(std::isnan(distance) ? INFINITY : distance);
      result.release_in.push_back(in);
    }
  }

  // Each bound at its share of 1 − confidence, so that all hold together.
  int bounds = 0;
  if (audit.gradient_canaries > 0) bounds += 2;
  if (audit.input_canaries > 0) bounds += 4;
  if (noise_dof > 0) bounds += 1;
  if (audit.release) bounds += 1;
  const double each = 1.0 - (1.0 - audit.confidence) / double(std::max(bounds, 1));
  auto consider = [&](double epsilon, const char* name) {
    if (epsilon > result.epsilon_lower_bound) result.epsilon_lower_bound = epsilon, result.strongest = name;
  };
  if (audit.gradient_canaries > 0) {
    std::vector<double> in, out;
    split_by_membership(result.gradient_scores, result.gradient_in, in, out);
    result.gradient_threshold = threshold_epsilon_lower_bound(in, out, dp.delta, each, rng.next_u64());
    result.gradient_one_run = one_run_epsilon_lower_bound(result.gradient_scores, result.gradient_in, dp.delta, each);
    consider(result.gradient_threshold.epsilon, "gradient canaries (threshold)");
    consider(result.gradient_one_run.epsilon, "gradient canaries (one run)");
  }
  if (audit.input_canaries > 0) {
    std::vector<double> in, out;
    split_by_membership(result.input_scores, result.input_in, in, out);
    result.input_threshold = threshold_epsilon_lower_bound(in, out, dp.delta, each, rng.next_u64());
    result.input_one_run = one_run_epsilon_lower_bound(result.input_scores, result.input_in, dp.delta, each);
    consider(result.input_threshold.epsilon, "input canaries (threshold)");
    consider(result.input_one_run.epsilon, "input canaries (one run)");
    in.clear(), out.clear();
    split_by_membership(result.final_model_scores, result.input_in, in, out);
    result.final_model_threshold = threshold_epsilon_lower_bound(in, out, dp.delta, each, rng.next_u64());
    result.final_model_one_run = one_run_epsilon_lower_bound(result.final_model_scores, result.input_in, dp.delta, each);
    consider(result.final_model_threshold.epsilon, "input canaries' final loss (threshold)");
    consider(result.final_model_one_run.epsilon, "input canaries' final loss (one run)");
  }
  if (noise_dof > 0) {
    const double variance = double(noise_squares) / chi_square_lower_quantile(noise_dof, 1.0 - each);
    result.measured_noise_multiplier = std::sqrt(variance) / dp.l2_norm_clip;
    // A row that adds more than C to the sum (the probe) faces the noise as a smaller one.
    // (Float rounding leaves a clipped row a few ulps over C: not a defect.) The effective
    // noise is floored at 0.5, which keeps the privacy loss distribution cheap; the bound
    // only weakens (ε falls as the noise grows).
    const bool over = result.probed_sensitivity > dp.l2_norm_clip * (1 + kSensitivityTolerance);
    const double sensitivity = over ? result.probed_sensitivity : dp.l2_norm_clip;
    double effective = result.measured_noise_multiplier * dp.l2_norm_clip / sensitivity;
    if (over) effective = std::max(effective, std::min(0.5, result.measured_noise_multiplier));
    if (effective > 0)
      result.noise_epsilon = subsampled_gaussian_epsilon_lower(result.sampling_rate, effective, result.steps, dp.delta);
    consider(result.noise_epsilon, over ? "measured noise and probed sensitivity" : "measured noise");
  }
  if (audit.release) {
    std::vector<double> in, out;
    split_by_membership(result.release_scores, result.release_in, in, out);
    result.release = threshold_epsilon_lower_bound(in, out, dp.delta, each, rng.next_u64());
    consider(result.release.epsilon, "pipeline release");
  }
  result.contradicts_accountant = result.epsilon_lower_bound > result.claimed_epsilon;
  result.audit_seconds = seconds_since(audit_start) - training_seconds;
  return result;
}

}  // namespace citadel
