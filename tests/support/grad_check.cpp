// Central-difference gradient checks for layers and losses.
#include "grad_check.hpp"

#include <cmath>
#include <span>
#include <sstream>
#include <vector>

#include "citadel/core/random.hpp"
#include "citadel/layers/initializers.hpp"

namespace citadel::testkit {
namespace {

::testing::AssertionResult compare(const std::vector<double>& analytic, const std::vector<double>& numeric,
                                   double tolerance, const std::string& what) {
  double difference = 0, norm_a = 0, norm_b = 0, worst = 0;
  size_t worst_index = 0;
  for (size_t i = 0; i < analytic.size(); ++i) {
    const double d = analytic[i] - numeric[i];
    difference += d * d;
    norm_a += analytic[i] * analytic[i];
    norm_b += numeric[i] * numeric[i];
    if (std::fabs(d) > worst) worst = std::fabs(d), worst_index = i;
  }
  const double relative = std::sqrt(difference) / std::max(std::sqrt(norm_a) + std::sqrt(norm_b), 1e-12);
  if (relative <= tolerance) return ::testing::AssertionSuccess() << what << " relative error " << relative;
  return ::testing::AssertionFailure() << what << ": relative error " << relative << " > " << tolerance
                                       << "; worst element " << worst_index << ": analytic "
                                       << analytic[worst_index] << " vs numeric " << numeric[worst_index];
}

constexpr uint64_t kMaskSeed = 77;  // the same dropout mask in every evaluation

std::vector<ConstTensorView> views_of(const std::vector<Tensor>& tensors) { return {tensors.begin(), tensors.end()}; }

// L = Σ r⊙layer(x...) in double.
double reduce(Layer& layer, const std::vector<Tensor>& x, const Tensor& r) {
  Tensor y;
  layer.reseed(kMaskSeed);
  layer.forward_inputs(views_of(x), y, Mode::kTrain);
  double total = 0;
  for (int64_t i = 0; i < y.numel(); ++i) total += double(r[i]) * y[i];
  return total;
}

}  // namespace

Tensor random_input(const Shape& shape, uint64_t seed, double min_abs) {
  Rng rng(seed);
  Tensor x(shape);
  for (int64_t i = 0; i < x.numel(); ++i) {
    double v = rng.normal();
    while (std::fabs(v) < min_abs) v = rng.normal();
    x[i] = static_cast<float>(v);
  }
  return x;
}

Tensor random_ids(const Shape& shape, int64_t bound, uint64_t seed) {
  Rng rng(seed);
  Tensor ids(shape);
  for (int64_t i = 0; i < ids.numel(); ++i) ids[i] = static_cast<float>(rng.below(uint64_t(bound)));
  return ids;
}

std::unique_ptr<BuiltLayer> build_layer(const Layer& prototype, const std::vector<Shape>& input_shapes, uint64_t seed) {
  auto built = std::make_unique<BuiltLayer>();
  built->layer = prototype.clone();
  built->layer->set_name("layer_under_test");
  built->input_shapes = input_shapes;
  std::vector<Shape> shapes;
  for (const Shape& shape : input_shapes) shapes.push_back(shape.without_batch());
  built->layer->build_inputs(shapes, built->params);
  built->params.allocate();
  Rng rng(seed);
  // Random values everywhere (zero biases would hide bias-gradient bugs).
  for (size_t i = 0; i < built->params.parameters().size(); ++i) {
    TensorView values = built->params.value(static_cast<int>(i));
    for (int64_t k = 0; k < values.numel(); ++k) values[k] = static_cast<float>(0.5 * rng.normal());
  }
  built->layer->bind(built->params);
  return built;
}

std::unique_ptr<BuiltLayer> build_layer(const Layer& prototype, const Shape& input_shape, uint64_t seed) {
  return build_layer(prototype, std::vector<Shape>{input_shape}, seed);
}

namespace {

// Central differences of reduce(layer, x, r) with respect to each of `values` (which the
// layer reads: an input or its parameters).
std::vector<double> numeric_gradient(Layer& layer, const std::vector<Tensor>& x, const Tensor& r,
                                     std::span<float> values, double epsilon) {
  std::vector<double> numeric(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    const float saved = values[i];
    values[i] = static_cast<float>(saved + epsilon);
    const double plus = reduce(layer, x, r);
    values[i] = static_cast<float>(saved - epsilon);
    const double minus = reduce(layer, x, r);
    values[i] = saved;
    numeric[i] = (plus - minus) / (2 * epsilon);
  }
  return numeric;
}

struct Backpropagated {
  std::vector<Tensor> x, dx;
  Tensor r;
};

// One forward and backward pass on random inputs, with L = Σ r⊙y.
Backpropagated backpropagate(BuiltLayer& built, const GradCheckOptions& options) {
  Backpropagated pass;
  for (size_t k = 0; k < built.input_shapes.size(); ++k)
    pass.x.push_back(built.layer->token_id_bound() > 0
                         ? random_ids(built.input_shapes[k], built.layer->token_id_bound(), options.seed + 1 + 10 * k)
                         : random_input(built.input_shapes[k], options.seed + 1 + 10 * k, options.min_abs_input));
  Tensor y;
  built.layer->reseed(kMaskSeed);
  built.layer->forward_inputs(views_of(pass.x), y, Mode::kTrain);
  pass.r = random_input(y.shape(), options.seed + 2, 0.0);
  built.params.zero_grad();
  pass.dx.resize(pass.x.size());
  std::vector<Tensor*> targets;
  for (Tensor& dx : pass.dx) targets.push_back(&dx);
  built.layer->backward_inputs(pass.r, targets);
  return pass;
}

}  // namespace

::testing::AssertionResult check_input_gradient(const Layer& prototype, const std::vector<Shape>& input_shapes,
                                                const GradCheckOptions& options) {
  auto built = build_layer(prototype, input_shapes, options.seed);
  Backpropagated pass = backpropagate(*built, options);
  if (built->layer->token_id_bound() > 0) {
    // Token ids have no gradient (a perturbed id is not an id): the layer must say zeros.
    for (const Tensor& dx : pass.dx)
      for (int64_t i = 0; i < dx.numel(); ++i)
        if (dx[i] != 0.0f) return ::testing::AssertionFailure() << prototype.type() << ": nonzero gradient for ids";
    return ::testing::AssertionSuccess();
  }
  std::vector<double> analytic, numeric;
  for (size_t k = 0; k < pass.x.size(); ++k) {
    analytic.insert(analytic.end(), pass.dx[k].data(), pass.dx[k].data() + pass.dx[k].numel());
    const std::span<float> inputs(pass.x[k].data(), static_cast<size_t>(pass.x[k].numel()));
    const std::vector<double> part = numeric_gradient(*built->layer, pass.x, pass.r, inputs, options.epsilon);
    numeric.insert(numeric.end(), part.begin(), part.end());
  }
  return compare(analytic, numeric, options.tolerance, prototype.type() + " input gradient");
}

::testing::AssertionResult check_param_gradients(const Layer& prototype, const std::vector<Shape>& input_shapes,
                                                 const GradCheckOptions& options) {
  auto built = build_layer(prototype, input_shapes, options.seed);
  if (built->params.size() == 0) return ::testing::AssertionSuccess() << "no parameters";
  Backpropagated pass = backpropagate(*built, options);
  const auto grads = built->params.grads();
  const std::vector<double> analytic(grads.begin(), grads.end());
  return compare(analytic, numeric_gradient(*built->layer, pass.x, pass.r, built->params.values(), options.epsilon),
                 options.tolerance, prototype.type() + " parameter gradients");
}

::testing::AssertionResult check_input_gradient(const Layer& prototype, const Shape& input_shape,
                                                const GradCheckOptions& options) {
  return check_input_gradient(prototype, std::vector<Shape>{input_shape}, options);
}

::testing::AssertionResult check_param_gradients(const Layer& prototype, const Shape& input_shape,
                                                 const GradCheckOptions& options) {
  return check_param_gradients(prototype, std::vector<Shape>{input_shape}, options);
}

double model_gradient_error(Model& model, const std::vector<Tensor>& x, const std::vector<Tensor>& y, double epsilon) {
  const std::vector<ConstTensorView> inputs(x.begin(), x.end()), targets(y.begin(), y.end());
  model.compute_gradients(inputs, targets);
  const auto grads = model.parameters().grads();
  const std::vector<double> analytic(grads.begin(), grads.end());
  auto values = model.parameters().values();
  double worst = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    const float saved = values[i];
    values[i] = saved + float(epsilon);
    const double plus = model.evaluate(inputs, targets, {.batch_size = x[0].shape(0)}).at("loss");
    values[i] = saved - float(epsilon);
    const double minus = model.evaluate(inputs, targets, {.batch_size = x[0].shape(0)}).at("loss");
    values[i] = saved;
    worst = std::max(worst, std::fabs((plus - minus) / (2 * epsilon) - analytic[i]));
  }
  return worst;
}

double model_gradient_error(Model& model, const Tensor& x, const Tensor& y, double epsilon) {
  return model_gradient_error(model, std::vector<Tensor>{x}, std::vector<Tensor>{y}, epsilon);
}

::testing::AssertionResult check_loss_gradient(const Loss& loss, const Tensor& predictions,
                                               const Tensor& targets, const GradCheckOptions& options) {
  Tensor p = predictions;
  Tensor gradient(p.shape());
  loss.compute(p, targets, gradient);
  std::vector<double> analytic(gradient.data(), gradient.data() + gradient.numel()), numeric(p.numel());
  for (int64_t i = 0; i < p.numel(); ++i) {
    const float saved = p[i];
    p[i] = static_cast<float>(saved + options.epsilon);
    const double plus = loss.compute(p, targets, TensorView());
    p[i] = static_cast<float>(saved - options.epsilon);
    const double minus = loss.compute(p, targets, TensorView());
    p[i] = saved;
    numeric[i] = (plus - minus) / (2 * options.epsilon);
  }
  return compare(analytic, numeric, options.tolerance, loss.name() + " gradient");
}

}  // namespace citadel::testkit
