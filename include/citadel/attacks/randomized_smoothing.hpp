// Certified robustness by randomized smoothing (Cohen, Rosenfeld and Kolter, ICML 2019).
//
// The smoothed classifier g(x) = argmax_c P[f(x + δ) = c], δ ~ N(0, σ²I), of a base model f
// is robust around x by a theorem, not by an attack's failure: if the top class has
// probability at least p̲ > ½ under the noise, g predicts it everywhere within the ℓ2 radius
// σ·Φ⁻¹(p̲). CERTIFY and PREDICT below are their algorithms exactly: the class is chosen on
// n₀ noisy copies, its probability bounded below (one-sided Clopper–Pearson at level α) on n
// further copies, independent of the first; PREDICT abstains unless a two-sided binomial test
// of the top two counts rejects a tie at level α. A certificate is wrong with probability at
// most α; the radius is in the model's input units (pixels in [0, 1]; scaled features).
#pragma once

#include <cstdint>
#include <vector>

#include "citadel/attacks/adversarial.hpp"
#include "citadel/core/secure_random.hpp"
#include "citadel/core/tensor.hpp"
#include "citadel/model/model.hpp"

namespace citadel {

class Predictor;

struct SmoothingOptions {
  double sigma = 0.25;                  // the noise's standard deviation
  int64_t selection_samples = 100;      // n₀: noisy copies that choose the class
  int64_t estimation_samples = 100000;  // n: noisy copies that bound its probability
  double alpha = 0.001;                 // a certificate (or prediction) is wrong with probability ≤ α
  int64_t batch_size = 1000;            // noisy copies per forward pass
  // Row r draws from streams of its own: its certificate does not depend on the other rows
  // (the same seed and batch size give the same certificates).
  uint64_t seed = 0;
};

inline constexpr int64_t kAbstain = -1;

struct SmoothedCertificate {
  int64_t predicted_class = kAbstain;  // kAbstain when p̲ < ½
  double radius = 0;                   // the certified ℓ2 radius (0 when abstaining)
  double probability_lower = 0;        // p̲: the chosen class's probability, bounded below
  int64_t count = 0, samples = 0;      // the chosen class's count among the n estimation copies
};

// CERTIFY's statistics from its counts: the class chosen on the selection copies, and its
// count among `samples` estimation copies.
SmoothedCertificate certificate_from_counts(int64_t chosen_class, int64_t count, int64_t samples, double sigma,
                                            double alpha);
// The two-sided p-value of `top` successes in `trials` against a fair coin (scipy's binom_test).
double binomial_tie_p_value(int64_t top, int64_t trials);
// PREDICT's decision from per-class counts: the top class, or kAbstain when the binomial test
// of the top count against the runner-up's does not reject a tie at level α.
int64_t smoothed_class_from_counts(const std::vector<int64_t>& counts, double alpha);

// How often the model predicts each class on `samples` copies of one input row plus
// N(0, σ²) noise; `rng` is the row's stream.
std::vector<int64_t> noisy_class_counts(Model& model, ConstTensorView row, int64_t samples, double sigma,
                                        int64_t batch_size, SecureRng& rng);
// The same on a Predictor: threads that each hold one may count at once (a server's).
std::vector<int64_t> noisy_class_counts(Predictor& predictor, ConstTensorView row, int64_t samples, double sigma,
                                        int64_t batch_size, SecureRng& rng);

// CERTIFY for every row of x (a model of one input).
std::vector<SmoothedCertificate> certify(Model& model, ConstTensorView x, const SmoothingOptions& options);
// PREDICT for every row of x with n = options.estimation_samples copies: a class or kAbstain.
std::vector<int64_t> smoothed_predict(Model& model, ConstTensorView x, const SmoothingOptions& options);

struct CertifiedAccuracyPoint {
  double radius = 0;
  double certified_accuracy = 0;  // rows certified correct at a radius ≥ this one, over all rows
};
// Certified accuracy at each radius: a row counts when its certificate names its label with a
// radius at least r (abstentions and wrong classes never count).
std::vector<CertifiedAccuracyPoint> certified_accuracy(const std::vector<SmoothedCertificate>& certificates,
                                                       ConstTensorView y, const std::vector<double>& radii);

// A FitOptions::batch_transform that adds N(0, σ²) noise to every batch's inputs (Cohen et
// al. train the base model so: a smoothed model is only as good as f under its noise).
BatchTransform gaussian_augmentation(double sigma, uint64_t seed);

}  // namespace citadel
