// `citadel serve --smoothing SIGMA,N`: a served classifier that answers with its smoothed
// classifier's PREDICT (randomized smoothing, Cohen, Rosenfeld and Kolter 2019) — per row, N
// noisy copies of the encoded row, and the top class only where a binomial test rejects a
// tie with the runner-up at level α, else an explicit abstention. Never probabilities.
#pragma once

#include <cstdint>
#include <string>

namespace citadel::serving {

struct RequestLimits;
struct ServedModel;

struct SmoothingPolicy {
  double sigma = 0.25;    // the noise's standard deviation, in the model's input units
  int64_t samples = 1000; // N: noisy copies per row, so N forward passes a row
  double alpha = 0.001;   // an answer (not an abstention) is wrong with probability at most α

  // "SIGMA,N" with the level `alpha`; ValueError naming `where` when σ is not positive and
  // finite, α not in (0, ½], or N outside [fewest_samples(α), kMaxSmoothingSamples].
  static SmoothingPolicy parse(const std::string& text, double alpha, const std::string& where);
  std::string text() const;  // "SIGMA,N" and α, for messages
  // Below this many copies PREDICT abstains whatever the model says: even N copies of one
  // class give the tie test a p-value 2·2^−N > α.
  static int64_t fewest_samples(double alpha);
  // A request's rows: each costs N forward passes, and --max-rows bounds the passes.
  int64_t max_rows(const RequestLimits& limits) const;
};

// The most copies a row may take: the largest n of Cohen et al.'s runs.
inline constexpr int64_t kMaxSmoothingSamples = 100'000;

// ValueError naming the flag and the model unless `served` can be served smoothed: a saved
// classifier (not a schema-less tensor model, not regression) of one float input and one
// output, under the label output policy, with N within `limits.max_rows` (one row's passes).
void check_smoothable(const ServedModel& served, const RequestLimits& limits);

}  // namespace citadel::serving
