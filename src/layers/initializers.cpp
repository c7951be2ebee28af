// Keras's initializers: VarianceScaling variants (Glorot & Bengio 2010; He et al. 2015;
// LeCun 1998), constants, and small random ones. The normal variants are truncated at
// two standard deviations, with Keras's correction so the variance stays as intended.
#include "citadel/layers/initializers.hpp"

#include <algorithm>
#include <cmath>

#include "citadel/core/error.hpp"

namespace citadel {
namespace {

struct Fans {
  double in, out;
};

Fans compute_fans(const Shape& shape) {
  if (shape.rank() == 0) return {1, 1};
  if (shape.rank() == 1) return {double(shape[0]), double(shape[0])};
  double receptive_field = 1;
  for (int i = 0; i + 2 < shape.rank(); ++i) receptive_field *= double(shape[i]);
  return {double(shape[shape.rank() - 2]) * receptive_field,
          double(shape[shape.rank() - 1]) * receptive_field};
}

void fill_uniform(TensorView weights, double limit, Rng& rng) {
  for (int64_t i = 0; i < weights.numel(); ++i)
    weights[i] = static_cast<float>((2.0 * rng.uniform_double() - 1.0) * limit);
}

// Normal truncated to ±2σ, rescaled by the truncated distribution's std (0.8796...).
void fill_truncated_normal(TensorView weights, double variance, Rng& rng) {
  const double stddev = std::sqrt(variance) / 0.87962566103423978;
  for (int64_t i = 0; i < weights.numel(); ++i) {
    double value;
    do value = rng.normal();
    while (std::fabs(value) > 2.0);
    weights[i] = static_cast<float>(value * stddev);
  }
}

const std::vector<std::string>& names() {
  static const std::vector<std::string> list{
      "glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_normal",
      "lecun_uniform",  "zeros",         "ones",       "random_normal", "random_uniform", "orthogonal"};
  return list;
}

// Keras's Orthogonal (gain 1): the shape read as (rows, cols) = (Π shape[:-1], shape[-1]); a
// normal (max, min) matrix made orthonormal by QR with R's diagonal positive (Gram-Schmidt
// gives exactly that Q), transposed when rows < cols.
void fill_orthogonal(TensorView weights, Rng& rng) {
  const Shape& shape = weights.shape();
  const int64_t cols = shape.rank() == 0 ? 1 : shape[shape.rank() - 1];
  const int64_t rows = cols == 0 ? 0 : weights.numel() / cols;
  const int64_t tall = std::max(rows, cols), narrow = std::min(rows, cols);
  std::vector<double> q(size_t(tall * narrow));  // column j at q[i * narrow + j]
  for (double& v : q) v = rng.normal();
  for (int64_t j = 0; j < narrow; ++j) {
    for (int64_t k = 0; k < j; ++k) {  // modified Gram-Schmidt against earlier columns
      double dot = 0;
      for (int64_t i = 0; i < tall; ++i) dot += q[size_t(i * narrow + k)] * q[size_t(i * narrow + j)];
      for (int64_t i = 0; i < tall; ++i) q[size_t(i * narrow + j)] -= dot * q[size_t(i * narrow + k)];
    }
    double norm = 0;
    for (int64_t i = 0; i < tall; ++i) norm += q[size_t(i * narrow + j)] * q[size_t(i * narrow + j)];
    norm = std::sqrt(norm);
    for (int64_t i = 0; i < tall; ++i) q[size_t(i * narrow + j)] /= norm;
  }
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      weights[r * cols + c] = static_cast<float>(rows >= cols ? q[size_t(r * narrow + c)] : q[size_t(c * narrow + r)]);
}

}  // namespace

void check_initializer_name(std::string_view name) {
  if (std::find(names().begin(), names().end(), name) != names().end()) return;
  std::string known;
  for (const auto& entry : names()) known += (known.empty() ? "" : ", ") + entry;
  throw ValueError("unknown initializer '" + std::string(name) + "'; known: " + known);
}

const std::vector<std::string>& known_initializers() { return names(); }

void initialize(std::string_view name, TensorView weights, Rng& rng) {
  if (name == kUnitForgetBiasInitializer) {  // (4·units): i, f, c, o
    const int64_t units = weights.numel() / 4;
    std::fill_n(weights.data(), weights.numel(), 0.0f);
    std::fill_n(weights.data() + units, units, 1.0f);
    return;
  }
  check_initializer_name(name);
  const Fans fans = compute_fans(weights.shape());
  const double fan_average = (fans.in + fans.out) / 2.0;
  if (name == "glorot_uniform") return fill_uniform(weights, std::sqrt(3.0 / fan_average), rng);
  if (name == "glorot_normal") return fill_truncated_normal(weights, 1.0 / fan_average, rng);
  if (name == "he_uniform") return fill_uniform(weights, std::sqrt(6.0 / fans.in), rng);
  if (name == "he_normal") return fill_truncated_normal(weights, 2.0 / fans.in, rng);
  if (name == "lecun_uniform") return fill_uniform(weights, std::sqrt(3.0 / fans.in), rng);
  if (name == "lecun_normal") return fill_truncated_normal(weights, 1.0 / fans.in, rng);
  if (name == "random_uniform") return fill_uniform(weights, 0.05, rng);
  if (name == "orthogonal") return fill_orthogonal(weights, rng);
  if (name == "random_normal") {  // Keras: mean 0, stddev 0.05, not truncated
    for (int64_t i = 0; i < weights.numel(); ++i) weights[i] = static_cast<float>(0.05 * rng.normal());
    return;
  }
  std::fill_n(weights.data(), weights.numel(), name == "ones" ? 1.0f : 0.0f);
}

}  // namespace citadel
