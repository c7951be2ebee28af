#include "citadel/attacks/randomized_smoothing.hpp"

#include <algorithm>
#include <boost/math/special_functions/beta.hpp>
#include <cmath>
#include <memory>
#include <span>

#include "citadel/core/error.hpp"
#include "citadel/core/secure_random.hpp"
#include "citadel/metrics/normality.hpp"
#include "citadel/model/predictor.hpp"
#include "citadel/ops/noise.hpp"

namespace citadel {
namespace {

void check_options(const SmoothingOptions& options) {
  CITADEL_CHECK(std::isfinite(options.sigma) && options.sigma > 0, ValueError,
                "randomized smoothing: sigma must be positive, got ", options.sigma);
  CITADEL_CHECK(options.selection_samples >= 1 && options.estimation_samples >= 1, ValueError,
                "randomized smoothing: need at least one selection and one estimation sample, got ",
                options.selection_samples, " and ", options.estimation_samples);
  CITADEL_CHECK(options.alpha > 0 && options.alpha < 1, ValueError,
                "randomized smoothing: alpha must lie in (0, 1), got ", options.alpha);
  CITADEL_CHECK(options.batch_size >= 1, ValueError, "randomized smoothing: batch_size must be positive, got ",
                options.batch_size);
}

void check_one_input(const Model& model, const char* what) {
  CITADEL_CHECK(model.input_count() == 1, ValueError, what, ": randomized smoothing takes a model of one input; ",
                model.name(), " has ", model.input_count());
}

int64_t top_class(const std::vector<int64_t>& counts) {
  return std::max_element(counts.begin(), counts.end()) - counts.begin();
}

// Row r's noise streams: selection and estimation copies are drawn independently, as CERTIFY
// requires, and neither depends on which other rows are certified. The ziggurat draws on
// several threads (ops::add_gaussian_noise): the noise, not the model, was most of the time.
SecureRng row_stream(uint64_t seed, int64_t row, uint64_t phase) {
  return SecureRng::from_seed(seed, uint64_t(row) * 2 + phase);
}

}  // namespace

SmoothedCertificate certificate_from_counts(int64_t chosen_class, int64_t count, int64_t samples, double sigma,
                                            double alpha) {
  CITADEL_CHECK(count >= 0 && count <= samples && samples >= 1, ValueError,
                "certificate_from_counts: need 0 <= count <= samples and samples >= 1, got ", count, " of ",
                samples);
  SmoothedCertificate certificate;
  certificate.count = count;
  certificate.samples = samples;
  // The one-sided Clopper–Pearson bound: the p at which P[Binomial(samples, p) ≥ count] = α.
  certificate.probability_lower =
      count == 0 ? 0.0 : boost::math::ibeta_inv(double(count), double(samples - count + 1), alpha);
  if (certificate.probability_lower < 0.5) return certificate;  // abstains
  certificate.predicted_class = chosen_class;
  certificate.radius = sigma * normal_quantile(certificate.probability_lower);
  return certificate;
}

double binomial_tie_p_value(int64_t top, int64_t trials) {
  CITADEL_CHECK(top >= 0 && top <= trials, ValueError, "binomial_tie_p_value: need 0 <= top <= trials, got ", top,
                " of ", trials);
  const int64_t larger = std::max(top, trials - top);
  if (trials == 0 || 2 * larger == trials) return 1.0;
  // P[X ≥ larger] for X ~ Binomial(trials, ½) is I_½(larger, trials − larger + 1); the test
  // is symmetric, so the two-sided p-value doubles it.
  const double tail = boost::math::ibeta(double(larger), double(trials - larger + 1), 0.5);
  return std::min(1.0, 2.0 * tail);
}

int64_t smoothed_class_from_counts(const std::vector<int64_t>& counts, double alpha) {
  CITADEL_CHECK(!counts.empty(), ValueError, "smoothed_class_from_counts: no classes");
  std::vector<int64_t> order(counts.size());
  for (size_t c = 0; c < order.size(); ++c) order[c] = int64_t(c);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return counts[a] > counts[b]; });
  const int64_t first = counts[size_t(order[0])], second = order.size() > 1 ? counts[size_t(order[1])] : 0;
  return binomial_tie_p_value(first, first + second) <= alpha ? order[0] : kAbstain;
}

