// Predictor: copies of a model's layers (a copy keeps its views of the model's weights but
// has its own caches) and its own output buffers.
#include "citadel/model/predictor.hpp"

#include <algorithm>

#include "citadel/core/error.hpp"

namespace citadel {

Predictor::Predictor(const Sequential& model) {
  CITADEL_CHECK(model.built(), ValueError, "Predictor: model '", model.name(), "' is not built");
  for (size_t i = 0; i < model.size(); ++i) layers_.push_back(model.layer(i).clone());
  outputs_.resize(layers_.size());
  input_shape_ = model.input_shape();
  output_shape_ = model.output_shape();
  precision_ = model.precision();
}

Tensor Predictor::predict(ConstTensorView x, const PredictOptions& options) {
  CITADEL_CHECK(options.batch_size >= 1, ValueError, "predict: batch_size must be at least 1, got ", options.batch_size);
  CITADEL_CHECK(x.rank() >= 2 && x.shape().without_batch() == input_shape_, ShapeError, "predict: the model expects inputs ",
                input_shape_.batch_str(), ", got shape ", x.shape());
  const ops::PrecisionScope scope(precision_);
  const int64_t rows = x.shape(0), row_size = output_shape_.numel();
  Tensor result(output_shape_.with_batch(rows));
  for (int64_t begin = 0; begin < rows; begin += options.batch_size) {
    const int64_t end = std::min(begin + options.batch_size, rows);
    ConstTensorView input = x.rows(begin, end);
    for (size_t i = 0; i < layers_.size(); ++i) {
      layers_[i]->forward(input, outputs_[i], Mode::kInfer);
      input = outputs_[i];
    }
    std::copy_n(outputs_.back().data(), (end - begin) * row_size, result.data() + begin * row_size);
  }
  return result;
}

}  // namespace citadel
