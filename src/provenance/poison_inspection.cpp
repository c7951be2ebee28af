// Poison inspection in two passes: per class the signature scores and candidates (rows past the
// robust outlier test), then one neighbour search for the label test of every class with enough
// candidates, against a reference pool that holds no candidate of any class (planted rows would
// otherwise vouch for each other) and none of the rows being checked.
#include "citadel/provenance/poison_inspection.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>

#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"
#include "citadel/layers/layer.hpp"
#include "citadel/model/model.hpp"
#include "citadel/provenance/anomaly_index.hpp"
#include "citadel/provenance/label_disagreement.hpp"

namespace citadel {
namespace {

// Skewness of the projections (third standardized moment); 0 when they do not vary.
double skewness_of(const std::vector<double>& p) {
  const double n = double(p.size());
  const double mean = std::accumulate(p.begin(), p.end(), 0.0) / n;
  double m2 = 0, m3 = 0;
  for (double v : p) m2 += (v - mean) * (v - mean), m3 += (v - mean) * (v - mean) * (v - mean);
  m2 /= n, m3 /= n;
  return m2 > 0 ? m3 / std::pow(m2, 1.5) : 0.0;
}

// Activation clustering in one dimension: the exact 2-means split of the sorted projections
// (the cut minimizing the within-cluster sum of squares), and Ashman's D of the two sides.
void two_means(std::vector<double> p, ClassInspection& c) {
  std::sort(p.begin(), p.end());
  const size_t n = p.size();
  std::vector<double> sum(n + 1, 0.0), squares(n + 1, 0.0);
  for (size_t i = 0; i < n; ++i) sum[i + 1] = sum[i] + p[i], squares[i + 1] = squares[i] + p[i] * p[i];
  auto within = [&](size_t a, size_t b) {  // sum of squares of p[a, b)
    const double s = sum[b] - sum[a];
    return (squares[b] - squares[a]) - s * s / double(b - a);
  };
  size_t cut = 1;
  double best = std::numeric_limits<double>::infinity();
  for (size_t i = 1; i < n; ++i) {
    const double total = within(0, i) + within(i, n);
    if (total < best) best = total, cut = i;
  }
  const double m1 = (sum[cut] - sum[0]) / double(cut), m2 = (sum[n] - sum[cut]) / double(n - cut);
  const double v1 = std::max(0.0, within(0, cut) / double(cut)), v2 = std::max(0.0, within(cut, n) / double(n - cut));
  c.cluster_share = double(std::min(cut, n - cut)) / double(n);
  c.ashman_d = v1 + v2 > 0 ? std::sqrt(2.0) * std::abs(m1 - m2) / std::sqrt(v1 + v2)
                           : (m1 == m2 ? 0.0 : std::numeric_limits<double>::infinity());
}

std::string format(const char* pattern, double a, double b = 0, double c = 0, double d = 0) {
  char text[256];
  std::snprintf(text, sizeof text, pattern, a, b, c, d);
  return text;
}

// Copies the given rows of x (N, ...) into a (rows, D) tensor.
Tensor gather_rows(ConstTensorView x, const std::vector<int64_t>& rows) {
  const int64_t D = x.numel() / x.shape(0);
  Tensor out(Shape{int64_t(rows.size()), D});
  for (size_t i = 0; i < rows.size(); ++i) std::copy_n(x.data() + rows[i] * D, D, out.data() + int64_t(i) * D);
  return out;
}

// Up to `count` of `rows`, a seeded choice, ascending.
std::vector<int64_t> sample(std::vector<int64_t> rows, int64_t count, Rng& rng) {
  if (int64_t(rows.size()) > count) {
    for (size_t i = 0; i < size_t(count); ++i) std::swap(rows[i], rows[i + rng.below(rows.size() - i)]);
    rows.resize(size_t(count));
  }
  std::sort(rows.begin(), rows.end());
  return rows;
}

double mean_of(const std::vector<double>& v, size_t begin, size_t end) {
  return std::accumulate(v.begin() + std::ptrdiff_t(begin), v.begin() + std::ptrdiff_t(end), 0.0) / double(end - begin);
}

double variance_of(const std::vector<double>& v, size_t begin, size_t end, double mean) {
  double s = 0;
  for (size_t i = begin; i < end; ++i) s += (v[i] - mean) * (v[i] - mean);
  return end - begin > 1 ? s / double(end - begin - 1) : 0.0;
}

void check_options(const PoisonInspectionOptions& o) {
  CITADEL_CHECK(o.row_threshold > 0 && std::isfinite(o.row_threshold), ValueError,
                "inspect_poison: row_threshold must be a positive number, got ", o.row_threshold);
  CITADEL_CHECK(o.min_class_rows >= 2 && o.min_candidates >= 1 && o.neighbours >= 1 && o.check_rows >= 1 &&
                    o.reference_rows >= 1 && o.batch_size >= 1,
                ValueError,
                "inspect_poison: min_class_rows >= 2, and min_candidates, neighbours, check_rows, reference_rows, "
                "batch_size >= 1");
}

}  // namespace

std::vector<int64_t> PoisonInspection::flagged_rows() const {
  std::vector<int64_t> rows;
  for (size_t i = 0; i < flagged.size(); ++i)
    if (flagged[i]) rows.push_back(int64_t(i));
  return rows;
}

std::vector<int64_t> PoisonInspection::flagged_classes() const {
  std::vector<int64_t> labels;
  for (const ClassInspection& c : classes)
    if (c.flagged) labels.push_back(c.label);
  return labels;
}

std::vector<int64_t> class_indices(ConstTensorView y) {
  CITADEL_CHECK(y.rank() == 1 || y.rank() == 2, ValueError,
                "class labels: expected (N), (N, 1) or one-hot (N, K), got ", y.shape());
  const int64_t N = y.shape(0), K = y.rank() == 2 ? y.shape(1) : 1;
  std::vector<int64_t> labels(static_cast<size_t>(N));
  for (int64_t r = 0; r < N; ++r) {
    if (K == 1) {
      const float v = y.data()[r];
      CITADEL_CHECK(std::isfinite(v) && v >= 0 && v == std::floor(v) && v < 16777216.0f, ValueError,
                    "class labels: row ", r, " holds ", v, ", not a class index");
      labels[size_t(r)] = int64_t(v);
    } else {
      const float* row = y.data() + r * K;
      const int64_t hot = std::max_element(row, row + K) - row;
      for (int64_t k = 0; k < K; ++k)
        CITADEL_CHECK(row[k] == (k == hot ? 1.0f : 0.0f), ValueError, "class labels: row ", r,
                      " is not one-hot (value ", k, " is ", row[k], ")");
      labels[size_t(r)] = hot;
    }
  }
  return labels;
}

PoisonInspection inspect_representations(ConstTensorView representations, ConstTensorView inputs,
                                         const std::vector<int64_t>& labels, const PoisonInspectionOptions& options) {
  check_options(options);
  CITADEL_CHECK(representations.rank() >= 1 && representations.shape(0) > 0, ValueError,
                "inspect_poison: no rows to inspect");
  const int64_t N = representations.shape(0), U = representations.numel() / N;
  CITADEL_CHECK(inputs.rank() >= 1 && inputs.shape(0) == N && int64_t(labels.size()) == N, ValueError,
                "inspect_poison: ", N, " representations, ", inputs.rank() >= 1 ? inputs.shape(0) : 0,
                " input rows and ", labels.size(), " labels");
  CITADEL_CHECK(U >= 1, ValueError, "inspect_poison: representations of width 0");
  for (int64_t r = 0; r < N; ++r) {
    CITADEL_CHECK(labels[size_t(r)] >= 0, ValueError, "inspect_poison: row ", r, " has label ", labels[size_t(r)]);
    for (int64_t u = 0; u < U; ++u)
      CITADEL_CHECK(std::isfinite(representations.data()[r * U + u]), ValueError,
                    "inspect_poison: the representation of row ", r, " (label ", labels[size_t(r)], ") holds ",
                    representations.data()[r * U + u], " at unit ", u, ": the model's layer outputs are not finite");
  }
  const int64_t classes = *std::max_element(labels.begin(), labels.end()) + 1;
  std::vector<std::vector<int64_t>> members(static_cast<size_t>(classes));
  for (int64_t r = 0; r < N; ++r) members[size_t(labels[size_t(r)])].push_back(r);

  PoisonInspection result;
  result.score.assign(size_t(N), 0.0);
  result.flagged.assign(size_t(N), 0);
  std::vector<uint8_t> candidate(size_t(N), 0);
  std::vector<std::vector<int64_t>> candidates_of(static_cast<size_t>(classes));
  for (int64_t label = 0; label < classes; ++label) {
    const std::vector<int64_t>& rows = members[size_t(label)];
    if (rows.empty()) continue;
    ClassInspection c;
    c.label = label, c.rows = int64_t(rows.size());
    if (c.rows < options.min_class_rows) {
      c.verdict =
          "not inspected: " + std::to_string(c.rows) + " rows, fewer than " + std::to_string(options.min_class_rows);
      result.classes.push_back(c);
      continue;
    }
    c.inspected = true;
    RowMatrix matrix{c.rows, U, std::vector<double>(size_t(c.rows * U))};
    for (int64_t i = 0; i < c.rows; ++i) std::copy_n(representations.data() + rows[size_t(i)] * U, U, matrix.row(i));
    if (options.whiten) matrix = robust_whiten(matrix, options.whitening);
    const SingularDirection direction = top_singular_vector(matrix, options.seed + uint64_t(label));
    c.singular_value = direction.singular_value / std::sqrt(double(c.rows));
    std::vector<double> p = centred_projections(matrix, direction.vector);
    c.skewness = skewness_of(p);
    if (c.skewness < 0) {  // a small planted group makes its side the long tail
      for (double& v : p) v = -v;
      c.skewness = -c.skewness;
    }
    two_means(p, c);
    const double median = median_of(p);
    std::vector<double> deviations(p.size());
    for (size_t i = 0; i < p.size(); ++i) deviations[i] = std::abs(p[i] - median);
    const double scale = 1.4826 * median_of(deviations);
    for (size_t i = 0; i < p.size(); ++i) {
      const int64_t row = rows[i];
      const double z =
          scale > 0 ? (p[i] - median) / scale : (p[i] > median ? std::numeric_limits<double>::infinity() : 0.0);
      result.score[size_t(row)] = z;
      if (z > options.row_threshold) candidate[size_t(row)] = 1, candidates_of[size_t(label)].push_back(row);
    }
    c.candidates = int64_t(candidates_of[size_t(label)].size());
    result.classes.push_back(c);
  }

  // The label test: checked candidates and typical rows of each class with enough candidates.
  Rng rng(options.seed ^ 0x9e3779b97f4a7c15ULL);
  std::vector<int64_t> queries;
  std::vector<std::pair<size_t, size_t>> candidate_span(result.classes.size()), typical_span(result.classes.size());
  std::vector<uint8_t> checked(size_t(N), 0);
  for (size_t i = 0; i < result.classes.size(); ++i) {
    const ClassInspection& c = result.classes[i];
    if (!c.inspected || c.candidates < options.min_candidates) continue;
    std::vector<int64_t> typical;
    for (int64_t row : members[size_t(c.label)])
      if (!candidate[size_t(row)]) typical.push_back(row);
    if (typical.empty()) continue;
    const std::vector<int64_t> chosen = sample(candidates_of[size_t(c.label)], options.check_rows, rng);
    const std::vector<int64_t> chosen_typical = sample(typical, options.check_rows, rng);
    candidate_span[i] = {queries.size(), queries.size() + chosen.size()};
    queries.insert(queries.end(), chosen.begin(), chosen.end());
    typical_span[i] = {queries.size(), queries.size() + chosen_typical.size()};
    queries.insert(queries.end(), chosen_typical.begin(), chosen_typical.end());
    for (int64_t row : chosen_typical) checked[size_t(row)] = 1;
  }
  std::vector<int64_t> pool;
  for (int64_t r = 0; r < N; ++r)
    if (!candidate[size_t(r)] && !checked[size_t(r)]) pool.push_back(r);
  pool = sample(pool, options.reference_rows, rng);
  std::vector<double> disagreement;
  if (!queries.empty()) {
    CITADEL_CHECK(int64_t(pool.size()) >= options.neighbours, ValueError, "inspect_poison: ", pool.size(),
                  " reference rows for the label test, fewer than ", options.neighbours, " neighbours");
    std::vector<int64_t> query_labels, pool_labels;
    for (int64_t row : queries) query_labels.push_back(labels[size_t(row)]);
    for (int64_t row : pool) pool_labels.push_back(labels[size_t(row)]);
    disagreement = neighbour_label_disagreement(gather_rows(inputs, queries), query_labels, gather_rows(inputs, pool),
                                                pool_labels, options.neighbours);
  }

  for (size_t i = 0; i < result.classes.size(); ++i) {
    ClassInspection& c = result.classes[i];
    if (!c.inspected) continue;
    const auto [cb, ce] = candidate_span[i];
    const auto [tb, te] = typical_span[i];
    if (ce == cb) {
      c.verdict = c.candidates == 0 ? "clean: no row past the outlier threshold"
                                    : "clean: " + std::to_string(c.candidates) + " outlying rows, fewer than " +
                                          std::to_string(options.min_candidates);
      continue;
    }
    c.candidate_disagreement = mean_of(disagreement, cb, ce);
    c.typical_disagreement = mean_of(disagreement, tb, te);
    const double se = std::sqrt(variance_of(disagreement, cb, ce, c.candidate_disagreement) / double(ce - cb) +
                                variance_of(disagreement, tb, te, c.typical_disagreement) / double(te - tb));
    const double gain = c.candidate_disagreement - c.typical_disagreement;
    c.disagreement_z = se > 0 ? gain / se : (gain > 0 ? std::numeric_limits<double>::infinity() : 0.0);
    c.flagged = c.candidate_disagreement >= options.min_disagreement && gain >= options.min_disagreement_gain &&
                c.disagreement_z >= options.min_gain_z && c.ashman_d >= options.min_ashman_d;
    c.verdict = (c.flagged ? "FLAGGED: " : "clean: ") + std::to_string(c.candidates) +
                format(
                    " outlying rows whose neighbours carry other labels %.0f %% of the time, against %.0f %% for "
                    "the class's typical rows (z %.1f); split with Ashman's D %.1f",
                    100 * c.candidate_disagreement, 100 * c.typical_disagreement, c.disagreement_z, c.ashman_d);
    if (c.flagged)
      for (int64_t row : candidates_of[size_t(c.label)]) result.flagged[size_t(row)] = 1;
  }
  return result;
}

PoisonInspection inspect_poison(Model& model, ConstTensorView x, ConstTensorView y,
                                const PoisonInspectionOptions& options) {
  check_options(options);
  CITADEL_CHECK(model.input_count() == 1 && model.output_count() == 1, ValueError,
                "inspect_poison: a classifier of one input and one output, got ", model.input_count(), " inputs and ",
                model.output_count(), " outputs");
  CITADEL_CHECK(x.rank() >= 2 && x.shape(0) > 0, ValueError, "inspect_poison: no rows to inspect (x of shape ",
                x.shape(), ")");
  CITADEL_CHECK(y.rank() >= 1 && y.shape(0) == x.shape(0), ValueError, "inspect_poison: ", x.shape(0), " rows but ",
                y.rank() >= 1 ? y.shape(0) : 0, " labels");
  std::string layer = options.layer;
  if (layer.empty()) {
    const GraphInfo& graph = model.graph();
    const int output_node = graph.tensors[size_t(graph.outputs[0])].producer;
    const int feeding = graph.tensors[size_t(graph.nodes[size_t(output_node)].inputs[0])].producer;
    CITADEL_CHECK(feeding >= 0, ValueError,
                  "inspect_poison: the model's output layer reads its input directly; there is no learned "
                  "representation to inspect");
    layer = model.layer(graph.nodes[size_t(feeding)].layer).name();
  }
  const std::vector<int64_t> labels = class_indices(y);
  Tensor representations = model.predict_layer_outputs({x}, {layer}, {.batch_size = options.batch_size})[0];
  if (options.logit_shares && options.layer.empty()) {
    const GraphInfo& graph = model.graph();
    const Layer& output = model.layer(graph.nodes[size_t(graph.tensors[size_t(graph.outputs[0])].producer)].layer);
    const int64_t U = representations.numel() / representations.shape(0);
    const Shape out_shape = model.output_shape();
    CITADEL_CHECK(output.type() == "Dense" && out_shape.rank() == 1, ValueError, "inspect_poison: logit shares need a ",
                  "Dense output layer of class scores, the model's is ", output.type(), " (set logit_shares = false)");
    const int64_t C = out_shape[0];
    const std::vector<Tensor> weights = model.get_weights();
    const Tensor* kernel = nullptr;
    for (auto w = weights.rbegin(); w != weights.rend() && kernel == nullptr; ++w)
      if (w->rank() == 2 && w->shape(0) == U && w->shape(1) == C) kernel = &*w;
    CITADEL_CHECK(kernel != nullptr, ValueError, "inspect_poison: no (", U, ", ", C,
                  ") kernel for the output layer (set logit_shares = false)");
    for (int64_t r = 0; r < representations.shape(0); ++r) {
      CITADEL_CHECK(labels[size_t(r)] < C, ValueError, "inspect_poison: row ", r, " has label ", labels[size_t(r)],
                    ", the model has ", C, " classes");
      for (int64_t u = 0; u < U; ++u) representations.data()[r * U + u] *= kernel->data()[u * C + labels[size_t(r)]];
    }
  }
  PoisonInspection result = inspect_representations(representations, x, labels, options);
  result.layer = layer;
  return result;
}

}  // namespace citadel
