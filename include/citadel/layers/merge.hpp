// Merge layers: several tensors into one, as keras.layers.Add, Subtract, Multiply, Average,
// Maximum, Minimum (element-wise, on inputs of one shape), Concatenate (along an axis) and
// Dot (a per-example dot product along given axes). They are called on symbolic tensors:
// Add()({a, b}).
#pragma once

#include <array>
#include <string>
#include <vector>

#include "citadel/layers/layer.hpp"

namespace citadel {

// The element-wise merges share their shape rules and bookkeeping.
class ElementwiseMerge : public Layer {
 public:
  enum class Op { kAdd, kSubtract, kMultiply, kAverage, kMaximum, kMinimum };
  explicit ElementwiseMerge(Op op) : op_(op) {}
  std::string type() const override;
  int input_count() const override { return op_ == Op::kSubtract ? 2 : kAnyNumber; }
  Shape build_inputs(const std::vector<Shape>& input_shapes, ParameterStore& params) override;
  void forward_inputs(std::span<const ConstTensorView> inputs, Tensor& y, Mode mode) override;
  void backward_inputs(ConstTensorView dy, std::span<Tensor* const> dx) override;
  // A merge takes several inputs: the one-tensor forms are errors.
  Shape build(const Shape& input_shape, ParameterStore& params) override;
  void forward(ConstTensorView x, Tensor& y, Mode mode) override;
  void backward(ConstTensorView dy, Tensor& dx) override;
  // Masks as Keras 3 combines them: a step is kept where any input keeps it (OR), when
  // every input has a mask; no mask when one has none.
  bool supports_masking() const override { return true; }
  MaskRule output_mask_rule(std::span<const bool> inputs_masked) const override;
  void compute_mask(std::span<const ConstTensorView> inputs, std::span<const ConstTensorView> masks,
                    Tensor& mask) const override;

 private:
  Op op_;
  Shape shape_;                         // every input's, without the batch axis
  std::vector<ConstTensorView> inputs_;  // the last forward's (owned by the model)
};

class Add final : public ElementwiseMerge {
 public:
  Add() : ElementwiseMerge(Op::kAdd) {}
  std::unique_ptr<Layer> clone() const override { return std::make_unique<Add>(*this); }
  static std::unique_ptr<Layer> from_config(const LayerConfigReader& config);
};
class Subtract final : public ElementwiseMerge {
 public:
  Subtract() : ElementwiseMerge(Op::kSubtract) {}
  std::unique_ptr<Layer> clone() const override { return std::make_unique<Subtract>(*this); }
  static std::unique_ptr<Layer> from_config(const LayerConfigReader& config);
};
class Multiply final : public ElementwiseMerge {
 public:
  Multiply() : ElementwiseMerge(Op::kMultiply) {}
  std::unique_ptr<Layer> clone() const override { return std::make_unique<Multiply>(*this); }
  static std::unique_ptr<Layer> from_config(const LayerConfigReader& config);
};
class Average final : public ElementwiseMerge {
 public:
  Average() : ElementwiseMerge(Op::kAverage) {}
  std::unique_ptr<Layer> clone() const override { return std::make_unique<Average>(*this); }
  static std::unique_ptr<Layer> from_config(const LayerConfigReader& config);
};
class Maximum final : public ElementwiseMerge {
 public:
  Maximum() : ElementwiseMerge(Op::kMaximum) {}
  std::unique_ptr<Layer> clone() const override { return std::make_unique<Maximum>(*this); }
  static std::unique_ptr<Layer> from_config(const LayerConfigReader& config);
};
class Minimum final : public ElementwiseMerge {
 public:
  Minimum() : ElementwiseMerge(Op::kMinimum) {}
  std::unique_ptr<Layer> clone() const override { return std::make_unique<Minimum>(*this); }
  static std::unique_ptr<Layer> from_config(const LayerConfigReader& config);
};

struct ConcatenateOptions {
  int64_t axis = -1;  // as Keras: counted with the batch axis (0); negative from the end
};

class Concatenate final : public Layer {
 public:
  explicit Concatenate(const ConcatenateOptions& options = {}) : options_(options) {}
  std::unique_ptr<Layer> clone() const override { return std::make_unique<Concatenate>(*this); }
  std::string type() const override { return "Concatenate"; }
  static std::unique_ptr<Layer> from_config(const LayerConfigReader& config);
  void get_config(LayerConfigWriter& config) const override;
  int input_count() const override { return kAnyNumber; }
  Shape build_inputs(const std::vector<Shape>& input_shapes, ParameterStore& params) override;
  void forward_inputs(std::span<const ConstTensorView> inputs, Tensor& y, Mode mode) override;
  void backward_inputs(ConstTensorView dy, std::span<Tensor* const> dx) override;
  Shape build(const Shape& input_shape, ParameterStore& params) override;
  void forward(ConstTensorView x, Tensor& y, Mode mode) override;
  void backward(ConstTensorView dy, Tensor& dx) override;
  // Masks as Keras 3 combines them: along the time axis (1) the masks are concatenated;
  // along another axis a step is kept where any input keeps it. An input without a mask
  // counts as all kept, as long as one input has a mask.
  bool supports_masking() const override { return true; }
  MaskRule output_mask_rule(std::span<const bool> inputs_masked) const override;
  void compute_mask(std::span<const ConstTensorView> inputs, std::span<const ConstTensorView> masks,
                    Tensor& mask) const override;

