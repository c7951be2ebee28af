#include "citadel/attacks/interval_bounds.hpp"

#include <algorithm>
#include <cmath>

#include "citadel/attacks/adversarial.hpp"
#include "citadel/core/error.hpp"
#include "citadel/layers/layer.hpp"

namespace citadel {
namespace {

using ops::ActivationKind;

bool monotone(ActivationKind kind) {
  switch (kind) {
    case ActivationKind::kLinear:
    case ActivationKind::kRelu:
    case ActivationKind::kSigmoid:
    case ActivationKind::kTanh:
    case ActivationKind::kLeakyRelu:
    case ActivationKind::kElu:
    case ActivationKind::kSelu:
    case ActivationKind::kSoftplus:
      return true;
    default:  // softmax mixes its inputs; GELU and swish dip below zero
      return false;
  }
}

bool is_affine(const std::string& type) { return type == "Dense" || type == "Conv2D" || type == "Conv1D"; }

bool is_monotone_layer(const std::string& type) {
  return type == "Flatten" || type == "Reshape" || type == "MaxPooling2D" || type == "AveragePooling2D" ||
         type == "MaxPooling1D" || type == "AveragePooling1D" || type == "GlobalMaxPooling2D" ||
         type == "GlobalAveragePooling2D" || type == "GlobalMaxPooling1D" || type == "GlobalAveragePooling1D" ||
         type == "Activation";
}

// Activations that leave the order of the logits (softmax) or the sign of one logit (sigmoid)
// as they are: the classes are decided on the logits, so the last layer's is dropped.
bool decided_on_logits(ActivationKind kind) {
  return kind == ActivationKind::kSoftmax || kind == ActivationKind::kSigmoid || kind == ActivationKind::kLinear;
}

void halves(ConstTensorView lower, ConstTensorView upper, Tensor& middle, Tensor& radius) {
  middle.resize(lower.shape()), radius.resize(lower.shape());
  const float *l = lower.data(), *u = upper.data();
  float *m = middle.data(), *r = radius.data();
  for (int64_t i = 0, n = lower.numel(); i < n; ++i) {
    m[i] = 0.5f * (l[i] + u[i]);
    r[i] = 0.5f * (u[i] - l[i]);
  }
}

void copy_into(ConstTensorView from, Tensor& to) {
  to.resize(from.shape());
  std::copy(from.data(), from.data() + from.numel(), to.data());
}

}  // namespace

// One layer of the chain and what its backward needs.
struct IntervalStep {
  enum class Kind { kAffine, kMonotone, kIdentity } kind = Kind::kIdentity;
  std::string name;
  // Affine: `centre` reads the model's weights, `spread` the absolute kernel and no bias.
  // Monotone: `centre` is applied to the lower bounds and `spread` to the upper ones.
  std::unique_ptr<Layer> centre, spread;
  ActivationKind activation = ActivationKind::kLinear;  // an affine layer's own
  int kernel_id = -1;  // the affine layer's kernel in the model's parameters
  // Kept for backward: the inputs the layers hold views of, and the activation's input and output.
  Tensor middle, radius, z_lower, z_upper;
  // Work space, kept so that a training step allocates nothing once sized: the affine layers'
  // outputs, the gradients at the activation's input, the layers' input gradients, and this
  // step's input gradient on either bound.
  Tensor centre_out, spread_out, dz_centre, dz_spread, d_centre, d_spread, d_in_lower, d_in_upper;
};

struct IntervalPropagation::Chain {
  Model* model = nullptr;
  std::vector<IntervalStep> steps;
  ParameterStore absolute;  // |kernel|, zero bias: what the radius passes read
  std::vector<int64_t> layout;  // the parameters' offsets when `absolute` was laid out
  std::vector<Tensor> bounds_lower, bounds_upper;  // the box after each step
  bool last_dense = false;
  ActivationKind dropped = ActivationKind::kLinear;

