// Merge layers: element-wise merges, concatenation and the batched dot product, each with
// its exact input gradients (Maximum/Minimum route the gradient to the first largest or
// smallest input, as a max-pool does).
#include "citadel/layers/merge.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "citadel/core/error.hpp"
#include "citadel/layers/layer_config.hpp"

namespace citadel {
namespace {

std::string shape_list(const std::vector<Shape>& shapes) {
  std::string text;
  for (const Shape& shape : shapes) text += (text.empty() ? "" : ", ") + shape.batch_str();
  return text;
}

[[noreturn]] void needs_several_inputs(const Layer& layer) {
  throw ValueError(layer.name() + " (" + layer.type() + "): merges several tensors; call it on a list of "
                   "symbolic tensors, e.g. " + layer.type() + "()({a, b})");
}

// A merge layer's config has no settings but what Keras writes for every layer.
template <typename L>
std::unique_ptr<Layer> plain_merge(const LayerConfigReader& config) {
  config.check_keys({});
  return std::make_unique<L>();
}

}  // namespace

// --- element-wise ---------------------------------------------------------------------

std::string ElementwiseMerge::type() const {
  switch (op_) {
    case Op::kAdd: return "Add";
    case Op::kSubtract: return "Subtract";
    case Op::kMultiply: return "Multiply";
    case Op::kAverage: return "Average";
    case Op::kMaximum: return "Maximum";
    case Op::kMinimum: return "Minimum";
  }
  return "";
}

Shape ElementwiseMerge::build_inputs(const std::vector<Shape>& input_shapes, ParameterStore&) {
  const size_t wanted = op_ == Op::kSubtract ? 2 : 0;
  CITADEL_CHECK(input_shapes.size() >= 2 && (wanted == 0 || input_shapes.size() == wanted), ValueError, name_, " (",
                type(), "): takes ", wanted == 2 ? "exactly two" : "two or more", " inputs, got ", input_shapes.size());
  for (const Shape& shape : input_shapes)
    CITADEL_CHECK(shape == input_shapes[0], ShapeError, name_, " (", type(),
                  "): its inputs must have one shape, got ", shape_list(input_shapes),
                  "; reshape or project them first (a Dense layer, say)");
  shape_ = input_shapes[0];
  return shape_;
}

void ElementwiseMerge::forward_inputs(std::span<const ConstTensorView> inputs, Tensor& y, Mode) {
  CITADEL_CHECK(!inputs.empty(), ValueError, name_, " (", type(), "): no inputs");
  const Shape shape = shape_.with_batch(inputs[0].shape(0));
  for (const ConstTensorView& input : inputs)
    CITADEL_CHECK(input.shape() == shape, ShapeError, name_, " (", type(), "): expected inputs ", shape_.batch_str(),
                  ", got ", input.shape());
  inputs_.assign(inputs.begin(), inputs.end());
  y.resize(shape);
  const int64_t count = y.numel();
  float* out = y.data();
  std::copy_n(inputs[0].data(), count, out);
  for (size_t k = 1; k < inputs.size(); ++k) {
    const float* in = inputs[k].data();
    switch (op_) {
      case Op::kAdd:
      case Op::kAverage:
        for (int64_t i = 0; i < count; ++i) out[i] += in[i];
        break;
      case Op::kSubtract:
        for (int64_t i = 0; i < count; ++i) out[i] -= in[i];
        break;
      case Op::kMultiply:
        for (int64_t i = 0; i < count; ++i) out[i] *= in[i];
        break;
      case Op::kMaximum:
        for (int64_t i = 0; i < count; ++i) out[i] = std::max(out[i], in[i]);
        break;
      case Op::kMinimum:
        for (int64_t i = 0; i < count; ++i) out[i] = std::min(out[i], in[i]);
        break;
    }
  }
  if (op_ == Op::kAverage) {
    const float scale = 1.0f / float(inputs.size());
    for (int64_t i = 0; i < count; ++i) out[i] *= scale;
  }
}

void ElementwiseMerge::backward_inputs(ConstTensorView dy, std::span<Tensor* const> dx) {
  CITADEL_ASSERT(dx.size() == inputs_.size(), name_, ": backward() needs the forward's inputs");
  const int64_t count = dy.numel();
  const float* grad = dy.data();
  for (size_t k = 0; k < dx.size(); ++k) {
    if (dx[k] == nullptr) continue;
    dx[k]->resize(dy.shape());
    float* out = dx[k]->data();
    switch (op_) {
      case Op::kAdd:
        std::copy_n(grad, count, out);
        break;
      case Op::kSubtract:
        for (int64_t i = 0; i < count; ++i) out[i] = k == 0 ? grad[i] : -grad[i];
        break;
      case Op::kAverage: {
        const float scale = 1.0f / float(inputs_.size());
        for (int64_t i = 0; i < count; ++i) out[i] = grad[i] * scale;
        break;
      }
      case Op::kMultiply:  // the product of the other inputs
        std::copy_n(grad, count, out);
        for (size_t j = 0; j < inputs_.size(); ++j)
          if (j != k)
            for (int64_t i = 0; i < count; ++i) out[i] *= inputs_[j][i];
        break;
      case Op::kMaximum:
      case Op::kMinimum:  // to the first input that holds the extreme
        for (int64_t i = 0; i < count; ++i) {
          size_t chosen = 0;
          for (size_t j = 1; j < inputs_.size(); ++j) {
            const bool better = op_ == Op::kMaximum ? inputs_[j][i] > inputs_[chosen][i] : inputs_[j][i] < inputs_[chosen][i];
            if (better) chosen = j;
          }
          out[i] = chosen == k ? grad[i] : 0.0f;
        }
        break;
    }
  }
}

Shape ElementwiseMerge::build(const Shape&, ParameterStore&) { needs_several_inputs(*this); }
void ElementwiseMerge::forward(ConstTensorView, Tensor&, Mode) { needs_several_inputs(*this); }
void ElementwiseMerge::backward(ConstTensorView, Tensor&) { needs_several_inputs(*this); }

std::unique_ptr<Layer> Add::from_config(const LayerConfigReader& config) { return plain_merge<Add>(config); }
std::unique_ptr<Layer> Subtract::from_config(const LayerConfigReader& config) { return plain_merge<Subtract>(config); }
std::unique_ptr<Layer> Multiply::from_config(const LayerConfigReader& config) { return plain_merge<Multiply>(config); }
std::unique_ptr<Layer> Average::from_config(const LayerConfigReader& config) { return plain_merge<Average>(config); }
std::unique_ptr<Layer> Maximum::from_config(const LayerConfigReader& config) { return plain_merge<Maximum>(config); }
std::unique_ptr<Layer> Minimum::from_config(const LayerConfigReader& config) { return plain_merge<Minimum>(config); }

// --- Concatenate -----------------------------------------------------------------------

Shape Concatenate::build_inputs(const std::vector<Shape>& input_shapes, ParameterStore&) {
  CITADEL_CHECK(input_shapes.size() >= 2, ValueError, name_, " (Concatenate): takes two or more inputs, got ",
                input_shapes.size());
  const int rank = input_shapes[0].rank();
  // Keras counts the axis with the batch axis; axis 0 (the batch) cannot be concatenated.
  const int64_t with_batch = options_.axis < 0 ? options_.axis + rank + 1 : options_.axis;
  CITADEL_CHECK(with_batch >= 1 && with_batch <= rank, ValueError, name_, " (Concatenate): axis ", options_.axis,
                " is not a feature axis of inputs ", input_shapes[0].batch_str());
  axis_ = static_cast<int>(with_batch - 1);
  Shape output = input_shapes[0];
  int64_t total = 0;
  for (const Shape& shape : input_shapes) {
    bool compatible = shape.rank() == rank;
    for (int a = 0; compatible && a < rank; ++a) compatible = a == axis_ || shape[a] == input_shapes[0][a];
    CITADEL_CHECK(compatible, ShapeError, name_, " (Concatenate): inputs ", shape_list(input_shapes),
                  " differ on an axis other than the one concatenated (", options_.axis, ")");
    total += shape[axis_];
  }
  output[axis_] = total;
  shapes_ = input_shapes;
  output_shape_ = output;
  return output;
}

// Rows are the axes before the concatenated one; each input contributes a run of
// (its axis length × the trailing size) floats to every row of the output.
void Concatenate::forward_inputs(std::span<const ConstTensorView> inputs, Tensor& y, Mode) {
  CITADEL_CHECK(inputs.size() == shapes_.size(), ValueError, name_, " (Concatenate): built for ", shapes_.size(),
                " inputs, got ", inputs.size());
  const int64_t batch = inputs[0].shape(0);
  for (size_t k = 0; k < inputs.size(); ++k)
    CITADEL_CHECK(inputs[k].shape() == shapes_[k].with_batch(batch), ShapeError, name_,
                  " (Concatenate): expected input ", k, " ", shapes_[k].batch_str(), ", got ", inputs[k].shape());
  y.resize(output_shape_.with_batch(batch));
  int64_t outer = batch, inner = 1;
  for (int a = 0; a < axis_; ++a) outer *= output_shape_[a];
  for (int a = axis_ + 1; a < output_shape_.rank(); ++a) inner *= output_shape_[a];
  const int64_t out_run = output_shape_[axis_] * inner;
  int64_t offset = 0;
  for (size_t k = 0; k < inputs.size(); ++k) {
    const int64_t run = shapes_[k][axis_] * inner;
    for (int64_t r = 0; r < outer; ++r)
      std::memcpy(y.data() + r * out_run + offset, inputs[k].data() + r * run, sizeof(float) * size_t(run));
    offset += run;
  }
}

void Concatenate::backward_inputs(ConstTensorView dy, std::span<Tensor* const> dx) {
  const int64_t batch = dy.shape(0);
  int64_t outer = batch, inner = 1;
  for (int a = 0; a < axis_; ++a) outer *= output_shape_[a];
  for (int a = axis_ + 1; a < output_shape_.rank(); ++a) inner *= output_shape_[a];
  const int64_t out_run = output_shape_[axis_] * inner;
  int64_t offset = 0;
  for (size_t k = 0; k < dx.size(); ++k) {
    const int64_t run = shapes_[k][axis_] * inner;
    if (dx[k] != nullptr) {
      dx[k]->resize(shapes_[k].with_batch(batch));
      for (int64_t r = 0; r < outer; ++r)
        std::memcpy(dx[k]->data() + r * run, dy.data() + r * out_run + offset, sizeof(float) * size_t(run));
    }
    offset += run;
  }
}

Shape Concatenate::build(const Shape&, ParameterStore&) { needs_several_inputs(*this); }
void Concatenate::forward(ConstTensorView, Tensor&, Mode) { needs_several_inputs(*this); }
void Concatenate::backward(ConstTensorView, Tensor&) { needs_several_inputs(*this); }

std::unique_ptr<Layer> Concatenate::from_config(const LayerConfigReader& config) {
  config.check_keys({"axis"});
  return std::make_unique<Concatenate>(ConcatenateOptions{config.integer("axis", -8, 8)});
}

void Concatenate::get_config(LayerConfigWriter& config) const { config.set_integer("axis", options_.axis); }

// --- Dot --------------------------------------------------------------------------------

Shape Dot::build_inputs(const std::vector<Shape>& input_shapes, ParameterStore&) {
  CITADEL_CHECK(input_shapes.size() == 2, ValueError, name_, " (Dot): takes two inputs, got ", input_shapes.size());
  for (int k = 0; k < 2; ++k) {
    const Shape& shape = input_shapes[size_t(k)];
    CITADEL_CHECK(shape.rank() == 1 || shape.rank() == 2, ShapeError, name_, " (Dot): inputs of one or two axes "
                  "besides the batch are supported, got ", shape_list(input_shapes));
    const int64_t axis = options_.axes[size_t(k)];
    const int64_t with_batch = axis < 0 ? axis + shape.rank() + 1 : axis;
    CITADEL_CHECK(with_batch >= 1 && with_batch <= shape.rank(), ValueError, name_, " (Dot): axis ", axis,
                  " is not a feature axis of input ", shape.batch_str());
    axes_[size_t(k)] = static_cast<int>(with_batch - 1);
    shapes_[size_t(k)] = shape;
  }
  CITADEL_CHECK(input_shapes[0][axes_[0]] == input_shapes[1][axes_[1]], ShapeError, name_, " (Dot): the axes ",
                options_.axes[0], " and ", options_.axes[1], " of ", shape_list(input_shapes),
                " differ in length, so they cannot be contracted");
  std::vector<int64_t> dims;
  for (int k = 0; k < 2; ++k)
    for (int a = 0; a < shapes_[size_t(k)].rank(); ++a)
      if (a != axes_[size_t(k)]) dims.push_back(shapes_[size_t(k)][a]);
  if (dims.empty()) dims.push_back(1);  // two vectors: one number per example, (N, 1)
  return Shape(dims);
}

void Dot::prepare(ConstTensorView input, int which, Operand& operand) const {
  const Shape& shape = shapes_[size_t(which)];
  const int64_t batch = input.shape(0);
  operand.depth = shape[axes_[size_t(which)]];
  operand.rows = shape.numel() / operand.depth;
  operand.transposed = shape.rank() == 2 && axes_[size_t(which)] == 0;
  operand.values.resize(Shape{batch, operand.rows, operand.depth});
  for (int64_t n = 0; n < batch; ++n) {
    const float* in = input.data() + n * shape.numel();
    float* out = operand.values.data() + n * shape.numel();
    if (!operand.transposed) {
      std::copy_n(in, shape.numel(), out);
    } else {  // stored (depth, rows)
      for (int64_t k = 0; k < operand.depth; ++k)
        for (int64_t r = 0; r < operand.rows; ++r) out[r * operand.depth + k] = in[k * operand.rows + r];
    }
  }
  if (!options_.normalize) return;
  operand.norms.resize(Shape{batch, operand.rows});
  for (int64_t i = 0; i < batch * operand.rows; ++i) {
    float* row = operand.values.data() + i * operand.depth;
    double squared = 0;
    for (int64_t k = 0; k < operand.depth; ++k) squared += double(row[k]) * row[k];
    const double norm = std::sqrt(std::max(squared, 1e-12));  // Keras's l2_normalize epsilon
    operand.norms[i] = static_cast<float>(norm);
    for (int64_t k = 0; k < operand.depth; ++k) row[k] = static_cast<float>(row[k] / norm);
  }
}

void Dot::forward_inputs(std::span<const ConstTensorView> inputs, Tensor& y, Mode) {
  CITADEL_CHECK(inputs.size() == 2, ValueError, name_, " (Dot): takes two inputs, got ", inputs.size());
  const int64_t batch = inputs[0].shape(0);
  for (int k = 0; k < 2; ++k)
    CITADEL_CHECK(inputs[size_t(k)].shape() == shapes_[size_t(k)].with_batch(batch), ShapeError, name_,
                  " (Dot): expected input ", k, " ", shapes_[size_t(k)].batch_str(), ", got ", inputs[size_t(k)].shape());
  prepare(inputs[0], 0, operands_[0]);
  prepare(inputs[1], 1, operands_[1]);
  const Operand &a = operands_[0], &b = operands_[1];
  std::vector<int64_t> dims{batch};
  for (int k = 0; k < 2; ++k)
    for (int axis = 0; axis < shapes_[size_t(k)].rank(); ++axis)
      if (axis != axes_[size_t(k)]) dims.push_back(shapes_[size_t(k)][axis]);
  if (dims.size() == 1) dims.push_back(1);
  y.resize(Shape(dims));
  const int64_t depth = a.depth;
  for (int64_t n = 0; n < batch; ++n)
    for (int64_t i = 0; i < a.rows; ++i)
      for (int64_t j = 0; j < b.rows; ++j) {
        const float* u = a.values.data() + (n * a.rows + i) * depth;
        const float* v = b.values.data() + (n * b.rows + j) * depth;
        double sum = 0;
        for (int64_t k = 0; k < depth; ++k) sum += double(u[k]) * v[k];
        y.data()[(n * a.rows + i) * b.rows + j] = static_cast<float>(sum);
      }
}

void Dot::backward_inputs(ConstTensorView dy, std::span<Tensor* const> dx) {
  const int64_t batch = dy.shape(0);
  const Operand &a = operands_[0], &b = operands_[1];
  const int64_t depth = a.depth;
  for (int which = 0; which < 2; ++which) {
    if (dx[size_t(which)] == nullptr) continue;
    const Operand& self = operands_[which];
    const Operand& other = operands_[1 - which];
    // ∂L/∂(this operand as prepared), (N, rows, depth), in a buffer kept between steps.
    Tensor& gradient = gradient_scratch_;
    gradient.resize(Shape{batch, self.rows, depth});
    gradient.fill(0.0f);
    for (int64_t n = 0; n < batch; ++n)
      for (int64_t i = 0; i < a.rows; ++i)
        for (int64_t j = 0; j < b.rows; ++j) {
          const float g = dy.data()[(n * a.rows + i) * b.rows + j];
          const int64_t mine = which == 0 ? i : j, theirs = which == 0 ? j : i;
          const float* v = other.values.data() + (n * other.rows + theirs) * depth;
          float* out = gradient.data() + (n * self.rows + mine) * depth;
          for (int64_t k = 0; k < depth; ++k) out[k] += g * v[k];
        }
    if (options_.normalize)  // through x̂ = x / ‖x‖: (g − x̂ (x̂·g)) / ‖x‖
      for (int64_t r = 0; r < batch * self.rows; ++r) {
        float* g = gradient.data() + r * depth;
        const float* unit = self.values.data() + r * depth;
        double projection = 0;
        for (int64_t k = 0; k < depth; ++k) projection += double(unit[k]) * g[k];
        for (int64_t k = 0; k < depth; ++k)
          g[k] = static_cast<float>((g[k] - unit[k] * projection) / self.norms[r]);
      }
    Tensor& out = *dx[size_t(which)];
    const Shape& shape = shapes_[size_t(which)];
    out.resize(shape.with_batch(batch));
    for (int64_t n = 0; n < batch; ++n) {
      const float* in = gradient.data() + n * shape.numel();
      float* to = out.data() + n * shape.numel();
      if (!self.transposed) {
        std::copy_n(in, shape.numel(), to);
      } else {
        for (int64_t k = 0; k < depth; ++k)
          for (int64_t r = 0; r < self.rows; ++r) to[k * self.rows + r] = in[r * depth + k];
      }
    }
  }
}

Shape Dot::build(const Shape&, ParameterStore&) { needs_several_inputs(*this); }
void Dot::forward(ConstTensorView, Tensor&, Mode) { needs_several_inputs(*this); }
void Dot::backward(ConstTensorView, Tensor&) { needs_several_inputs(*this); }

std::unique_ptr<Layer> Dot::from_config(const LayerConfigReader& config) {
  config.check_keys({"axes", "normalize"});
  DotOptions options;
  options.normalize = config.boolean("normalize", false);
  // axes: one integer for both inputs, or a pair (pair() reads both forms, each ≥ 1).
  const std::array<int64_t, 2> axes = config.pair("axes");
  options.axes = {axes[0], axes[1]};
  return std::make_unique<Dot>(options);
}

void Dot::get_config(LayerConfigWriter& config) const {
  // Once built, the axes as Keras counts them (positive, with the batch axis).
  const bool built = shapes_[0].rank() > 0;
  const int64_t axes[2] = {built ? axes_[0] + 1 : options_.axes[0], built ? axes_[1] + 1 : options_.axes[1]};
  config.set_list("axes", axes);
  config.set_boolean("normalize", options_.normalize);
}

}  // namespace citadel