 private:
  ConcatenateOptions options_;
  std::vector<Shape> shapes_;  // the inputs', without the batch axis
  int axis_ = 0;               // without the batch axis
  Shape output_shape_;
};

struct DotOptions {
  // The axis of each input to contract, counted with the batch axis (1 is the first
  // feature axis); one value for both, as Keras's axes=1 or axes=(1, 2).
  std::array<int64_t, 2> axes = {-1, -1};
  bool normalize = false;  // L2-normalize along the axes first: the cosine similarity
};

class Dot final : public Layer {
 public:
  explicit Dot(const DotOptions& options = {}) : options_(options) {}
  std::unique_ptr<Layer> clone() const override { return std::make_unique<Dot>(*this); }
  std::string type() const override { return "Dot"; }
  static std::unique_ptr<Layer> from_config(const LayerConfigReader& config);
  void get_config(LayerConfigWriter& config) const override;
  int input_count() const override { return 2; }
  // Inputs of one or two axes besides the batch: (N, D)·(N, D) → (N, 1); (N, A, D)·(N, D)
  // → (N, A); (N, A, D)·(N, B, D) → (N, A, B) with axes (2, 2).
  Shape build_inputs(const std::vector<Shape>& input_shapes, ParameterStore& params) override;
  void forward_inputs(std::span<const ConstTensorView> inputs, Tensor& y, Mode mode) override;
  void backward_inputs(ConstTensorView dy, std::span<Tensor* const> dx) override;
  Shape build(const Shape& input_shape, ParameterStore& params) override;
  void forward(ConstTensorView x, Tensor& y, Mode mode) override;
  void backward(ConstTensorView dy, Tensor& dx) override;
  // Keras 3's Dot accepts masked inputs and gives its output no mask.
  bool supports_masking() const override { return true; }

 private:
  // An input as (rows, K): its axis to contract moved last (a copy when it is not), and
  // L2-normalized when asked.
  struct Operand {
    Tensor values;      // (N, rows, K) contiguous
    Tensor norms;       // (N, rows): the L2 norms before normalizing
    int64_t rows = 0, depth = 0;
    bool transposed = false;  // the input's layout was (K, rows)
  };
  void prepare(ConstTensorView input, int which, Operand& operand) const;
  DotOptions options_;
  std::array<int, 2> axes_ = {0, 0};  // without the batch axis
  std::array<Shape, 2> shapes_;
  Operand operands_[2];
  Tensor gradient_scratch_;
};

}  // namespace citadel