  void refresh_weights() {
    ParameterStore& params = model->parameters();
    // Laid out once (biases stay zero; again if freezing a layer moved the weights); the
    // kernels are refreshed at every call.
    std::vector<int64_t> offsets;
    for (const ParameterInfo& info : params.parameters()) offsets.push_back(info.offset);
    if (offsets != layout) {
      absolute = params;
      std::fill(absolute.values().begin(), absolute.values().end(), 0.0f);
      layout = std::move(offsets);
    }
    for (IntervalStep& step : steps) {
      if (step.kind != IntervalStep::Kind::kAffine) continue;  // the others have no weights
      step.centre->bind(params);
      ConstTensorView kernel = params.value(step.kernel_id);
      TensorView target = absolute.value(step.kernel_id);
      const float* w = kernel.data();
      float* a = target.data();
      for (int64_t i = 0, n = kernel.numel(); i < n; ++i) a[i] = std::fabs(w[i]);
      step.spread->bind(absolute);
    }
  }
};

namespace {

int kernel_of(const Model& model, const Layer& layer) {
  const auto& infos = model.parameters().parameters();
  for (size_t id = 0; id < infos.size(); ++id)
    if (infos[id].name == layer.name() + "/kernel") return int(id);
  throw ValueError(detail::concat("interval bounds: layer '", layer.name(), "' has no kernel"));
}

std::unique_ptr<Layer> working_copy(const Layer& layer, bool input_gradient) {
  std::unique_ptr<Layer> copy = layer.clone();
  copy->set_input_gradient_needed(input_gradient);
  copy->set_parameter_gradients_needed(true);
  copy->set_per_example_norms_needed(false);
  return copy;
}

}  // namespace

IntervalPropagation::IntervalPropagation(Model& model) : chain_(std::make_unique<Chain>()) {
  Chain& chain = *chain_;
  chain.model = &model;
  CITADEL_CHECK(model.input_count() == 1 && model.output_count() == 1, ValueError, "interval bounds: ", model.name(),
                " has ", model.input_count(), " inputs and ", model.output_count(),
                " outputs; interval bound propagation here takes a chain of layers from one input to one output");
  if (!model.built()) model.build();
  const GraphInfo& graph = model.graph();
  for (size_t n = 0; n < graph.nodes.size(); ++n)
    CITADEL_CHECK(graph.nodes[n].inputs.size() == 1 && graph.nodes[n].call == 0 &&
                      (n == 0 ? graph.nodes[n].inputs[0] == graph.inputs[0]
                              : graph.nodes[n].inputs[0] == graph.nodes[n - 1].output),
                  ValueError, "interval bounds: ", model.name(), " is not a chain of layers (layer '",
                  model.layer(graph.nodes[n].layer).name(),
                  "'); interval bound propagation here takes one layer after another");
  CITADEL_CHECK(model.output_shape().rank() == 1, ValueError, "interval bounds: ", model.name(),
                "'s output has shape ", model.output_shape().str(),
                " per row; interval bounds here verify a classifier of one vector of classes per row");
  size_t count = graph.nodes.size();
  // A last Activation layer of softmax or sigmoid is dropped: the classes are decided on its input.
  if (count > 1) {
    const Layer& last = model.layer(graph.nodes[count - 1].layer);
    if (last.type() == "Activation" && decided_on_logits(last.activation())) chain.dropped = last.activation(), --count;
  }
  CITADEL_CHECK(count > 0, ValueError, "interval bounds: ", model.name(), " has no layers");
  for (size_t n = 0; n < count; ++n) {
    const Layer& layer = model.layer(graph.nodes[n].layer);
    const std::string type = layer.type();
    const bool last = n + 1 == count;
    IntervalStep step;
    step.name = layer.name();
    if (is_affine(type)) {
      step.kind = IntervalStep::Kind::kAffine;
      step.activation = layer.activation();
      if (last && decided_on_logits(step.activation)) chain.dropped = step.activation, step.activation = ActivationKind::kLinear;
      CITADEL_CHECK(monotone(step.activation), ValueError, "interval bounds: layer '", layer.name(),
                    "' has an activation that is not monotone (softmax, GELU or swish); interval bounds here pass "
                    "only monotone activations (relu, sigmoid, tanh, elu, selu, leaky_relu, softplus)");
      step.kernel_id = kernel_of(model, layer);
      step.centre = working_copy(layer, n > 0);
      step.spread = working_copy(layer, n > 0);
      chain.last_dense = last && type == "Dense" && graph.tensors[size_t(graph.nodes[n].inputs[0])].shape.rank() == 1;
    } else if (is_monotone_layer(type)) {
      CITADEL_CHECK(type != "Activation" || monotone(layer.activation()), ValueError, "interval bounds: layer '",
                    layer.name(), "' is an activation that is not monotone (softmax inside the network, GELU or "
                    "swish); interval bounds here pass only monotone activations");
      step.kind = IntervalStep::Kind::kMonotone;
      step.centre = working_copy(layer, true);
      step.spread = working_copy(layer, true);
    } else if (type == "Dropout") {
      step.kind = IntervalStep::Kind::kIdentity;  // the identity at inference, which is what is verified
    } else {
      throw ValueError(detail::concat(
          "interval bounds: layer '", layer.name(), "' (", type,
          ") cannot be bounded here; interval bound propagation takes Dense, Conv1D, Conv2D, pooling, Flatten, "
          "Reshape, Dropout and monotone activations"));
    }
    chain.steps.push_back(std::move(step));
  }
  chain.bounds_lower.resize(chain.steps.size());
  chain.bounds_upper.resize(chain.steps.size());
}

IntervalPropagation::~IntervalPropagation() = default;
IntervalPropagation::IntervalPropagation(IntervalPropagation&&) noexcept = default;
IntervalPropagation& IntervalPropagation::operator=(IntervalPropagation&&) noexcept = default;

ops::ActivationKind IntervalPropagation::output_activation() const { return chain_->dropped; }

void IntervalPropagation::forward(ConstTensorView lower, ConstTensorView upper, Tensor& logits_lower,
                                  Tensor& logits_upper, Mode mode) {
  forward_until(chain_->steps.size(), lower, upper, mode);
  copy_into(chain_->bounds_lower.back(), logits_lower);
  copy_into(chain_->bounds_upper.back(), logits_upper);
}

void IntervalPropagation::forward_until(size_t end, ConstTensorView lower, ConstTensorView upper, Mode mode) {
  Chain& chain = *chain_;
  CITADEL_CHECK(lower.shape() == upper.shape(), ValueError, "interval bounds: the lower bounds have shape ",
                lower.shape().str(), " and the upper ", upper.shape().str());
  chain.refresh_weights();
  ConstTensorView in_lower = lower, in_upper = upper;
  for (size_t s = 0; s < end; ++s) {
    IntervalStep& step = chain.steps[s];
    Tensor& out_lower = chain.bounds_lower[s];
    Tensor& out_upper = chain.bounds_upper[s];
    if (step.kind == IntervalStep::Kind::kAffine) {
      halves(in_lower, in_upper, step.middle, step.radius);
      step.centre->forward(step.middle, step.centre_out, mode);
      step.spread->forward(step.radius, step.spread_out, mode);
      const ConstTensorView centre = step.centre->pre_activation(), spread = step.spread->pre_activation();
      step.z_lower.resize(centre.shape()), step.z_upper.resize(centre.shape());
      const float *c = centre.data(), *r = spread.data();
      float *zl = step.z_lower.data(), *zu = step.z_upper.data();
      for (int64_t i = 0, n = centre.numel(); i < n; ++i) {
        zl[i] = c[i] - r[i];
        zu[i] = c[i] + r[i];
      }
      out_lower.resize(centre.shape()), out_upper.resize(centre.shape());
      ops::activation_forward(step.activation, step.z_lower, out_lower);
      ops::activation_forward(step.activation, step.z_upper, out_upper);
    } else if (step.kind == IntervalStep::Kind::kMonotone) {
      // The layers hold views of their inputs until backward: the previous step's boxes stay
      // until the next forward; the caller's input box is copied (it need not outlive this call).
      if (s == 0) copy_into(in_lower, step.middle), copy_into(in_upper, step.radius);
      step.centre->forward(s == 0 ? ConstTensorView(step.middle) : in_lower, out_lower, mode);
      step.spread->forward(s == 0 ? ConstTensorView(step.radius) : in_upper, out_upper, mode);
    } else {
      copy_into(in_lower, out_lower);
      copy_into(in_upper, out_upper);
    }
    in_lower = out_lower, in_upper = out_upper;
  }
}

void IntervalPropagation::backward(ConstTensorView d_lower, ConstTensorView d_upper) {
  Chain& chain = *chain_;
  ParameterStore& params = chain.model->parameters();
  chain.absolute.zero_grad();
  ConstTensorView grad_lower = d_lower, grad_upper = d_upper;  // at the current step's output
  for (size_t s = chain.steps.size(); s-- > 0;) {
    IntervalStep& step = chain.steps[s];
    const bool needs_input = s > 0;
    if (step.kind == IntervalStep::Kind::kAffine) {
      step.dz_centre.resize(step.z_lower.shape()), step.dz_spread.resize(step.z_upper.shape());
      ops::activation_backward(step.activation, step.z_lower, chain.bounds_lower[s], grad_lower, step.dz_centre);
      ops::activation_backward(step.activation, step.z_upper, chain.bounds_upper[s], grad_upper, step.dz_spread);
      // l = c − r and u = c + r: the centre's gradient is the sum, the radius's the difference.
      float *dc = step.dz_centre.data(), *ds = step.dz_spread.data();
      for (int64_t i = 0, n = step.dz_centre.numel(); i < n; ++i) {
        const float dl = dc[i], du = ds[i];
        dc[i] = dl + du;
        ds[i] = du - dl;
      }
      step.centre->backward_from_pre_activation(step.dz_centre, step.d_centre);
      step.spread->backward_from_pre_activation(step.dz_spread, step.d_spread);
      // ∂|w|/∂w = sign(w): the radius pass's kernel gradient joins the model's through it.
      ConstTensorView kernel = params.value(step.kernel_id), spread_grad = chain.absolute.grad(step.kernel_id);
      TensorView grad = params.grad(step.kernel_id);
      const float *w = kernel.data(), *gs = spread_grad.data();
      float* g = grad.data();
      for (int64_t i = 0, n = kernel.numel(); i < n; ++i) g[i] += w[i] > 0 ? gs[i] : w[i] < 0 ? -gs[i] : 0.0f;
      if (!needs_input) break;
      step.d_in_lower.resize(step.d_centre.shape()), step.d_in_upper.resize(step.d_centre.shape());
      const float *gc = step.d_centre.data(), *gr = step.d_spread.data();
      float *nl = step.d_in_lower.data(), *nu = step.d_in_upper.data();
      for (int64_t i = 0, n = step.d_centre.numel(); i < n; ++i) {
        nl[i] = 0.5f * (gc[i] - gr[i]);
        nu[i] = 0.5f * (gc[i] + gr[i]);
      }
    } else if (step.kind == IntervalStep::Kind::kMonotone) {
      if (!needs_input) break;
      step.centre->backward(grad_lower, step.d_in_lower);
      step.spread->backward(grad_upper, step.d_in_upper);
    } else {
      continue;  // the identity: the gradients pass as they are
    }
    grad_lower = step.d_in_lower, grad_upper = step.d_in_upper;
  }
}

void IntervalPropagation::margin_lower_bounds(ConstTensorView lower, ConstTensorView upper,
                                              const std::vector<int64_t>& labels, Tensor& margins) {
  Chain& chain = *chain_;
  const int64_t rows = lower.shape(0);
  CITADEL_CHECK(int64_t(labels.size()) == rows, ValueError, "interval bounds: ", labels.size(), " labels for ", rows,
                " rows");
  if (!chain.last_dense) {
    Tensor logit_lower, logit_upper;
    forward(lower, upper, logit_lower, logit_upper, Mode::kInfer);
    const int64_t classes = logit_lower.numel() / std::max<int64_t>(rows, 1);
    margins.resize(Shape{rows, classes});
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t y = labels[size_t(r)];
      for (int64_t j = 0; j < classes; ++j) {
        if (classes == 1)  // one sigmoid logit: class 1 is a logit ≥ 0
          margins.at(r, 0) = y == 1 ? logit_lower[r] : -logit_upper[r];
        else
          margins.at(r, j) = j == y ? 0.0f : logit_lower.at(r, y) - logit_upper.at(r, j);
      }
    }
    return;
  }
  // Elision: bound (w_y − w_j)·h + b_y − b_j over the last layer's input box directly.
  const size_t last = chain.steps.size() - 1;
  ConstTensorView in_lower = lower, in_upper = upper;
  if (last > 0) {
    forward_until(last, lower, upper, Mode::kInfer);
    in_lower = chain.bounds_lower[last - 1], in_upper = chain.bounds_upper[last - 1];
  } else {
    chain.refresh_weights();
  }
  const ParameterStore& params = chain.model->parameters();
  const IntervalStep& step = chain.steps[last];
  ConstTensorView kernel = params.value(step.kernel_id);  // (D, classes)
  const int64_t features = kernel.shape(0), classes = kernel.shape(1);
  std::vector<float> bias(size_t(classes), 0.0f);
  const auto& infos = params.parameters();
  for (size_t id = 0; id < infos.size(); ++id)
    if (infos[id].name == step.name + "/bias") {
      ConstTensorView b = params.value(int(id));
      std::copy(b.data(), b.data() + classes, bias.begin());
    }
  margins.resize(Shape{rows, classes});
  for (int64_t r = 0; r < rows; ++r) {
    const float* l = in_lower.data() + r * features;
    const float* u = in_upper.data() + r * features;
    const int64_t y = labels[size_t(r)];
    for (int64_t j = 0; j < classes; ++j) {
      double margin = 0;
      if (classes == 1) {  // the logit itself, signed towards the label
        const double sign = y == 1 ? 1.0 : -1.0;
        margin = sign * bias[0];
        for (int64_t d = 0; d < features; ++d) {
          const double w = sign * kernel[d];
          margin += w > 0 ? w * l[d] : w * u[d];
        }
      } else if (j != y) {
        margin = double(bias[size_t(y)]) - bias[size_t(j)];
        for (int64_t d = 0; d < features; ++d) {
          const double w = double(kernel[d * classes + y]) - kernel[d * classes + j];
          margin += w > 0 ? w * l[d] : w * u[d];
        }
      }
      margins.at(r, j) = float(margin);
    }
  }
}