namespace {

// The counts of either entry point: `predict` is Model::predict or Predictor::predict.
template <class Predict>
std::vector<int64_t> count_noisy_classes(const Predict& predict, ConstTensorView row,
                                         int64_t samples, double sigma, int64_t batch_size, SecureRng& rng) {
  CITADEL_CHECK(row.rank() >= 1 && row.shape(0) == 1, ValueError, "noisy_class_counts: give one row, got shape ",
                row.shape().str());
  const Shape example = row.shape().without_batch();
  const int64_t features = example.numel();
  std::vector<int64_t> counts;  // sized by the first predictions: one sigmoid unit is two classes
  Tensor batch(example.with_batch(std::min(batch_size, samples)));
  for (int64_t done = 0; done < samples;) {
    const int64_t now = std::min(batch.shape(0), samples - done);
    if (now < batch.shape(0)) batch = Tensor(example.with_batch(now));
    for (int64_t copy = 0; copy < now; ++copy) std::copy_n(row.data(), features, batch.data() + copy * features);
    ops::add_gaussian_noise(std::span<float>(batch.data(), size_t(batch.numel())), sigma, rng);
    const Tensor predictions = predict(batch, PredictOptions{.batch_size = now});
    if (counts.empty()) counts.assign(size_t(std::max<int64_t>(predictions.numel() / now, 2)), 0);
    for (const int64_t c : predicted_classes(predictions)) ++counts[size_t(c)];
    done += now;
  }
  return counts;
}

}  // namespace

std::vector<int64_t> noisy_class_counts(Model& model, ConstTensorView row, int64_t samples, double sigma,
                                        int64_t batch_size, SecureRng& rng) {
  return count_noisy_classes(
      [&](const Tensor& batch, const PredictOptions& options) { return model.predict(batch, options); }, row, samples,
      sigma, batch_size, rng);
}

std::vector<int64_t> noisy_class_counts(Predictor& predictor, ConstTensorView row, int64_t samples, double sigma,
                                        int64_t batch_size, SecureRng& rng) {
  return count_noisy_classes(
      [&](const Tensor& batch, const PredictOptions& options) { return predictor.predict(batch, options); }, row,
      samples, sigma, batch_size, rng);
}

namespace {

// Row r's class counts on `samples` noisy copies, from its stream of the given phase
// (0: CERTIFY's selection, 1: estimation and PREDICT).
std::vector<int64_t> row_counts(Model& model, ConstTensorView x, int64_t r, int64_t samples, uint64_t phase,
                                const SmoothingOptions& options) {
  SecureRng rng = row_stream(options.seed, r, phase);
  return noisy_class_counts(model, x.rows(r, r + 1), samples, options.sigma, options.batch_size, rng);
}

}  // namespace

std::vector<SmoothedCertificate> certify(Model& model, ConstTensorView x, const SmoothingOptions& options) {
  check_options(options);
  check_one_input(model, "certify");
  std::vector<SmoothedCertificate> certificates;
  for (int64_t r = 0; r < x.shape(0); ++r) {
    const int64_t chosen = top_class(row_counts(model, x, r, options.selection_samples, 0, options));
    const int64_t count = row_counts(model, x, r, options.estimation_samples, 1, options)[size_t(chosen)];
    certificates.push_back(
        certificate_from_counts(chosen, count, options.estimation_samples, options.sigma, options.alpha));
  }
  return certificates;
}

std::vector<int64_t> smoothed_predict(Model& model, ConstTensorView x, const SmoothingOptions& options) {
  check_options(options);
  check_one_input(model, "smoothed_predict");
  std::vector<int64_t> classes;
  for (int64_t r = 0; r < x.shape(0); ++r)
    classes.push_back(
        smoothed_class_from_counts(row_counts(model, x, r, options.estimation_samples, 1, options), options.alpha));
  return classes;
}

std::vector<CertifiedAccuracyPoint> certified_accuracy(const std::vector<SmoothedCertificate>& certificates,
                                                       ConstTensorView y, const std::vector<double>& radii) {
  CITADEL_CHECK(int64_t(certificates.size()) == y.shape(0), ValueError, "certified_accuracy: ",
                certificates.size(), " certificates for ", y.shape(0), " labels");
  const std::vector<int64_t> labels = label_classes(y, y.rank() == 2 && y.shape(1) > 1 ? y.shape(1) : 0);
  std::vector<CertifiedAccuracyPoint> curve;
  for (const double radius : radii) {
    int64_t certified = 0;
    for (size_t r = 0; r < certificates.size(); ++r)
      certified += certificates[r].predicted_class == labels[r] && certificates[r].radius >= radius;
    curve.push_back({radius, certificates.empty() ? 0.0 : double(certified) / double(certificates.size())});
  }
  return curve;
}

BatchTransform gaussian_augmentation(double sigma, uint64_t seed) {
  CITADEL_CHECK(std::isfinite(sigma) && sigma > 0, ValueError, "gaussian_augmentation: sigma must be positive, got ",
                sigma);
  auto rng = std::make_shared<SecureRng>(SecureRng::from_seed(seed, 0));
  return [sigma, rng](Model&, std::span<const TensorView> inputs, std::span<const ConstTensorView>) {
    for (const TensorView& input : inputs)
      ops::add_gaussian_noise(std::span<float>(input.data(), size_t(input.numel())), sigma, *rng);
  };
}

}  // namespace citadel
