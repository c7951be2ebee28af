// OutputPart: one output of a layer of several outputs (a recurrent layer's return_state).
// Such a layer writes its outputs packed row by row into one (N, Σ sizes) tensor; each
// OutputPart node views its part as a tensor of its own shape. Layer::call() adds them; they
// have no weights, and configs write them as the owner's tensor indices, not as layers.
#pragma once

#include "citadel/layers/layer.hpp"

namespace citadel {

class OutputPart final : public Layer {
 public:
  // Part `index` of the owner's outputs: `shape` (without the batch axis), starting at
  // `offset` in each packed row; keeps_mask: a sequence that carries the call's mask on.
  OutputPart(int index, int64_t offset, const Shape& shape, bool keeps_mask);
  std::unique_ptr<Layer> clone() const override { return std::make_unique<OutputPart>(*this); }
  std::string type() const override { return "OutputPart"; }

  Shape build(const Shape& input_shape, ParameterStore& params) override;  // in: (Σ sizes)
  void forward(ConstTensorView x, Tensor& y, Mode mode) override;          // y: (N, shape)
  void backward(ConstTensorView dy, Tensor& dx) override;                  // dx: (N, Σ sizes), zero elsewhere

  bool supports_masking() const override { return true; }
  MaskRule output_mask_rule(std::span<const bool> inputs_masked) const override;

  int index() const { return index_; }

 private:
  int index_;
  int64_t offset_;
  Shape shape_;
  bool keeps_mask_;
  int64_t packed_width_ = 0;
};

}  // namespace citadel