void input_box(ConstTensorView x, const IntervalBoxOptions& box, Tensor& lower, Tensor& upper) {
  CITADEL_CHECK(std::isfinite(box.epsilon) && box.epsilon >= 0, ValueError,
                "interval bounds: epsilon must be a finite number >= 0, got ", box.epsilon);
  lower.resize(x.shape()), upper.resize(x.shape());
  const float eps = float(box.epsilon);
  for (int64_t i = 0, n = x.numel(); i < n; ++i) {
    // The range is widened to hold x itself, as the attacks do: the original is always inside.
    lower[i] = std::min(x[i], std::max(x[i] - eps, box.clip_min));
    upper[i] = std::max(x[i], std::min(x[i] + eps, box.clip_max));
  }
}

std::vector<uint8_t> verified_rows(Model& model, ConstTensorView x, ConstTensorView y, const IntervalBoxOptions& box,
                                   int64_t batch_size) {
  CITADEL_CHECK(batch_size >= 1, ValueError, "verified_rows: batch_size must be positive, got ", batch_size);
  CITADEL_CHECK(x.shape(0) == y.shape(0), ValueError, "verified_rows: ", x.shape(0), " rows of inputs and ",
                y.shape(0), " of labels");
  IntervalPropagation bounds(model);
  const int64_t classes = model.output_shape().numel();
  const std::vector<int64_t> labels = label_classes(y, classes);
  std::vector<uint8_t> verified(size_t(x.shape(0)), 0);
  Tensor lower, upper, margins;
  for (int64_t begin = 0; begin < x.shape(0); begin += batch_size) {
    const int64_t end = std::min(begin + batch_size, x.shape(0));
    input_box(x.rows(begin, end), box, lower, upper);
    const std::vector<int64_t> batch_labels(labels.begin() + begin, labels.begin() + end);
    bounds.margin_lower_bounds(lower, upper, batch_labels, margins);
    for (int64_t r = 0; r < end - begin; ++r) {
      bool all = true;
      for (int64_t j = 0; j < margins.shape(1); ++j)
        if (margins.shape(1) == 1 || j != batch_labels[size_t(r)]) all = all && margins.at(r, j) > 0;
      verified[size_t(begin + r)] = all;
    }
  }
  return verified;
}

std::vector<VerifiedAccuracyPoint> verified_accuracy(Model& model, ConstTensorView x, ConstTensorView y,
                                                     const std::vector<double>& epsilons, float clip_min,
                                                     float clip_max, int64_t batch_size) {
  std::vector<VerifiedAccuracyPoint> curve;
  for (double epsilon : epsilons) {
    const std::vector<uint8_t> rows =
        verified_rows(model, x, y, {.epsilon = epsilon, .clip_min = clip_min, .clip_max = clip_max}, batch_size);
    const int64_t verified = std::count(rows.begin(), rows.end(), uint8_t{1});
    curve.push_back({epsilon, rows.empty() ? 0.0 : double(verified) / double(rows.size())});
  }
  return curve;
}

}  // namespace citadel
