// LiRA: shadow models on balanced random halves, Gaussian fits of the logit-scaled
// confidence in and out per row, online and offline scores.
#include "citadel/privacy/lira.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"
#include "citadel/data/split.hpp"

namespace citadel {
namespace {

// The rows of a then of b, as one tensor.
Tensor concatenated_rows(ConstTensorView a, ConstTensorView b) {
  CITADEL_CHECK(a.shape().without_batch() == b.shape().without_batch(), ValueError,
                "LiRA: members and non-members have different shapes, ", a.shape().str(), " and ", b.shape().str());
  Tensor both(a.shape().without_batch().with_batch(a.shape(0) + b.shape(0)));
  std::memcpy(both.data(), a.data(), sizeof(float) * size_t(a.numel()));
  std::memcpy(both.data() + a.numel(), b.data(), sizeof(float) * size_t(b.numel()));
  return both;
}

std::vector<Tensor> concatenated(const std::vector<ConstTensorView>& a, const std::vector<ConstTensorView>& b) {
  CITADEL_CHECK(a.size() == b.size() && !a.empty(), ValueError, "LiRA: ", a.size(), " member and ", b.size(),
                " non-member tensors; give one per model input (and per output)");
  std::vector<Tensor> result;
  for (size_t i = 0; i < a.size(); ++i) result.push_back(concatenated_rows(a[i], b[i]));
  return result;
}

std::vector<ConstTensorView> views(const std::vector<Tensor>& tensors) {
  return {tensors.begin(), tensors.end()};
}

std::vector<double> confidences(Model& model, const std::vector<ConstTensorView>& x,
                                const std::vector<ConstTensorView>& y) {
  const Tensor losses = model.per_example_loss(x, y);
  std::vector<double> phi(static_cast<size_t>(losses.numel()));
  for (int64_t i = 0; i < losses.numel(); ++i) phi[size_t(i)] = logit_confidence(losses[i]);
  return phi;
}

// The within-row variance pooled over rows (rows with one value add nothing), floored so
// that a model that answers every row alike gives finite scores.
double pooled_variance(const std::vector<std::vector<double>>& values_per_row) {
  double squares = 0;
  int64_t freedom = 0;
  for (const std::vector<double>& values : values_per_row) {
    if (values.size() < 2) continue;
    const double mean = std::accumulate(values.begin(), values.end(), 0.0) / double(values.size());
    for (const double v : values) squares += (v - mean) * (v - mean);
    freedom += int64_t(values.size()) - 1;
  }
  return std::max(freedom > 0 ? squares / double(freedom) : 1.0, 1e-12);
}

double mean_of(const std::vector<double>& values) {
  return std::accumulate(values.begin(), values.end(), 0.0) / double(std::max<size_t>(values.size(), 1));
}

}  // namespace

double logit_confidence(double loss) {
  CITADEL_CHECK(!std::isnan(loss), ValueError, "LiRA: a loss is NaN; the model's confidence cannot be read");
  const double l = std::max(loss, 1e-12);
  // p = e^−l: log p − log(1 − p) = −l − log(1 − e^−l), with expm1 for small l.
  return -l - std::log(-std::expm1(-l));
}

std::vector<std::vector<uint8_t>> lira_halves(int64_t rows, int shadows, uint64_t seed) {
  CITADEL_CHECK(shadows >= 2, ValueError, "LiRA: needs at least 2 shadow models, got ", shadows);
  std::vector<std::vector<uint8_t>> included(static_cast<size_t>(shadows), std::vector<uint8_t>(static_cast<size_t>(rows), 0));
  Rng rng(seed);
  std::vector<int> order(static_cast<size_t>(shadows));
  for (int64_t row = 0; row < rows; ++row) {
    std::iota(order.begin(), order.end(), 0);
    for (int i = shadows - 1; i > 0; --i) std::swap(order[size_t(i)], order[rng.below(uint64_t(i) + 1)]);
    for (int k = 0; k < shadows / 2; ++k) included[size_t(order[size_t(k)])][size_t(row)] = 1;
  }
  return included;
}

LiraScores lira_scores(const std::vector<double>& target, const std::vector<std::vector<double>>& shadow,
                       const std::vector<std::vector<uint8_t>>& included) {
  const size_t rows = target.size();
  CITADEL_CHECK(!shadow.empty() && shadow.size() == included.size(), ValueError, "lira_scores: ", shadow.size(),
                " shadows' confidences and ", included.size(), " inclusion lists");
  std::vector<std::vector<double>> in(rows), out(rows);
  for (size_t s = 0; s < shadow.size(); ++s) {
    CITADEL_CHECK(shadow[s].size() == rows && included[s].size() == rows, ValueError, "lira_scores: shadow ", s,
                  " has ", shadow[s].size(), " confidences for ", rows, " rows");
    for (size_t r = 0; r < rows; ++r) (included[s][r] ? in[r] : out[r]).push_back(shadow[s][r]);
  }
  const double variance_in = pooled_variance(in), variance_out = pooled_variance(out);
  LiraScores scores;
  for (size_t r = 0; r < rows; ++r) {
    CITADEL_CHECK(!out[r].empty(), ValueError, "lira_scores: row ", r, " is in every shadow's training half");
    const double phi = target[r], mu_out = mean_of(out[r]);
    const double out_term = (phi - mu_out) * (phi - mu_out) / (2 * variance_out) + 0.5 * std::log(variance_out);
    scores.offline.push_back((phi - mu_out) / std::sqrt(variance_out));
    if (in[r].empty()) {  // no shadow saw it: the online test has no "in" side
      scores.online.push_back(scores.offline.back());
      continue;
    }
    const double mu_in = mean_of(in[r]);
    const double in_term = (phi - mu_in) * (phi - mu_in) / (2 * variance_in) + 0.5 * std::log(variance_in);
    scores.online.push_back(out_term - in_term);  // log N(φ; in) − log N(φ; out)
  }
  return scores;
}

std::vector<MembershipAttackResult> lira_membership_attacks(Model& model, const std::vector<ConstTensorView>& member_x,
                                                            const std::vector<ConstTensorView>& member_y,
                                                            const std::vector<ConstTensorView>& non_member_x,
                                                            const std::vector<ConstTensorView>& non_member_y,
                                                            const std::function<Model()>& make_shadow,
                                                            const LiraOptions& options) {
  CITADEL_CHECK(make_shadow, ValueError, "LiRA: needs a way to make shadow models (make_shadow is empty)");
  const std::string loss = model.compile_settings().loss;
  CITADEL_CHECK(loss.find("crossentropy") != std::string::npos, ValueError, "LiRA reads the probability of each "
                "row's true label from a cross-entropy loss; model '", model.name(), "' is compiled with '", loss, "'");
  CITADEL_CHECK(options.epochs >= 1 && options.batch_size >= 1, ValueError,
                "LiRA: shadow epochs and batch size must be positive, got ", options.epochs, " and ",
                options.batch_size);
  const std::vector<Tensor> x = concatenated(member_x, non_member_x), y = concatenated(member_y, non_member_y);
  const int64_t members = member_x[0].shape(0), rows = x[0].shape(0);
  const std::vector<std::vector<uint8_t>> included = lira_halves(rows, options.shadows, options.seed);
  std::vector<std::vector<double>> shadow_confidence;
  for (int s = 0; s < options.shadows; ++s) {
    std::vector<int64_t> half;
    for (int64_t r = 0; r < rows; ++r)
      if (included[size_t(s)][size_t(r)]) half.push_back(r);
    std::vector<Tensor> half_x, half_y;
    for (const Tensor& t : x) half_x.push_back(take_rows(t, half));
    for (const Tensor& t : y) half_y.push_back(take_rows(t, half));
    Model shadow = make_shadow();
    shadow.fit(views(half_x), views(half_y),
               {.epochs = options.epochs, .batch_size = options.batch_size, .verbose = 0,
                .seed = options.seed + uint64_t(s) + 1});
    shadow_confidence.push_back(confidences(shadow, views(x), views(y)));
  }
  const LiraScores scores = lira_scores(confidences(model, views(x), views(y)), shadow_confidence, included);
  std::vector<MembershipAttackResult> results;
  for (const auto& [name, all] : {std::pair{"lira_online", &scores.online}, std::pair{"lira_offline", &scores.offline}})
    results.push_back(score_membership_attack(name, {all->begin(), all->begin() + members},
                                              {all->begin() + members, all->end()}));
  return results;
}

}  // namespace citadel
