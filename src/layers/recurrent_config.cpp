// Recurrent layers' settings: the checks of each argument (what citadel does not implement
// is refused by name, never ignored) and Keras 3's configs of SimpleRNN, LSTM and GRU.
#include <string>

#include "citadel/core/error.hpp"
#include "citadel/layers/activations.hpp"
#include "citadel/layers/initializers.hpp"
#include "citadel/layers/layer_config.hpp"
#include "citadel/layers/recurrent.hpp"

namespace citadel {

using Cell = RecurrentSettings::Cell;

namespace {

const char* cell_name(Cell cell) {
  switch (cell) {
    case Cell::kSimpleRNN: return "SimpleRNN";
    case Cell::kLSTM: return "LSTM";
    case Cell::kGRU: return "GRU";
  }
  return "RNN";
}

ops::CellActivation cell_activation(Cell cell, const char* argument, const std::string& name) {
  switch (activation_from_name(name)) {
    case ops::ActivationKind::kTanh: return ops::CellActivation::kTanh;
    case ops::ActivationKind::kSigmoid: return ops::CellActivation::kSigmoid;
    case ops::ActivationKind::kRelu: return ops::CellActivation::kRelu;
    case ops::ActivationKind::kLinear: return ops::CellActivation::kLinear;
    default: break;
  }
  throw ValueError(std::string(cell_name(cell)) + ": " + argument + " \"" + name +
                   "\" is not supported in a recurrent cell (tanh, sigmoid, relu or linear)");
}

template <typename Options>
RecurrentSettings common_settings(Cell cell, const Options& options) {
  RecurrentSettings s;
  s.cell = cell;
  s.input_shape = options.input_shape;
  s.activation = options.activation;
  s.use_bias = options.use_bias;
  s.kernel_initializer = options.kernel_initializer;
  s.recurrent_initializer = options.recurrent_initializer;
  s.bias_initializer = options.bias_initializer;
  s.kernel_regularizer = options.kernel_regularizer;
  s.recurrent_regularizer = options.recurrent_regularizer;
  s.bias_regularizer = options.bias_regularizer;
  s.dropout = options.dropout;
  s.recurrent_dropout = options.recurrent_dropout;
  s.return_sequences = options.return_sequences;
  s.return_state = options.return_state;
  s.go_backwards = options.go_backwards;
  s.zero_output_for_mask = options.zero_output_for_mask;
  return s;
}

}  // namespace

Recurrent::Recurrent(int64_t units, const RecurrentSettings& settings)
    : units_(units),
      settings_(settings),
      activation_(cell_activation(settings.cell, "activation", settings.activation)),
      recurrent_activation_(settings.cell == Cell::kSimpleRNN
                                ? ops::CellActivation::kSigmoid
                                : cell_activation(settings.cell, "recurrent_activation", settings.recurrent_activation)) {
  const char* cell = cell_name(settings.cell);
  CITADEL_CHECK(units > 0, ValueError, cell, ": units must be positive, got ", units);
  check_initializer_name(settings.kernel_initializer);
  check_initializer_name(settings.recurrent_initializer);
  check_initializer_name(settings.bias_initializer);
  CITADEL_CHECK(settings.dropout >= 0.0f && settings.dropout < 1.0f, ValueError, cell,
                ": dropout must be in [0, 1), got ", settings.dropout);
  CITADEL_CHECK(settings.recurrent_dropout >= 0.0f && settings.recurrent_dropout < 1.0f, ValueError, cell,
                ": recurrent_dropout must be in [0, 1), got ", settings.recurrent_dropout);
  CITADEL_CHECK(!settings.stateful, ValueError, cell, ": stateful=true is not supported by citadel");
  CITADEL_CHECK(!settings.zero_output_for_mask || settings.return_sequences, ValueError, cell,
                ": zero_output_for_mask needs return_sequences=true");
  CITADEL_CHECK(!(settings.cell == Cell::kLSTM && settings.unit_forget_bias && settings.use_bias &&
                  settings.bias_initializer != "zeros"),
                ValueError, cell, ": unit_forget_bias=true with bias_initializer \"", settings.bias_initializer,
                "\" is not supported (only \"zeros\"); set unit_forget_bias=false");
}

SimpleRNN::SimpleRNN(int64_t units, const SimpleRNNOptions& options)
    : Recurrent(units, common_settings(Cell::kSimpleRNN, options)) {}

namespace {
RecurrentSettings lstm_settings(const LSTMOptions& options) {
  RecurrentSettings s = common_settings(Cell::kLSTM, options);
  s.recurrent_activation = options.recurrent_activation;
  s.unit_forget_bias = options.unit_forget_bias;
  return s;
}
RecurrentSettings gru_settings(const GRUOptions& options) {
  RecurrentSettings s = common_settings(Cell::kGRU, options);
  s.recurrent_activation = options.recurrent_activation;
  s.reset_after = options.reset_after;
  return s;
}
}  // namespace

LSTM::LSTM(int64_t units, const LSTMOptions& options) : Recurrent(units, lstm_settings(options)) {}
GRU::GRU(int64_t units, const GRUOptions& options) : Recurrent(units, gru_settings(options)) {}

std::unique_ptr<Layer> Recurrent::from_config(const LayerConfigReader& config, Cell cell) {
  // Keras 2 writes implementation and time_major too, Keras 3 may write use_cudnn: neither
  // implementation nor use_cudnn changes the math.
  switch (cell) {
    case Cell::kSimpleRNN:
      config.check_keys({"units", "activation", "use_bias", "kernel_initializer", "recurrent_initializer",
                         "bias_initializer", "kernel_regularizer", "recurrent_regularizer", "bias_regularizer",
                         "activity_regularizer", "kernel_constraint", "recurrent_constraint", "bias_constraint",
                         "dropout", "recurrent_dropout", "seed", "return_sequences", "return_state", "go_backwards",
                         "stateful", "unroll", "zero_output_for_mask", "time_major"});
      break;
    case Cell::kLSTM:
      config.check_keys({"units", "activation", "recurrent_activation", "use_bias", "kernel_initializer",
                         "recurrent_initializer", "bias_initializer", "unit_forget_bias", "kernel_regularizer",
                         "recurrent_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint",
                         "recurrent_constraint", "bias_constraint", "dropout", "recurrent_dropout", "seed",
                         "return_sequences", "return_state", "go_backwards", "stateful", "unroll",
                         "zero_output_for_mask", "implementation", "time_major", "use_cudnn"});
      break;
    case Cell::kGRU:
      config.check_keys({"units", "activation", "recurrent_activation", "use_bias", "kernel_initializer",
                         "recurrent_initializer", "bias_initializer", "kernel_regularizer", "recurrent_regularizer",
                         "bias_regularizer", "activity_regularizer", "kernel_constraint", "recurrent_constraint",
                         "bias_constraint", "dropout", "recurrent_dropout", "seed", "return_sequences",
                         "return_state", "go_backwards", "stateful", "unroll", "zero_output_for_mask", "reset_after",
                         "implementation", "time_major", "use_cudnn"});
      break;
  }
  for (const char* key : {"activity_regularizer", "kernel_constraint", "recurrent_constraint", "bias_constraint"})
    config.require_null(key);
  config.require("stateful", false);
  config.require("time_major", false);
  RecurrentSettings s;
  s.cell = cell;
  s.input_shape = config.input_shape();
  s.activation = config.string("activation", "tanh");
  if (cell != Cell::kSimpleRNN) s.recurrent_activation = config.string("recurrent_activation", "sigmoid");
  s.use_bias = config.boolean("use_bias", true);
  s.kernel_initializer = config.initializer("kernel_initializer", "glorot_uniform");
  s.recurrent_initializer = config.initializer("recurrent_initializer", "orthogonal");
  s.bias_initializer = config.initializer("bias_initializer", "zeros");
  if (cell == Cell::kLSTM) s.unit_forget_bias = config.boolean("unit_forget_bias", true);
  if (cell == Cell::kGRU) s.reset_after = config.boolean("reset_after", true);
  s.kernel_regularizer = config.regularizer("kernel_regularizer");
  s.recurrent_regularizer = config.regularizer("recurrent_regularizer");
  s.bias_regularizer = config.regularizer("bias_regularizer");
  s.dropout = static_cast<float>(config.number("dropout", 0.0));
  s.recurrent_dropout = static_cast<float>(config.number("recurrent_dropout", 0.0));
  s.return_sequences = config.boolean("return_sequences", false);
  s.return_state = config.boolean("return_state", false);
  s.go_backwards = config.boolean("go_backwards", false);
  s.unroll = config.boolean("unroll", false);  // how Keras compiles the loop: the math is the same
  s.zero_output_for_mask = config.boolean("zero_output_for_mask", false);
  const int64_t units = config.integer("units", 1, config.limits().max_units);
  try {
    switch (cell) {
      case Cell::kSimpleRNN: return std::unique_ptr<Layer>(new SimpleRNN(units, s, FromSettings{}));
      case Cell::kLSTM: return std::unique_ptr<Layer>(new LSTM(units, s, FromSettings{}));
      case Cell::kGRU: return std::unique_ptr<Layer>(new GRU(units, s, FromSettings{}));
    }
  } catch (const ValueError& error) {
    throw ValueError(config.where() + ": " + error.what());
  }
  return nullptr;
}

std::unique_ptr<Recurrent> Recurrent::with_settings(const RecurrentSettings& settings) const {
  CITADEL_ASSERT(settings.cell == settings_.cell, "with_settings changes the cell");
  switch (settings.cell) {
    case Cell::kSimpleRNN: return std::unique_ptr<Recurrent>(new SimpleRNN(units_, settings, FromSettings{}));
    case Cell::kLSTM: return std::unique_ptr<Recurrent>(new LSTM(units_, settings, FromSettings{}));
    case Cell::kGRU: return std::unique_ptr<Recurrent>(new GRU(units_, settings, FromSettings{}));
  }
  return nullptr;
}

std::unique_ptr<Layer> SimpleRNN::from_config(const LayerConfigReader& config) {
  return Recurrent::from_config(config, Cell::kSimpleRNN);
}
std::unique_ptr<Layer> LSTM::from_config(const LayerConfigReader& config) {
  return Recurrent::from_config(config, Cell::kLSTM);
}
std::unique_ptr<Layer> GRU::from_config(const LayerConfigReader& config) {
  return Recurrent::from_config(config, Cell::kGRU);
}

void Recurrent::get_config(LayerConfigWriter& config) const {
  const RecurrentSettings& s = settings_;
  config.set_integer("units", units_);
  config.set_string("activation", activation_name(activation_from_name(s.activation)));
  if (s.cell != Cell::kSimpleRNN)
    config.set_string("recurrent_activation", activation_name(activation_from_name(s.recurrent_activation)));
  config.set_boolean("use_bias", s.use_bias);
  config.set_string("kernel_initializer", s.kernel_initializer);
  config.set_string("recurrent_initializer", s.recurrent_initializer);
  config.set_string("bias_initializer", s.bias_initializer);
  if (s.cell == Cell::kLSTM) config.set_boolean("unit_forget_bias", s.unit_forget_bias);
  config.set_regularizer("kernel_regularizer", s.kernel_regularizer);
  config.set_regularizer("recurrent_regularizer", s.recurrent_regularizer);
  config.set_regularizer("bias_regularizer", s.bias_regularizer);
  config.set_number("dropout", s.dropout);
  config.set_number("recurrent_dropout", s.recurrent_dropout);
  config.set_boolean("return_sequences", s.return_sequences);
  config.set_boolean("return_state", s.return_state);
  config.set_boolean("go_backwards", s.go_backwards);
  config.set_boolean("stateful", s.stateful);
  config.set_boolean("unroll", s.unroll);
  config.set_boolean("zero_output_for_mask", s.zero_output_for_mask);
  if (s.cell == Cell::kGRU) config.set_boolean("reset_after", s.reset_after);
}

}  // namespace citadel
