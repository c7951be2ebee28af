// Concurrent prediction: a Predictor runs a built model's forward pass with buffers of its
// own, reading the model's weights in place. Predictors of one model may predict at the
// same time from different threads (a server's workers); the weights must not change
// meanwhile (no fit, set_weights or load on the model while they run).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "citadel/core/tensor.hpp"
#include "citadel/layers/layer.hpp"
#include "citadel/model/sequential.hpp"

namespace citadel {

class Predictor {
 public:
  // The model must be built; it must outlive the Predictor.
  explicit Predictor(const Sequential& model);
  // As Sequential::predict, in inference mode (dropout off, moving statistics), in the
  // precision the model had when the Predictor was made.
  Tensor predict(ConstTensorView x, const PredictOptions& options = {});

 private:
  std::vector<std::unique_ptr<Layer>> layers_;  // copies sharing the model's weights
  std::vector<Tensor> outputs_;
  Shape input_shape_, output_shape_;
  ops::Precision precision_;
};

}  // namespace citadel
