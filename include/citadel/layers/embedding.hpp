// Embedding: token ids → rows of a learned table, as keras.layers.Embedding (Keras 3).
// Ids arrive in citadel's float32 tensors and are checked exactly (integral, in
// [0, input_dim)) before any row is read; mask_zero makes id 0 the padding mask.
#pragma once

#include <string>
#include <vector>

#include "citadel/layers/layer.hpp"
#include "citadel/layers/regularizers.hpp"

namespace citadel {

struct EmbeddingOptions {
  bool mask_zero = false;  // id 0 is padding: the output carries the mask ids != 0
  std::string embeddings_initializer = "random_uniform";  // Keras's "uniform": U(-0.05, 0.05)
  Regularizer embeddings_regularizer = {};
  std::vector<int64_t> input_shape = {};  // when it is the first layer: (T,) ids per example
};

class Embedding final : public Layer {
 public:
  // The largest vocabulary: float32 holds every integer up to 2^24 exactly, and ids travel
  // in float32 tensors (docs/DESIGN.md, "Integer inputs").
  static constexpr int64_t kMaxInputDim = int64_t(1) << 24;

  Embedding(int64_t input_dim, int64_t output_dim, const EmbeddingOptions& options = {});
  Embedding(int64_t input_dim, int64_t output_dim, bool mask_zero)
      : Embedding(input_dim, output_dim, EmbeddingOptions{.mask_zero = mask_zero}) {}
  std::unique_ptr<Layer> clone() const override { return std::make_unique<Embedding>(*this); }
  std::string type() const override { return "Embedding"; }
  static std::unique_ptr<Layer> from_config(const LayerConfigReader& config);
  void get_config(LayerConfigWriter& config) const override;
  std::optional<Shape> declared_input_shape() const override;
  Shape build(const Shape& input_shape, ParameterStore& params) override;  // in: ids (T, ...)
  void bind(ParameterStore& params) override;
  int64_t parameter_count() const override { return input_dim_ * output_dim_; }
  // y: (N, T, ..., output_dim). An id that is not an integer in [0, input_dim) is a
  // ValueError naming the layer, the id and its position; no row is read for it.
  void forward(ConstTensorView x, Tensor& y, Mode mode) override;
  // Adds each position's dy row into its id's row of the table's gradient (only the rows
  // hit); ids have no gradient, so dx is zeros.
  void backward(ConstTensorView dy, Tensor& dx) override;

  int64_t token_id_bound() const override { return input_dim_; }
  MaskRule output_mask_rule(std::span<const bool>) const override {
    return options_.mask_zero ? MaskRule::kComputed : MaskRule::kNone;
  }
  void compute_mask(std::span<const ConstTensorView> inputs, std::span<const ConstTensorView> masks,
                    Tensor& mask) const override;
  // An example's gradient is sparse: for each distinct id it hit, the sum of dy over the
  // positions holding it (repeated tokens add up before the norm).
  void add_per_example_squared_norms(std::span<double> squared_norms) override { add_recorded_norms(squared_norms); }
  bool writes_per_example_gradients() const override { return true; }

  int64_t input_dim() const { return input_dim_; }
  int64_t output_dim() const { return output_dim_; }
  const EmbeddingOptions& options() const { return options_; }
  // The table (input_dim, output_dim), once built: row i is token i's vector.
  ConstTensorView embeddings() const { return embeddings_; }

 private:
  void record_per_example_gradients(ConstTensorView dy);
  int64_t input_dim_, output_dim_;
  EmbeddingOptions options_;
  Shape input_shape_;
  int embeddings_id_ = -1;
  TensorView embeddings_, dembeddings_;
  std::vector<int64_t> ids_;     // the last forward's ids, checked
  std::vector<int64_t> order_;   // scratch: one example's positions sorted by id
  std::vector<double> row_sum_;  // scratch: Σ dy over one id's positions
};

}  // namespace citadel
