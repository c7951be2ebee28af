// Predictor: a copy of each node's layer (a copy keeps its views of the model's weights but
// has its own caches) and its own tensor buffers.
#include "citadel/model/predictor.hpp"

#include <algorithm>

#include "citadel/core/error.hpp"

namespace citadel {

Predictor::Predictor(const Model& model) {
  CITADEL_CHECK(model.built(), ValueError, "Predictor: model '", model.name(), "' is not built");
  graph_ = model.graph();
  for (const GraphInfo::NodeInfo& node : graph_.nodes) layers_.push_back(model.layer(node.layer).clone());
  values_.resize(graph_.tensors.size());
  views_.resize(graph_.tensors.size());
  size_t widest = 1;
  for (const GraphInfo::NodeInfo& node : graph_.nodes) widest = std::max(widest, node.inputs.size());
  node_inputs_.resize(widest);
  precision_ = model.precision();
  std::vector<const Layer*> node_layers;
  for (const auto& layer : layers_) node_layers.push_back(layer.get());
  masks_.plan(graph_, node_layers);
}

Tensor Predictor::predict(ConstTensorView x, const PredictOptions& options) {
  CITADEL_CHECK(graph_.outputs.size() == 1, ValueError, "predict: the model has ", graph_.outputs.size(),
                " outputs; give the inputs as a list");
  return std::move(predict(std::vector<ConstTensorView>{x}, options)[0]);
}

std::vector<Tensor> Predictor::predict(const std::vector<ConstTensorView>& x, const PredictOptions& options) {
  CITADEL_CHECK(options.batch_size >= 1, ValueError, "predict: batch_size must be at least 1, got ", options.batch_size);
  CITADEL_CHECK(x.size() == graph_.inputs.size(), ValueError, "predict: the model takes ", graph_.inputs.size(),
                " inputs, got ", x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const Shape& shape = graph_.tensors[size_t(graph_.inputs[i])].shape;
    CITADEL_CHECK(x[i].rank() >= 2 && x[i].shape().without_batch() == shape && x[i].shape(0) == x[0].shape(0),
                  ShapeError, "predict: the model expects inputs ", shape.batch_str(), ", got shape ", x[i].shape());
  }
  const ops::PrecisionScope scope(precision_);
  const int64_t rows = x[0].shape(0);
  std::vector<Tensor> results;
  for (const int output : graph_.outputs) results.emplace_back(graph_.tensors[size_t(output)].shape.with_batch(rows));
  for (int64_t begin = 0; begin < rows; begin += options.batch_size) {
    const int64_t end = std::min(begin + options.batch_size, rows);
    for (size_t i = 0; i < x.size(); ++i) views_[size_t(graph_.inputs[i])] = x[i].rows(begin, end);
    for (size_t n = 0; n < graph_.nodes.size(); ++n) {
      const GraphInfo::NodeInfo& node = graph_.nodes[n];
      Tensor& out = values_[size_t(node.output)];
      if (masks_.active()) masks_.before(node, n, *layers_[n]);
      if (node.inputs.size() == 1) {
        layers_[n]->forward(views_[size_t(node.inputs[0])], out, Mode::kInfer);
      } else {
        for (size_t j = 0; j < node.inputs.size(); ++j) node_inputs_[j] = views_[size_t(node.inputs[j])];
        layers_[n]->forward_inputs(std::span<const ConstTensorView>(node_inputs_.data(), node.inputs.size()), out,
                                   Mode::kInfer);
      }
      views_[size_t(node.output)] = out;
      if (masks_.active()) masks_.after(node, n, *layers_[n], views_);
    }
    for (size_t k = 0; k < graph_.outputs.size(); ++k) {
      const int64_t row_size = graph_.tensors[size_t(graph_.outputs[k])].shape.numel();
      std::copy_n(views_[size_t(graph_.outputs[k])].data(), (end - begin) * row_size,
                  results[k].data() + begin * row_size);
    }
  }
  return results;
}

}  // namespace citadel
