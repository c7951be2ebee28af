// Embedding: a checked gather forward, a scatter-add backward into the rows hit, and
// per-example gradients that merge repeated ids before taking the norm.
#include "citadel/layers/embedding.hpp"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <numeric>
#include <sstream>

#include "citadel/core/error.hpp"
#include "citadel/layers/initializers.hpp"
#include "citadel/layers/layer_config.hpp"

namespace citadel {
namespace {

// "[example 1, position 4]": an id's example and its place among the example's ids.
std::string position_of(int64_t flat, const Shape& per_example) {
  const int64_t size = per_example.numel();
  std::ostringstream out;
  out << "[example " << flat / size;
  int64_t rest = flat % size;
  std::vector<int64_t> index(size_t(per_example.rank()));
  for (int axis = per_example.rank() - 1; axis >= 0; --axis) {
    index[size_t(axis)] = rest % per_example[axis];
    rest /= per_example[axis];
  }
  out << ", position";
  for (int64_t i : index) out << ' ' << i;
  out << ']';
  return out.str();
}

// An id as the user wrote it: whole numbers without an exponent, anything else as a float.
std::string id_text(float id) {
  std::ostringstream out;
  if (std::isfinite(id) && id == std::floor(id) && std::fabs(id) < 1e15f) out << int64_t(id);
  else out << std::setprecision(9) << id;  // every float32 digit: 4.9999995 is not "5"
  return out.str();
}

}  // namespace

Embedding::Embedding(int64_t input_dim, int64_t output_dim, const EmbeddingOptions& options)
    : input_dim_(input_dim), output_dim_(output_dim), options_(options) {
  CITADEL_CHECK(input_dim >= 1 && input_dim <= kMaxInputDim, ValueError, "Embedding: input_dim must be from 1 to ",
                kMaxInputDim, " (2^24, the largest count of ids float32 tensors carry exactly), got ", input_dim);
  CITADEL_CHECK(output_dim >= 1 && output_dim <= kMaxInputDim, ValueError,
                "Embedding: output_dim must be from 1 to ", kMaxInputDim, ", got ", output_dim);
  if (options_.embeddings_initializer == "uniform") options_.embeddings_initializer = "random_uniform";
  check_initializer_name(options_.embeddings_initializer);
}

std::optional<Shape> Embedding::declared_input_shape() const {
  if (options_.input_shape.empty()) return std::nullopt;
  return Shape(options_.input_shape);
}

Shape Embedding::build(const Shape& input_shape, ParameterStore& params) {
  CITADEL_CHECK(input_shape.rank() >= 1 && input_shape.numel() > 0, ShapeError, name_,
                " (Embedding): expected ids of shape (steps,) per example, got ", input_shape.batch_str());
  if (auto declared = declared_input_shape())
    CITADEL_CHECK(*declared == input_shape, ShapeError, name_, " (Embedding): declared input shape ", *declared,
                  " but the model gives ", input_shape);
  CITADEL_CHECK(!options_.mask_zero || input_shape.rank() == 1, ShapeError, name_,
                " (Embedding): mask_zero needs ids of shape (steps,) per example (a mask marks time steps), got ",
                input_shape.batch_str());
  CITADEL_CHECK(input_shape.numel() * output_dim_ <= (int64_t(1) << 31), ShapeError, name_,
                " (Embedding): output ", input_shape.batch_str(), " x ", output_dim_, " is too large");
  input_shape_ = input_shape;
  embeddings_id_ = params.declare(name_ + "/embeddings", Shape{input_dim_, output_dim_},
                                  options_.embeddings_initializer, options_.embeddings_regularizer);
  std::vector<int64_t> out = input_shape.dims();
  out.push_back(output_dim_);
  return Shape(out);
}

void Embedding::bind(ParameterStore& params) {
  embeddings_ = params.value(embeddings_id_);
  dembeddings_ = params.grad(embeddings_id_);
}

void Embedding::forward(ConstTensorView x, Tensor& y, Mode) {
  CITADEL_ASSERT(!embeddings_.empty(), name_, " used before the model was built");
  CITADEL_CHECK(x.rank() == input_shape_.rank() + 1 && x.shape().without_batch() == input_shape_, ShapeError, name_,
                " (Embedding): expected ids ", input_shape_.batch_str(), ", got ", x.shape());
  const int64_t count = x.numel(), D = output_dim_;
  // Every id is checked before any row is read: an id that is not exactly an integer in
  // [0, input_dim) would read outside the table (or the wrong row).
  ids_.resize(size_t(count));
  for (int64_t i = 0; i < count; ++i) {
    const float id = x[i];
    CITADEL_CHECK(std::isfinite(id) && id == std::floor(id), ValueError, name_, " (Embedding): id ", id_text(id), " at ",
                  position_of(i, input_shape_), " is not an integer; token ids must be integers in [0, ", input_dim_,
                  ")");
    CITADEL_CHECK(id >= 0.0f && id < float(input_dim_), ValueError, name_, " (Embedding): id ", id_text(id), " at ",
                  position_of(i, input_shape_), " is out of range; this layer's ids are 0 to ", input_dim_ - 1,
                  " (input_dim ", input_dim_, ")");
    ids_[size_t(i)] = int64_t(id);
  }
  std::vector<int64_t> out = x.shape().dims();
  out.push_back(D);
  y.resize(Shape(out));
  for (int64_t i = 0; i < count; ++i) std::copy_n(embeddings_.data() + ids_[size_t(i)] * D, D, y.data() + i * D);
}

void Embedding::backward(ConstTensorView dy, Tensor& dx) {
  CITADEL_ASSERT(!ids_.empty(), name_, ": backward() called before forward()");
  const int64_t count = int64_t(ids_.size()), D = output_dim_;
  CITADEL_CHECK(dy.numel() == count * D, ShapeError, name_, " (Embedding): gradient shape ", dy.shape(),
                " does not match the last forward's");
  if (per_example_norms_needed_) record_per_example_gradients(dy);
  if (parameter_gradients_needed_)
    for (int64_t i = 0; i < count; ++i) {
      float* row = dembeddings_.data() + ids_[size_t(i)] * D;
      const float* g = dy.data() + i * D;
      for (int64_t d = 0; d < D; ++d) row[d] += g[d];
    }
  if (!input_gradient_needed_) return;
  std::vector<int64_t> in = dy.shape().dims();
  in.pop_back();
  dx.resize(Shape(in));
  std::fill_n(dx.data(), dx.numel(), 0.0f);  // ids are not differentiable
}

void Embedding::record_per_example_gradients(ConstTensorView dy) {
  const int64_t D = output_dim_, per_example = input_shape_.numel();
  const int64_t N = int64_t(ids_.size()) / per_example;
  example_squared_norms_.assign(size_t(N), 0.0);
  order_.resize(size_t(per_example));
  row_sum_.resize(size_t(D));
  for (int64_t n = 0; n < N; ++n) {
    const int64_t* ids = ids_.data() + n * per_example;
    std::iota(order_.begin(), order_.end(), int64_t(0));
    std::stable_sort(order_.begin(), order_.end(), [&](int64_t a, int64_t b) { return ids[a] < ids[b]; });
    double total = 0;
    for (size_t first = 0; first < order_.size();) {
      const int64_t id = ids[order_[first]];
      std::fill(row_sum_.begin(), row_sum_.end(), 0.0);
      size_t last = first;
      for (; last < order_.size() && ids[order_[last]] == id; ++last) {
        const float* g = dy.data() + (n * per_example + order_[last]) * D;
        for (int64_t d = 0; d < D; ++d) row_sum_[size_t(d)] += g[d];
      }
      if (!gradient_sink_.empty()) {  // a shared layer: this call's per-example gradient, added
        float* row = gradient_sink_.data() + n * gradient_sink_.shape(1) + id * D;
        for (int64_t d = 0; d < D; ++d) row[d] += float(row_sum_[size_t(d)]);
      } else {
        for (const double g : row_sum_) total += g * g;
      }
      first = last;
    }
    example_squared_norms_[size_t(n)] = total;
  }
}

void Embedding::compute_mask(std::span<const ConstTensorView> inputs, std::span<const ConstTensorView>,
                             Tensor& mask) const {
  // Called right after forward() on the same ids, which it checked.
  const ConstTensorView ids = inputs[0];
  mask.resize(ids.shape());
  for (int64_t i = 0; i < ids.numel(); ++i) mask[i] = ids[i] != 0.0f ? 1.0f : 0.0f;
}

std::unique_ptr<Layer> Embedding::from_config(const LayerConfigReader& config) {
  config.check_keys({"input_dim", "output_dim", "mask_zero", "embeddings_initializer", "embeddings_regularizer",
                     "embeddings_constraint", "activity_regularizer", "sparse", "lora_rank", "lora_alpha",
                     "input_length"});
  config.require_null("embeddings_constraint");
  config.require_null("activity_regularizer");
  config.require_null("lora_rank");
  config.require("sparse", false);
  // input_length (Keras 2) is accepted and ignored, as Keras 3 does: the input shape says it.
  const int64_t input_dim = config.integer("input_dim", 1, std::min(kMaxInputDim, config.limits().max_units));
  const int64_t output_dim = config.integer("output_dim", 1, config.limits().max_units);
  EmbeddingOptions options;
  options.mask_zero = config.boolean("mask_zero", false);
  options.embeddings_initializer = config.initializer("embeddings_initializer", "random_uniform");
  options.embeddings_regularizer = config.regularizer("embeddings_regularizer");
  options.input_shape = config.input_shape();
  return std::make_unique<Embedding>(input_dim, output_dim, options);
}

void Embedding::get_config(LayerConfigWriter& config) const {
  config.set_integer("input_dim", input_dim_);
  config.set_integer("output_dim", output_dim_);
  config.set_string("embeddings_initializer", options_.embeddings_initializer);
  config.set_regularizer("embeddings_regularizer", options_.embeddings_regularizer);
  config.set_boolean("mask_zero", options_.mask_zero);
}

}  // namespace citadel
