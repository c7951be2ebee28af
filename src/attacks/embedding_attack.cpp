// FGSM and PGD in a text model's embedding space: perturbation_search's loops over the
// Embedding's output (one ball per token, padding frozen), the model run from that output
// by Model::layer_output_gradient; and the nearest-token projection back to real ids.
#include "citadel/attacks/embedding_attack.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"
#include "citadel/layers/embedding.hpp"
#include "citadel/ops/gemm.hpp"
#include "perturbation_search.hpp"

namespace citadel {
namespace {

const Embedding& embedding_layer(const Model& model, const std::string& layer) {
  const auto* found = dynamic_cast<const Embedding*>(&model.get_layer(layer));
  CITADEL_CHECK(found != nullptr, ValueError, "embedding attack: layer '", layer, "' of the model '", model.name(),
                "' is a ", model.get_layer(layer).type(), ", not an Embedding");
  CITADEL_CHECK(found->embeddings().numel() > 0, ValueError, "embedding attack: the model '", model.name(),
                "' is not built yet");
  return *found;
}

// Per position of the ids: whether it holds the padding id (never moved).
std::vector<uint8_t> padding_positions(ConstTensorView ids, int64_t padding_id) {
  std::vector<uint8_t> padded(static_cast<size_t>(ids.numel()));
  for (int64_t i = 0; i < ids.numel(); ++i) padded[size_t(i)] = padding_id >= 0 && ids[i] == float(padding_id);
  return padded;
}

double share_of_ones(const std::vector<uint8_t>& flags) {
  return flags.empty() ? 0.0 : double(std::count(flags.begin(), flags.end(), 1)) / double(flags.size());
}

}  // namespace

EmbeddingSite find_embedding(const Model& model, const std::string& layer) {
  const GraphInfo& graph = model.graph();
  std::vector<EmbeddingSite> found;
  for (const GraphInfo::NodeInfo& node : graph.nodes) {
    const Layer& candidate = model.layer(node.layer);
    if (candidate.type() != "Embedding" || (!layer.empty() && candidate.name() != layer)) continue;
    const int tensor = node.inputs.front();
    const auto input = std::find(graph.inputs.begin(), graph.inputs.end(), tensor);
    CITADEL_CHECK(input != graph.inputs.end(), NotImplementedError, "embedding attack: the Embedding '",
                  candidate.name(), "' of the model '", model.name(),
                  "' reads another layer's output; the attack needs one that reads the model's token ids");
    found.push_back({candidate.name(), int(input - graph.inputs.begin())});
  }
  if (!layer.empty()) {
    CITADEL_CHECK(!found.empty(), ValueError, "embedding attack: the model '", model.name(),
                  "' has no Embedding layer named '", layer, "'");
  } else {
    CITADEL_CHECK(!found.empty(), ValueError, "embedding attack: the model '", model.name(),
                  "' has no Embedding layer; an embedding-space attack moves the vectors an Embedding gives token "
                  "ids, so it applies to text models");
    CITADEL_CHECK(found.size() == 1, ValueError, "embedding attack: the model '", model.name(), "' has ",
                  found.size(), " Embedding calls; name the one to attack");
  }
  CITADEL_CHECK(found.size() == 1, NotImplementedError, "embedding attack: the Embedding '", layer,
                "' is called more than once");
  return found.front();
}

double embedding_scale(const Model& model, const std::string& layer, const std::string& norm, int64_t padding_id) {
  CITADEL_CHECK(norm == "l2" || norm == "linf", ValueError, "embedding_scale: norm must be l2 or linf, got '", norm,
                "'");
  const ConstTensorView table = embedding_layer(model, layer).embeddings();
  const int64_t vocabulary = table.shape(0), width = table.shape(1);
  double sum = 0;
  int64_t counted = 0;
  for (int64_t v = 0; v < vocabulary; ++v) {
    if (v == padding_id) continue;  // the padding row is no token's vector
    double size = 0;
    for (int64_t d = 0; d < width; ++d) {
      const double value = table[v * width + d];
      size = norm == "l2" ? size + value * value : std::max(size, std::fabs(value));
    }
    sum += norm == "l2" ? std::sqrt(size) : size;
    ++counted;
  }
  CITADEL_CHECK(counted > 0, ValueError, "embedding_scale: the table of '", layer, "' has no row but padding");
  return sum / double(counted);
}

Tensor embedding_adversarial_examples(Model& model, const std::vector<ConstTensorView>& inputs,
                                      const std::vector<ConstTensorView>& targets,
                                      const EmbeddingAttackOptions& options) {
  const AttackOptions& a = options.attack;
  attack_loops::check_search_options(a);
  const EmbeddingSite site = find_embedding(model, options.layer);
  CITADEL_CHECK(size_t(site.input) < inputs.size(), ValueError, "embedding attack: the Embedding '", site.layer,
                "' reads input ", site.input, " but ", inputs.size(), " inputs were given");
  const ConstTensorView ids = inputs[size_t(site.input)];
  const int64_t rows = ids.shape(0);
  for (const ConstTensorView& y : targets)
    CITADEL_CHECK(y.rank() >= 1 && y.shape(0) == rows, ShapeError, "embedding attack: the ids have ", rows,
                  " rows but y has ", y.rank() >= 1 ? y.shape(0) : 0);
  if (a.targets) {
    CITADEL_CHECK(targets.size() == 1, ValueError,
                  "embedding attack: a targeted attack takes a model of one output; this one has ", targets.size());
    CITADEL_CHECK(a.targets->shape() == targets[0].shape(), ShapeError,
                  "embedding attack: targets must have the shape of y ", targets[0].shape(), ", got ",
                  a.targets->shape());
  }
  Tensor clean = model.predict_layer_outputs(inputs, {site.layer}, {.batch_size = a.batch_size}).front();
  const int64_t width = embedding_layer(model, site.layer).output_dim();
  const int64_t positions_per_row = ids.numel() / std::max<int64_t>(rows, 1);
  AttackOptions o = a;  // ε in the embedding's units
  o.epsilon = static_cast<float>(a.epsilon * embedding_scale(model, site.layer, a.norm, options.padding_id));
  const float unbounded = std::numeric_limits<float>::infinity();
  attack_loops::SearchSpace space{.block = width,
                                  .low = std::vector<float>(size_t(width), -unbounded),
                                  .high = std::vector<float>(size_t(width), unbounded),
                                  .frozen = {}};
  const std::vector<uint8_t> padded = padding_positions(ids, options.padding_id);
  const std::vector<ConstTensorView> labels = a.targets ? std::vector<ConstTensorView>{*a.targets} : targets;
  const float direction = a.targets ? -1.0f : 1.0f;  // towards the target: descend its loss
  Rng rng(a.seed);
  Tensor result(clean.shape());
  const int64_t row_size = positions_per_row * width;
  for (int64_t begin = 0; begin < rows; begin += a.batch_size) {
    const int64_t end = std::min(begin + a.batch_size, rows);
    const std::vector<ConstTensorView> batch = rows_of(inputs, begin, end), batch_labels = rows_of(labels, begin, end);
    space.frozen.assign(padded.begin() + begin * positions_per_row, padded.begin() + end * positions_per_row);
    const attack_loops::GradientAt gradient = [&](ConstTensorView attacked) {
      return model.layer_output_gradient(batch, batch_labels, {site.layer, attacked});
    };
    const attack_loops::LossesAt losses = [&](ConstTensorView attacked) {
      return model.per_example_loss(batch, batch_labels, {site.layer, attacked});
    };
    const Tensor best = attack_loops::strongest_perturbation(o, space, ConstTensorView(clean).rows(begin, end),
                                                             gradient, losses, direction, rng);
    std::copy_n(best.data(), best.numel(), result.data() + begin * row_size);
  }
  return result;
}

TokenProjection nearest_tokens(ConstTensorView table, ConstTensorView vectors, ConstTensorView ids,
                               int64_t padding_id) {
  CITADEL_CHECK(table.rank() == 2 && table.shape(0) >= 1, ShapeError, "nearest_tokens: the table must be (V, D), got ",
                table.shape());
  const int64_t vocabulary = table.shape(0), width = table.shape(1), positions = ids.numel();
  CITADEL_CHECK(vectors.numel() == positions * width && ids.rank() >= 1, ShapeError, "nearest_tokens: ",
                positions, " ids need ", positions * width, " vector values (D = ", width, "), got shape ",
                vectors.shape());
  const int64_t rows = ids.shape(0), per_row = positions / std::max<int64_t>(rows, 1);
  TokenProjection projection{Tensor(ids.shape()), 0, 0, std::vector<uint8_t>(size_t(rows), 0)};
  std::copy_n(ids.data(), positions, projection.ids.data());
  std::vector<float> row_norms(static_cast<size_t>(vocabulary));
  for (int64_t v = 0; v < vocabulary; ++v) {
    double squared = 0;
    for (int64_t d = 0; d < width; ++d) squared += double(table[v * width + d]) * table[v * width + d];
    row_norms[size_t(v)] = float(squared);
  }
  auto distance = [&](int64_t position, int64_t v) {  // exact, in double: settles the winner
    double squared = 0;
    for (int64_t d = 0; d < width; ++d) {
      const double difference = double(vectors[position * width + d]) - table[v * width + d];
      squared += difference * difference;
    }
    return squared;
  };
  // ‖x − e_v‖² = ‖x‖² − 2·x·e_v + ‖e_v‖²: the products for a chunk of positions at once.
  constexpr int64_t kChunk = 256;
  std::vector<float> products(size_t(std::min(positions, kChunk) * vocabulary));
  for (int64_t begin = 0; begin < positions; begin += kChunk) {
    const int64_t count = std::min(kChunk, positions - begin);
    ops::gemm(ops::Transpose::kNo, ops::Transpose::kYes, count, vocabulary, width, 1.0f, vectors.data() + begin * width,
              width, table.data(), width, 0.0f, products.data(), vocabulary);
    for (int64_t p = begin; p < begin + count; ++p) {
      const auto original = static_cast<int64_t>(ids[p]);
      if (original == padding_id) continue;
      ++projection.tokens;
      const float* product = products.data() + (p - begin) * vocabulary;
      int64_t nearest = -1;
      float best = std::numeric_limits<float>::infinity();
      for (int64_t v = 0; v < vocabulary; ++v) {
        if (v == padding_id) continue;
        const float score = row_norms[size_t(v)] - 2 * product[v];
        if (score < best) best = score, nearest = v;
      }
      if (nearest < 0 || nearest == original) continue;
      if (original >= 0 && original < vocabulary && distance(p, original) <= distance(p, nearest)) continue;
      projection.ids[p] = float(nearest);
      ++projection.tokens_changed;
      projection.row_changed[size_t(p / std::max<int64_t>(per_row, 1))] = 1;
    }
  }
  return projection;
}

std::vector<EmbeddingRobustnessPoint> embedding_robustness_curve(Model& model,
                                                                 const std::vector<ConstTensorView>& inputs,
                                                                 ConstTensorView y, const EmbeddingAttackOptions& options,
                                                                 const std::vector<double>& epsilons) {
  const EmbeddingSite site = find_embedding(model, options.layer);
  CITADEL_CHECK(size_t(site.input) < inputs.size(), ValueError, "embedding attack: the Embedding '", site.layer,
                "' reads input ", site.input, " but ", inputs.size(), " inputs were given");
  const ConstTensorView ids = inputs[size_t(site.input)];
  const Tensor clean = model.predict_layer_outputs(inputs, {site.layer}, {.batch_size = 1024}).front();
  const ConstTensorView table = embedding_layer(model, site.layer).embeddings();
  const int64_t width = table.shape(1), positions = ids.numel();
  const double scale = embedding_scale(model, site.layer, options.attack.norm, options.padding_id);
  const std::vector<uint8_t> padded = padding_positions(ids, options.padding_id);
  auto success_of = [&](const Tensor& predictions, double accuracy) {
    return options.attack.targets ? share_of_ones(correct_rows(predictions, *options.attack.targets))
                                  : 1.0 - accuracy;
  };
  std::vector<EmbeddingRobustnessPoint> curve;
  for (const double epsilon : epsilons) {
    EmbeddingAttackOptions moved = options;
    moved.attack.epsilon = static_cast<float>(epsilon);
    const Tensor adversarial = embedding_adversarial_examples(model, inputs, {y}, moved);
    EmbeddingRobustnessPoint point{.epsilon = epsilon, .radius = epsilon * scale};
    const Tensor predictions =
        model.predict(inputs, LayerOutputReplacement{site.layer, adversarial}, {.batch_size = 1024}).front();
    point.accuracy = share_of_ones(correct_rows(predictions, y));
    point.attack_success = success_of(predictions, point.accuracy);
    int64_t moved_tokens = 0;
    for (int64_t p = 0; p < positions; ++p) {
      if (padded[size_t(p)]) continue;
      double linf = 0, squared = 0;
      for (int64_t d = 0; d < width; ++d) {
        const double difference = adversarial[p * width + d] - clean[p * width + d];
        linf = std::max(linf, std::fabs(difference));
        squared += difference * difference;
      }
      point.mean_token_linf += linf;
      point.mean_token_l2 += std::sqrt(squared);
      ++moved_tokens;
    }
    if (moved_tokens > 0) point.mean_token_linf /= double(moved_tokens), point.mean_token_l2 /= double(moved_tokens);
    const TokenProjection projection = nearest_tokens(table, adversarial, ids, options.padding_id);
    point.tokens = projection.tokens;
    point.tokens_changed = projection.tokens_changed;
    point.rows_with_changed_tokens = share_of_ones(projection.row_changed);
    std::vector<ConstTensorView> projected = inputs;
    projected[size_t(site.input)] = projection.ids;
    const Tensor projected_predictions = model.predict(projected, {.batch_size = 1024}).front();
    point.projected_accuracy = share_of_ones(correct_rows(projected_predictions, y));
    point.projected_attack_success = success_of(projected_predictions, point.projected_accuracy);
    curve.push_back(point);
  }
  return curve;
}

}  // namespace citadel
