// Neural Cleanse's trigger reverse-engineering, one label at a time: Adam on the tanh-parameters
// of mask and pattern (so both stay in [0, 1] without clipping), the model's input gradient
// carried to them by the chain rule, and the paper's λ schedule keeping the attack at or above
// the success threshold while the mask shrinks.
#include "citadel/provenance/neural_cleanse.hpp"

#include <algorithm>
#include <chrono>
#include <limits>
#include <cmath>
#include <numeric>
#include <string>

#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"
#include "citadel/model/model.hpp"
#include "citadel/provenance/anomaly_index.hpp"

namespace citadel {
namespace {

struct Geometry {
  int64_t height, width, channels;
  int64_t pixels() const { return height * width; }
  int64_t values() const { return height * width * channels; }
};

Geometry geometry_of(const Model& model, const NeuralCleanseOptions& o) {
  const Shape in = model.input_shape();
  if (o.height > 0 || o.width > 0 || o.channels > 0) {
    const Geometry g{o.height, o.width, o.channels};
    CITADEL_CHECK(g.height > 0 && g.width > 0 && g.channels > 0 && g.values() == in.numel(), ValueError,
                  "neural_cleanse: an image of ", g.height, "x", g.width, "x", g.channels,
                  " does not match the model's input ", in.str());
    return g;
  }
  if (in.rank() == 3) return {in[0], in[1], in[2]};
  CITADEL_CHECK(in.rank() == 1, ValueError, "neural_cleanse: the model's input ", in.str(),
                " is neither an image (H, W, C) nor a vector; give the image's height, width and channels");
  const auto side = static_cast<int64_t>(std::lround(std::sqrt(double(in[0]))));
  if (side * side == in[0]) return {side, side, 1};
  return {1, in[0], 1};  // features as a 1 × D image: a mask selects features
}

// Targets for "every row is class t" in the form the compiled loss reads.
Tensor targets_for(int64_t rows, int64_t label, int64_t classes, bool one_hot) {
  if (!one_hot) {
    Tensor y(Shape{rows, 1});
    std::fill(y.data(), y.data() + rows, float(label));
    return y;
  }
  Tensor y(Shape{rows, classes});
  for (int64_t r = 0; r < rows; ++r) y.at(r, label) = 1.0f;
  return y;
}

// Adam (Kingma and Ba) over one parameter vector, with the paper code's β1 = 0.5, β2 = 0.9: the
// trigger's landscape changes as λ moves, and short memories follow it.
struct AdamState {
  std::vector<float> first, second;
  int64_t t = 0;
  explicit AdamState(size_t n) : first(n, 0.0f), second(n, 0.0f) {}
  void step(std::vector<float>& parameter, const std::vector<float>& gradient, float learning_rate) {
    constexpr float kBeta1 = 0.5f, kBeta2 = 0.9f, kEpsilon = 1e-8f;
    ++t;
    const float correction1 = 1.0f - std::pow(kBeta1, float(t)), correction2 = 1.0f - std::pow(kBeta2, float(t));
    for (size_t i = 0; i < parameter.size(); ++i) {
      first[i] = kBeta1 * first[i] + (1 - kBeta1) * gradient[i];
      second[i] = kBeta2 * second[i] + (1 - kBeta2) * gradient[i] * gradient[i];
      parameter[i] -= learning_rate * (first[i] / correction1) / (std::sqrt(second[i] / correction2) + kEpsilon);
    }
  }
};

float squash(float a) { return 0.5f * (std::tanh(a) + 1.0f); }  // ℝ → (0, 1)
float unsquash(float v) { return std::atanh((2.0f * v - 1.0f) * 0.9999f); }

// x'_n = (1 − m)⊙x_n + m⊙p for the given rows of x.
void stamp(ConstTensorView x, const std::vector<int64_t>& rows, const std::vector<float>& mask,
           const std::vector<float>& pattern, const Geometry& g, Tensor& out) {
  const int64_t values = g.values();
  for (size_t i = 0; i < rows.size(); ++i) {
    const float* source = x.data() + rows[i] * values;
    float* target = out.data() + int64_t(i) * values;
    for (int64_t v = 0; v < values; ++v) {
      const float m = mask[size_t(v / g.channels)];
      target[v] = (1 - m) * source[v] + m * pattern[size_t(v)];
    }
  }
}

double success_of(Model& model, const Tensor& stamped, int64_t label) {
  const Tensor out = model.predict(stamped, {.batch_size = 256});
  const int64_t rows = out.shape(0), classes = out.numel() / std::max<int64_t>(rows, 1);
  int64_t hits = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = out.data() + r * classes;
    hits += std::max_element(row, row + classes) - row == label;
  }
  return rows == 0 ? 0.0 : double(hits) / double(rows);
}

ReversedTrigger reverse_label(Model& model, ConstTensorView x, const Geometry& g, int64_t classes, bool one_hot,
                              int64_t label, const NeuralCleanseOptions& o) {
  const int64_t rows = x.shape(0), values = g.values(), pixels = g.pixels();
  Rng rng(o.seed * 0x9E3779B97F4A7C15ull + uint64_t(label) + 1);
  std::vector<float> a(static_cast<size_t>(pixels)), b(static_cast<size_t>(values));
  for (float& v : a) v = unsquash(rng.uniform());
  for (float& v : b) v = unsquash(rng.uniform());
  std::vector<float> mask(a.size()), pattern(b.size()), grad_a(a.size()), grad_b(b.size());
  const float low = o.pattern_min, range = o.pattern_max - o.pattern_min;
  auto refresh = [&] {
    std::transform(a.begin(), a.end(), mask.begin(), squash);
    for (size_t i = 0; i < b.size(); ++i) pattern[i] = low + range * squash(b[i]);
  };
  refresh();

  const int64_t batch = std::min(o.batch_size, rows);
  std::vector<int64_t> order(static_cast<size_t>(rows));
  std::iota(order.begin(), order.end(), 0);
  size_t cursor = order.size();  // reshuffle on first use
  Tensor batch_x(model.input_shape().with_batch(batch));
  const Tensor targets = targets_for(batch, label, classes, one_hot);
  std::vector<int64_t> evaluation(static_cast<size_t>(std::min(o.evaluation_rows, rows)));
  std::iota(evaluation.begin(), evaluation.end(), 0);
  Tensor evaluation_x(model.input_shape().with_batch(int64_t(evaluation.size())));
  std::vector<int64_t> batch_rows(static_cast<size_t>(batch));

  AdamState adam_a(a.size()), adam_b(b.size());
  ReversedTrigger best;
  best.label = label, best.l1_norm = std::numeric_limits<double>::infinity();
  double lambda = 0, early_best = std::numeric_limits<double>::infinity(), last_success = 0;
  int64_t set_counter = 0, up_counter = 0, down_counter = 0, early_counter = 0, step = 0;
  for (; step < o.steps; ++step) {
    for (int64_t i = 0; i < batch; ++i) {
      if (cursor == order.size()) {
        for (size_t j = order.size() - 1; j > 0; --j) std::swap(order[j], order[size_t(rng.below(j + 1))]);
        cursor = 0;
      }
      batch_rows[size_t(i)] = order[cursor++];
    }
    stamp(x, batch_rows, mask, pattern, g, batch_x);
    // ∂CE/∂x' (the batch mean); x' = (1 − m)x + m·p gives ∂/∂m = Σ (p − x)·∂CE/∂x' over rows and
    // channels, ∂/∂p = m·Σ ∂CE/∂x' over rows; then λ for |m|₁, and tanh's derivative.
    const Tensor gradient = model.input_gradient(batch_x, targets);
    std::fill(grad_a.begin(), grad_a.end(), float(lambda));
    std::fill(grad_b.begin(), grad_b.end(), 0.0f);
    for (int64_t i = 0; i < batch; ++i) {
      const float* dx = gradient.data() + i * values;
      const float* source = x.data() + batch_rows[size_t(i)] * values;
      for (int64_t v = 0; v < values; ++v) {
        const auto pixel = size_t(v / g.channels);
        grad_a[pixel] += dx[v] * (pattern[size_t(v)] - source[v]);
        grad_b[size_t(v)] += dx[v] * mask[pixel];
      }
    }
    for (size_t i = 0; i < a.size(); ++i) grad_a[i] *= 2 * mask[i] * (1 - mask[i]);  // d squash/da
    for (size_t i = 0; i < b.size(); ++i) {
      const float unit = range > 0 ? (pattern[i] - low) / range : 0.5f;
      grad_b[i] *= 2 * range * unit * (1 - unit);
    }
    adam_a.step(a, grad_a, o.learning_rate);
    adam_b.step(b, grad_b, o.learning_rate);
    refresh();

    if ((step + 1) % o.check_every != 0 && step + 1 != o.steps) continue;
    stamp(x, evaluation, mask, pattern, g, evaluation_x);
    last_success = success_of(model, evaluation_x, label);
    const double l1 = std::accumulate(mask.begin(), mask.end(), 0.0);
    const bool succeeds = last_success >= o.success_threshold;
    if (succeeds && l1 < best.l1_norm) {
      best.l1_norm = l1, best.attack_success = last_success, best.reached = true;
      best.mask = Tensor(Shape{g.height, g.width});
      best.pattern = Tensor(Shape{g.height, g.width, g.channels});
      std::copy(mask.begin(), mask.end(), best.mask.data());
      std::copy(pattern.begin(), pattern.end(), best.pattern.data());
    }
    if (lambda == 0) {
      // λ stays 0 until the attack works at all, so a hard label is not starved by the penalty.
      if (succeeds && ++set_counter >= o.patience) lambda = o.initial_lambda, up_counter = down_counter = 0;
      continue;
    }
    up_counter = succeeds ? up_counter + 1 : 0;
    down_counter = succeeds ? 0 : down_counter + 1;
    if (up_counter >= o.patience) up_counter = 0, lambda *= o.lambda_factor;
    if (down_counter >= o.patience) down_counter = 0, lambda /= std::pow(o.lambda_factor, 1.5);
    if (o.early_stop_checks > 0 && best.reached) {
      if (best.l1_norm < 0.99 * early_best) early_best = best.l1_norm, early_counter = 0;
      else if (++early_counter >= o.early_stop_checks) {
        ++step;
        break;
      }
    }
  }
  if (!best.reached) {  // no mask reached the threshold: report the last one, marked as such
    best.l1_norm = std::accumulate(mask.begin(), mask.end(), 0.0);
    best.attack_success = last_success;
    best.mask = Tensor(Shape{g.height, g.width});
    best.pattern = Tensor(Shape{g.height, g.width, g.channels});
    std::copy(mask.begin(), mask.end(), best.mask.data());
    std::copy(pattern.begin(), pattern.end(), best.pattern.data());
  }
  best.final_lambda = lambda;
  best.steps = step;
  return best;
}

void check_options(const NeuralCleanseOptions& o) {
  CITADEL_CHECK(o.steps >= 1, ValueError, "neural_cleanse: steps must be at least 1, got ", o.steps);
  CITADEL_CHECK(o.batch_size >= 1, ValueError, "neural_cleanse: batch_size must be at least 1, got ", o.batch_size);
  CITADEL_CHECK(o.check_every >= 1 && o.patience >= 1, ValueError,
                "neural_cleanse: check_every and patience must be at least 1");
  CITADEL_CHECK(o.learning_rate > 0 && o.initial_lambda > 0 && o.lambda_factor > 1, ValueError,
                "neural_cleanse: learning_rate and initial_lambda must be positive and lambda_factor above 1");
  CITADEL_CHECK(o.success_threshold > 0 && o.success_threshold <= 1, ValueError,
                "neural_cleanse: success_threshold must lie in (0, 1], got ", o.success_threshold);
  CITADEL_CHECK(std::isfinite(o.pattern_min) && std::isfinite(o.pattern_max) && o.pattern_min <= o.pattern_max,
                ValueError, "neural_cleanse: the pattern's range [", o.pattern_min, ", ", o.pattern_max,
                "] is not an interval");
  CITADEL_CHECK(o.evaluation_rows >= 1, ValueError, "neural_cleanse: evaluation_rows must be at least 1");
}

}  // namespace

