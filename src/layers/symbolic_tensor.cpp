// Symbolic tensors and layer calls: each call records an immutable node after checking its
// shapes on a scratch copy of the layer (nothing is allocated for weights until a model
// builds the graph).
#include "citadel/layers/symbolic_tensor.hpp"

#include <atomic>

#include "citadel/core/error.hpp"
#include "citadel/layers/layer.hpp"
#include "citadel/layers/output_part.hpp"

namespace citadel {
namespace {

uint64_t next_serial() {
  static std::atomic<uint64_t> serial{0};
  return ++serial;
}

}  // namespace

const Shape& SymbolicTensor::shape() const {
  CITADEL_CHECK(node_ != nullptr, ValueError, "an empty SymbolicTensor has no shape");
  return node_->output_shape;
}

std::string SymbolicTensor::name() const {
  if (node_ == nullptr) return "";
  if (!node_->layer) return node_->input_name;
  return node_->layer->name().empty() ? node_->layer->type() : node_->layer->name();
}

bool is_input_dtype(const std::string& dtype) { return dtype == "float32" || dtype == "int32" || dtype == "int64"; }

SymbolicTensor Input(const Shape& shape, const InputOptions& options) {
  CITADEL_CHECK(shape.rank() >= 1, ShapeError, "Input", options.name.empty() ? "" : " '" + options.name + "'",
                ": needs a shape without the batch axis, such as {8} or {28, 28, 1}");
  for (int axis = 0; axis < shape.rank(); ++axis)
    CITADEL_CHECK(shape[axis] > 0, ShapeError, "Input", options.name.empty() ? "" : " '" + options.name + "'",
                  ": every dimension must be known and positive, got ", shape);
  CITADEL_CHECK(is_input_dtype(options.dtype), ValueError, "Input", options.name.empty() ? "" : " '" + options.name + "'",
                ": dtype '", options.dtype, "' is not supported; an input is float32, or int32/int64 for token ids");
  auto node = std::make_shared<detail::GraphNode>();
  node->output_shape = shape;
  node->input_name = options.name;
  node->input_dtype = options.dtype;
  node->serial = next_serial();
  return SymbolicTensor(std::move(node));
}

SymbolicTensor Layer::operator()(const SymbolicTensor& input) const {
  return (*this)(std::vector<SymbolicTensor>{input});
}

SymbolicTensor Layer::operator()(const std::vector<SymbolicTensor>& inputs) const {
  std::vector<SymbolicTensor> outputs = call(inputs);
  CITADEL_CHECK(outputs.size() == 1, ValueError, name_.empty() ? type() : name_, " (", type(), "): gives ",
                outputs.size(), " outputs (return_state); take them all with layer.call({inputs...})");
  return outputs[0];
}

std::vector<SymbolicTensor> Layer::call(const std::vector<SymbolicTensor>& inputs) const {
  const std::string who = (name_.empty() ? type() : name_) + " (" + type() + ")";
  CITADEL_CHECK(!inputs.empty(), ValueError, who, ": called on no tensor");
  for (const SymbolicTensor& input : inputs)
    CITADEL_CHECK(input.defined(), ValueError, who, ": called on an empty tensor; make inputs with Input(shape)");
  const int wanted = input_count();
  if (!accepts_input_count(inputs.size())) {
    CITADEL_CHECK(wanted != kAnyNumber, ValueError, who, ": merges two or more tensors, got ", inputs.size());
    const std::string trailing = trailing_inputs_argument();
    CITADEL_CHECK(trailing.empty(), ValueError, who, ": takes its input and, as ", trailing,
                  ", one tensor per state; got ", inputs.size(), " tensors");
    throw ValueError(
        detail::concat(who, ": takes ", wanted, " input", wanted == 1 ? "" : "s", ", got ", inputs.size()));
  }
  if (!calls_.layer) calls_.layer = clone();
  // The shapes are checked now, on a scratch copy, so the error points at this call.
  std::vector<Shape> shapes;
  for (const SymbolicTensor& input : inputs) shapes.push_back(input.shape());
  std::unique_ptr<Layer> scratch = calls_.layer->clone();
  if (scratch->name().empty()) scratch->set_name(type());
  ParameterStore declarations;  // nothing is allocated
  auto node = std::make_shared<detail::GraphNode>();
  node->output_shape = scratch->build_inputs(shapes, declarations);
  node->layer = calls_.layer;
  node->inputs = inputs;
  node->serial = next_serial();
  SymbolicTensor packed(std::move(node));
  if (scratch->output_count() == 1) return {packed};
  // One OutputPart node per output, each viewing its part of the packed tensor.
  std::vector<SymbolicTensor> parts;
  int64_t offset = 0;
  const std::vector<Shape> part_shapes = scratch->output_part_shapes();
  for (size_t k = 0; k < part_shapes.size(); ++k) {
    auto part = std::make_shared<detail::GraphNode>();
    part->layer = std::make_shared<OutputPart>(int(k), offset, part_shapes[k], scratch->output_part_keeps_mask(int(k)));
    part->inputs = {packed};
    part->output_shape = part_shapes[k];
    part->serial = next_serial();
    parts.emplace_back(std::move(part));
    offset += part_shapes[k].numel();
  }
  CITADEL_ASSERT(offset == packed.shape().numel(), who, ": its output parts do not fill its packed output");
  return parts;
}

}  // namespace citadel
