// TimeDistributed: the wrapped layer runs once on (N·T, ...), a view of the input with the
// steps folded into the batch; its output and gradients are unfolded the same way.
#include "citadel/layers/time_distributed.hpp"

#include <cctype>
#include <vector>

#include "citadel/core/error.hpp"
#include "citadel/layers/layer_config.hpp"

namespace citadel {

namespace {

// (N, T, d...) → (N·T, d...)
Shape folded(const Shape& shape) {
  std::vector<int64_t> dims{shape[0] * shape[1]};
  for (int i = 2; i < shape.rank(); ++i) dims.push_back(shape[i]);
  return Shape(dims);
}

// (N·T, d...) → (N, T, d...)
Shape unfolded(const Shape& shape, int64_t n, int64_t steps) {
  std::vector<int64_t> dims{n, steps};
  for (int i = 1; i < shape.rank(); ++i) dims.push_back(shape[i]);
  return Shape(dims);
}

// Keras's default name of an unnamed wrapped layer ("Dense" → "dense", "SimpleRNN" →
// "simple_rnn"), as src/model/keras_names.cpp names the model's layers.
std::string default_name(const std::string& type) {
  std::string result;
  for (size_t i = 0; i < type.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(type[i]);
    if (std::isupper(c) && i > 0 && std::islower(static_cast<unsigned char>(type[i - 1]))) result += '_';
    result += static_cast<char>(std::tolower(c));
  }
  return result;
}

}  // namespace

TimeDistributed::TimeDistributed(const Layer& layer, const TimeDistributedOptions& options)
    : options_(options), layer_(layer.clone()) {
  CITADEL_CHECK(layer.input_count() == 1, ValueError, "TimeDistributed: the wrapped layer must take one input, ",
                layer.type(), layer.name().empty() ? "" : " '" + layer.name() + "'", " takes several");
  // Keras: a frozen wrapped layer's weights stay frozen; here they are all of this layer's.
  if (!layer.trainable()) trainable_ = false;
}

TimeDistributed::TimeDistributed(const TimeDistributed& other)
    : Layer(other),
      options_(other.options_),
      layer_(other.layer_->clone()),
      input_shape_(other.input_shape_),
      output_shape_(other.output_shape_) {}

TimeDistributed& TimeDistributed::operator=(const TimeDistributed& other) {
  if (this != &other) {
    TimeDistributed copy(other);
    Layer::operator=(other);
    options_ = copy.options_;
    layer_ = std::move(copy.layer_);
    input_shape_ = copy.input_shape_;
    output_shape_ = copy.output_shape_;
    batch_ = 0;
  }
  return *this;
}

TimeDistributed::~TimeDistributed() = default;

std::unique_ptr<Layer> TimeDistributed::from_config(const LayerConfigReader& config) {
  config.check_keys({"layer"});
  std::unique_ptr<Layer> layer = config.layer("layer");
  try {
    return std::make_unique<TimeDistributed>(*layer, TimeDistributedOptions{config.input_shape()});
  } catch (const ValueError& error) {
    throw ValueError(config.where() + ": " + error.what());
  }
}

void TimeDistributed::get_config(LayerConfigWriter& config) const { config.set_layer("layer", *layer_); }

std::optional<Shape> TimeDistributed::declared_input_shape() const {
  if (options_.input_shape.empty()) return std::nullopt;
  return Shape(options_.input_shape);
}

Shape TimeDistributed::build(const Shape& input_shape, ParameterStore& params) {
  CITADEL_CHECK(input_shape.rank() >= 2, ShapeError, name_, " (TimeDistributed): expected an input (N, T, ...) of ",
                "at least 3 axes, got ", input_shape.batch_str());
  if (auto declared = declared_input_shape())
    CITADEL_CHECK(*declared == input_shape, ShapeError, name_, " (TimeDistributed): declared input shape ", *declared,
                  " but the previous layer gives ", input_shape);
  input_shape_ = input_shape;
  const std::vector<int64_t> dims = input_shape.dims();
  const std::vector<int64_t> step_dims(dims.begin() + 1, dims.end());
  // The wrapped layer's weights are named under this layer; its own name stays Keras's.
  const std::string own = layer_->name().empty() ? default_name(layer_->type()) : layer_->name();
  layer_->set_name(name_ + "/" + own);
  Shape step_out;
  try {
    step_out = layer_->build(Shape(step_dims), params);
  } catch (...) {
    layer_->set_name(own);
    throw;
  }
  layer_->set_name(own);
  std::vector<int64_t> out{input_shape[0]};
  for (int64_t d : step_out.dims()) out.push_back(d);
  output_shape_ = Shape(out);
  return output_shape_;
}

void TimeDistributed::bind(ParameterStore& params) { layer_->bind(params); }

int64_t TimeDistributed::parameter_count() const { return layer_->parameter_count(); }

int64_t TimeDistributed::token_id_bound() const { return layer_->token_id_bound(); }

void TimeDistributed::forward(ConstTensorView x, Tensor& y, Mode mode) {
  CITADEL_ASSERT(input_shape_.rank() > 0, name_, " used before the model was built");
  CITADEL_CHECK(x.rank() == input_shape_.rank() + 1 && x.shape().without_batch() == input_shape_, ShapeError, name_,
                " (TimeDistributed): expected input ", input_shape_.batch_str(), ", got ", x.shape());
  batch_ = x.shape(0);
  const int64_t steps = input_shape_[0];
  layer_->forward(ConstTensorView(x.data(), folded(x.shape())), y, mode);
  y.reshape(unfolded(y.shape(), batch_, steps));
}

void TimeDistributed::backward(ConstTensorView dy, Tensor& dx) {
  CITADEL_ASSERT(batch_ > 0, name_, ": backward() called before forward()");
  const int64_t steps = input_shape_[0], rows = batch_ * steps, count = layer_->parameter_count();
  CITADEL_CHECK(dy.rank() == output_shape_.rank() + 1 && dy.shape(0) == batch_ &&
                    dy.shape().without_batch() == output_shape_,
                ShapeError, name_, " (TimeDistributed): gradient shape ", dy.shape(), " does not match output shape ",
                output_shape_.batch_str());
  layer_->set_input_gradient_needed(input_gradient_needed_);
  layer_->set_parameter_gradients_needed(parameter_gradients_needed_);
  // Each example's gradient is the sum over its steps of the wrapped layer's per-row ones.
  const bool per_example = per_example_norms_needed_ && count > 0 && layer_->writes_per_example_gradients();
  layer_->set_per_example_norms_needed(per_example);
  if (per_example) {
    sink_block_.resize(Shape{rows, count});
    sink_block_.fill(0.0f);
    layer_->set_per_example_gradient_sink(sink_block_);
  }
  layer_->backward(ConstTensorView(dy.data(), folded(dy.shape())), dx);
  if (input_gradient_needed_) dx.reshape(unfolded(dx.shape(), batch_, steps));
  if (!per_example) return;
  layer_->set_per_example_gradient_sink(TensorView());
  std::vector<double> sum(static_cast<size_t>(count));
  if (gradient_sink_.empty()) example_squared_norms_.assign(static_cast<size_t>(batch_), 0.0);
  for (int64_t n = 0; n < batch_; ++n) {
    std::fill(sum.begin(), sum.end(), 0.0);
    for (int64_t t = 0; t < steps; ++t) {
      const float* row = sink_block_.data() + (n * steps + t) * count;
      for (int64_t i = 0; i < count; ++i) sum[size_t(i)] += row[i];
    }
    if (!gradient_sink_.empty()) {
      float* out = gradient_sink_.data() + n * count;
      for (int64_t i = 0; i < count; ++i) out[i] += static_cast<float>(sum[size_t(i)]);
    } else {
      double squared = 0.0;
      for (double g : sum) squared += g * g;
      example_squared_norms_[size_t(n)] = squared;
    }
  }
}

void TimeDistributed::add_per_example_squared_norms(std::span<double> squared_norms) {
  if (layer_->parameter_count() == 0) return;
  CITADEL_CHECK(layer_->writes_per_example_gradients(), NotImplementedError, name_,
                " (TimeDistributed): per-example gradients, needed for private training, are not implemented for "
                "the wrapped ", layer_->type());
  add_recorded_norms(squared_norms);
}

bool TimeDistributed::writes_per_example_gradients() const {
  return layer_->parameter_count() == 0 || layer_->writes_per_example_gradients();
}

void TimeDistributed::reseed(uint64_t seed) { layer_->reseed(seed); }

std::vector<uint64_t> TimeDistributed::random_state() const { return layer_->random_state(); }

void TimeDistributed::set_random_state(const std::vector<uint64_t>& words) { layer_->set_random_state(words); }

}  // namespace citadel