namespace {

// Neural Cleanse's rule on one value per label (the L1 norms, or their ratios to references):
// a label is flagged when its value is an outlier below the others (anomaly index above the
// threshold) and well below their median.
void judge(NeuralCleanseResult& result, const std::vector<double>& values, const NeuralCleanseOptions& options) {
  const AnomalyIndices anomaly = anomaly_indices(values);
  result.median_l1 = anomaly.median;
  result.median_absolute_deviation = anomaly.median_absolute_deviation;
  result.flagged.clear();
  for (size_t i = 0; i < values.size(); ++i) {
    ReversedTrigger& t = result.labels[i];
    t.anomaly_index = anomaly.index[i];
    t.flagged = values[i] < (1 - options.min_relative_gap) * anomaly.median && t.anomaly_index > options.flag_threshold;
    if (t.flagged) result.flagged.push_back(t.label);
  }
  std::sort(result.flagged.begin(), result.flagged.end(), [&](int64_t l, int64_t r) {
    return result.labels[size_t(l)].anomaly_index > result.labels[size_t(r)].anomaly_index;
  });
}

}  // namespace

NeuralCleanseResult neural_cleanse(Model& model, ConstTensorView x, const NeuralCleanseOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  check_options(options);
  CITADEL_CHECK(model.compiled(), ValueError, "neural_cleanse: compile the model first (its loss gives the gradient)");
  CITADEL_CHECK(model.input_count() == 1 && model.output_count() == 1, ValueError,
                "neural_cleanse: takes a model of one input and one output, got ", model.input_count(), " and ",
                model.output_count());
  const std::string loss = model.compile_settings().loss;
  CITADEL_CHECK(loss == "sparse_categorical_crossentropy" || loss == "categorical_crossentropy", ValueError,
                "neural_cleanse: takes a classifier trained with a categorical cross-entropy, got loss '", loss, "'");
  const int64_t classes = model.output_shape().numel();
  CITADEL_CHECK(classes >= 3, ValueError, "neural_cleanse: the anomaly index compares labels; ", classes,
                " classes are too few (at least 3)");
  const Geometry g = geometry_of(model, options);
  CITADEL_CHECK(x.rank() >= 2 && x.shape(0) >= 1 && x.numel() == x.shape(0) * g.values(), ValueError,
                "neural_cleanse: clean rows of ", g.values(), " values expected, got ", x.shape().str());
  const bool one_hot = loss == "categorical_crossentropy";
  Tensor shaped(model.input_shape().with_batch(x.shape(0)));
  std::copy_n(x.data(), x.numel(), shaped.data());

  NeuralCleanseResult result;
  result.height = g.height, result.width = g.width, result.channels = g.channels;
  std::vector<double> norms;
  for (int64_t label = 0; label < classes; ++label) {
    result.labels.push_back(reverse_label(model, shaped, g, classes, one_hot, label, options));
    norms.push_back(result.labels.back().l1_norm);
  }
  judge(result, norms, options);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

void judge_against_references(NeuralCleanseResult& scan, const std::vector<NeuralCleanseResult>& references,
                              const NeuralCleanseOptions& options) {
  check_options(options);
  CITADEL_CHECK(!references.empty(), ValueError, "judge_against_references: no reference scans");
  const size_t labels = scan.labels.size();
  std::vector<double> ratios;
  for (size_t label = 0; label < labels; ++label) {
    std::vector<double> norms;
    for (size_t r = 0; r < references.size(); ++r) {
      CITADEL_CHECK(references[r].labels.size() == labels, ValueError, "judge_against_references: reference ", r,
                    " has ", references[r].labels.size(), " labels, the scan ", labels);
      norms.push_back(references[r].labels[label].l1_norm);
    }
    std::nth_element(norms.begin(), norms.begin() + norms.size() / 2, norms.end());
    double median = norms[norms.size() / 2];
    if (norms.size() % 2 == 0) median = (median + *std::max_element(norms.begin(), norms.begin() + norms.size() / 2)) / 2;
    CITADEL_CHECK(median > 0 && std::isfinite(median), ValueError, "judge_against_references: the references' norm of label ",
                  label, " is ", median, "; a reference's mask cannot be empty");
    ReversedTrigger& t = scan.labels[label];
    t.reference_l1 = median;
    t.relative_l1 = t.l1_norm / median;
    ratios.push_back(t.relative_l1);
  }
  scan.references = static_cast<int64_t>(references.size());
  judge(scan, ratios, options);
}

}  // namespace citadel
