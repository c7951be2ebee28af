// Concurrent prediction: a Predictor runs a built model's forward walk with buffers of its
// own, reading the model's weights in place. Predictors of one model may predict at the
// same time from different threads (a server's workers); the weights must not change
// meanwhile (no fit, set_weights or load on the model while they run), and a compile that
// freezes or unfreezes a layer moves the weights: make Predictors after it.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "citadel/core/tensor.hpp"
#include "citadel/layers/layer.hpp"
#include "citadel/model/mask_flow.hpp"
#include "citadel/model/model.hpp"
#include "citadel/model/sequential.hpp"

namespace citadel {

class Predictor {
 public:
  // The model must be built; it must outlive the Predictor.
  explicit Predictor(const Model& model);
  // As Model::predict, in inference mode (dropout off, moving statistics), in the precision
  // the model had when the Predictor was made: one input and one output.
  Tensor predict(ConstTensorView x, const PredictOptions& options = {});
  // One tensor per input; one per output.
  std::vector<Tensor> predict(const std::vector<ConstTensorView>& x, const PredictOptions& options = {});

 private:
  GraphInfo graph_;
  std::vector<std::unique_ptr<Layer>> layers_;  // per node: copies sharing the model's weights
  std::vector<Tensor> values_;
  std::vector<ConstTensorView> views_, node_inputs_;
  ops::Precision precision_;
  MaskFlow masks_;
};

}  // namespace citadel
