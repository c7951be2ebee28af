// Checkpoint files: the model-file layout plus "optimizer/<buffer>" tensors and a
// "training" metadata record (epoch, iterations, learning rate, random states, history).
#include "citadel/io/checkpoint.hpp"

#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "citadel/core/atomic_file.hpp"
#include "citadel/core/error.hpp"
#include "citadel/core/json_limits.hpp"
#include "citadel/io/model_file.hpp"
#include "citadel/io/signing.hpp"

namespace citadel {
namespace {

using nlohmann::json;

constexpr const char* kFormat = "citadel-checkpoint";
// Ranges a genuine run stays within; anything beyond is a hostile or corrupted record.
constexpr int64_t kMaxEpochs = 10'000'000;
constexpr int64_t kMaxIterations = int64_t{1} << 40;
constexpr double kMaxLearningRate = 1e3;

// JSON numbers as integers, checked first: nlohmann's get<int64_t>() of 1e30 (or of a
// negative number as uint64_t) is undefined behaviour, which the checkpoint fuzzer found.
int64_t whole_number(const json& value, const std::string& path, const char* field) {
  CITADEL_CHECK(value.is_number_integer(), IoError, path, ": training record '", field, "' must be a whole number, got ",
                value.dump());
  return value.is_number_unsigned() && value.get<uint64_t>() > uint64_t(INT64_MAX) ? INT64_MAX : value.get<int64_t>();
}

std::vector<uint64_t> words(const json& value, const std::string& path, const char* field) {
  CITADEL_CHECK(value.is_array() && value.size() <= 64, IoError, path, ": training record '", field,
                "' must be a short list of 64-bit words");
  std::vector<uint64_t> result;
  for (const json& word : value) {
    CITADEL_CHECK(word.is_number_unsigned(), IoError, path, ": training record '", field,
                  "' holds ", word.dump(), ", not a 64-bit word");
    result.push_back(word.get<uint64_t>());
  }
  return result;
}

}  // namespace

void save_checkpoint(Model& model, const std::string& path, const ModelProtection& protection) {
  CITADEL_CHECK(model.built() && model.compiled(), ValueError, "save_checkpoint: the model must be built and compiled");
  const ResumePoint& progress = model.training_progress();
  Optimizer& optimizer = model.optimizer();
  json layers = json::object();
  for (size_t i = 0; i < model.size(); ++i)
    if (auto words = model.layer(i).random_state(); !words.empty()) layers[model.layer(i).name()] = words;
  json history = json::object();
  for (const auto& [name, values] : progress.history.history) history[name] = values;
  const json training{{"epoch", progress.epoch},
                      {"iterations", optimizer.iterations()},
                      {"learning_rate", optimizer.learning_rate()},
                      {"optimizer", optimizer.name()},
                      {"shuffle_rng", progress.shuffle_rng},
                      {"layer_rngs", layers},
                      {"history_epochs", progress.history.epoch},
                      {"history", history}};

  ExtraTensors buffers;  // the optimizer's state, after the weights
  for (auto& [name, buffer] : optimizer.state())
    if (!buffer->empty()) buffers.emplace_back("optimizer/" + name, std::span<const float>(*buffer));
  write_protected_file(path, model_file_bytes(model, {{"training", training.dump()}}, buffers, kFormat), protection,
                       kPurposeCheckpoint);
}

ResumePoint restore_checkpoint(Model& model, const std::string& path, const ModelAccess& access) {
  std::string bytes = read_protected_file(path, access, kPurposeCheckpoint);
  struct Wipe {
    std::string& bytes;
    ~Wipe() { wipe_bytes(bytes); }
  } wipe{bytes};
  return restore_checkpoint_from_bytes(model, bytes, path);
}

ResumePoint restore_checkpoint_from_bytes(Model& model, std::string_view bytes, const std::string& path) {
  CITADEL_CHECK(model.built() && model.compiled(), ValueError,
                "restore_checkpoint: build and compile the model as it was before resuming");
  const ModelFileSummary summary = inspect_model_file(bytes, path);  // validates the whole layout
  const auto format = summary.metadata.find("format");
  CITADEL_CHECK(format != summary.metadata.end() && format->second == kFormat, IoError, path,
                ": not a citadel checkpoint");
  const auto record = summary.metadata.find("training");
  CITADEL_CHECK(record != summary.metadata.end() && json_nesting_depth(record->second) <= 32, IoError, path,
                ": no usable training record");
  uint64_t header_length = 0;
  std::memcpy(&header_length, bytes.data(), 8);
  const json stored_header = json::parse(bytes.substr(8, header_length));
  json header = json::object();  // tensor names as this version names them
  for (const auto& [name, entry] : stored_header.items()) header[current_tensor_name(name)] = entry;
  const std::string_view data = bytes.substr(8 + header_length);
  auto tensor = [&](const std::string& name) -> std::string_view {
    CITADEL_CHECK(header.contains(name), IoError, path, ": has no tensor '", name, "'");
    const auto& offsets = header[name]["data_offsets"];
    return data.substr(offsets[0].get<uint64_t>(), offsets[1].get<uint64_t>() - offsets[0].get<uint64_t>());
  };

  ParameterStore& params = model.parameters();
  for (size_t i = 0; i < params.parameters().size(); ++i) {
    const ParameterInfo& info = params.parameters()[i];
    const std::string_view stored = tensor(info.name);
    CITADEL_CHECK(summary.tensors.at(info.name) == info.shape, IoError, path, ": tensor '", info.name,
                  "' has shape ", summary.tensors.at(info.name), " but the model needs ", info.shape);
    std::memcpy(params.value(static_cast<int>(i)).data(), stored.data(), stored.size());
  }
  for (float w : params.values())
    CITADEL_CHECK(std::isfinite(w), IoError, path, ": the checkpoint holds a weight that is not finite (", w, ")");
  ResumePoint point;
  try {
    const json training = json::parse(record->second);
    Optimizer& optimizer = model.optimizer();
    CITADEL_CHECK(training.at("optimizer").get<std::string>() == optimizer.name(), IoError, path,
                  ": checkpointed with optimizer ", training.at("optimizer").get<std::string>(), ", resuming with ",
                  optimizer.name());
    for (auto& [name, buffer] : optimizer.state()) {
      const std::string key = "optimizer/" + name;
      if (!header.contains(key)) continue;
      const std::string_view stored = tensor(key);
      CITADEL_CHECK(stored.size() == size_t(params.trainable_size()) * sizeof(float), IoError, path, ": ", key,
                    " does not match the model's ", params.trainable_size(), " trainable parameters");
      std::vector<float> values(static_cast<size_t>(params.trainable_size()));
      std::memcpy(values.data(), stored.data(), stored.size());
      // Second moments (Adam's v, RMSprop's and Adagrad's accumulators) are square roots' arguments.
      const bool non_negative =
          name == "v" || name == "accumulator" || (optimizer.name() == "rmsprop" && name == "velocity");
      for (float v : values)
        CITADEL_CHECK(std::isfinite(v) && (!non_negative || v >= 0), IoError, path, ": optimizer state '", name,
                      "' holds ", v, (non_negative ? ", which must be finite and >= 0" : ", which must be finite"));
      *buffer = std::move(values);
    }
    const int64_t iterations = whole_number(training.at("iterations"), path, "iterations");
    CITADEL_CHECK(iterations >= 0 && iterations <= kMaxIterations, IoError, path, ": training record 'iterations' is ",
                  iterations, "; expected 0 to ", kMaxIterations);
    CITADEL_CHECK(training.at("learning_rate").is_number(), IoError, path, ": training record 'learning_rate' must be a number");
    const double learning_rate = training.at("learning_rate").get<double>();
    CITADEL_CHECK(std::isfinite(learning_rate) && learning_rate >= 0 && learning_rate <= kMaxLearningRate, IoError,
                  path, ": training record 'learning_rate' is ", learning_rate, "; expected 0 to ", kMaxLearningRate);
    optimizer.set_iterations(iterations);
    optimizer.set_learning_rate(static_cast<float>(learning_rate));
    for (size_t i = 0; i < model.size(); ++i) {
      const auto& layers = training.at("layer_rngs");
      if (layers.contains(model.layer(i).name()))
        model.layer(i).set_random_state(words(layers[model.layer(i).name()], path, "layer_rngs"));
    }
    const int64_t epoch = whole_number(training.at("epoch"), path, "epoch");
    CITADEL_CHECK(epoch >= 0 && epoch <= kMaxEpochs, IoError, path, ": training record 'epoch' is ", epoch,
                  "; expected 0 to ", kMaxEpochs);
    point.epoch = static_cast<int>(epoch);
    point.shuffle_rng = words(training.at("shuffle_rng"), path, "shuffle_rng");
    CITADEL_CHECK(point.shuffle_rng.size() == 7, IoError, path, ": training record 'shuffle_rng' needs 7 words");
    const json& epochs = training.at("history_epochs");
    CITADEL_CHECK(epochs.is_array() && int64_t(epochs.size()) == epoch, IoError, path, ": the history has ",
                  epochs.is_array() ? epochs.size() : 0, " epochs but the record says ", epoch);
    for (const json& e : epochs) {
      const int64_t number = whole_number(e, path, "history_epochs");
      CITADEL_CHECK(number >= 0 && number < epoch, IoError, path, ": the history's epoch numbers lie outside 0 to ",
                    epoch - 1);
      point.history.epoch.push_back(static_cast<int>(number));
    }
    for (const auto& [name, values] : training.at("history").items()) {
      point.history.history[name] = values.get<std::vector<double>>();
      CITADEL_CHECK(int64_t(point.history.history[name].size()) <= epoch, IoError, path, ": the history of '", name,
                    "' has more values than epochs");
    }
  } catch (const json::exception& e) {
    throw IoError(path + ": the training record is malformed: " + e.what());
  } catch (const ValueError& e) {
    throw IoError(path + ": the training record is invalid: " + e.what());
  }
  return point;
}

ModelCheckpoint::ModelCheckpoint(std::string path, int every, ModelProtection protection)
    : path_(std::move(path)), every_(every), protection_(std::move(protection)) {
  CITADEL_CHECK(every >= 1, ValueError, "ModelCheckpoint: every must be >= 1, got ", every);
}

void ModelCheckpoint::on_epoch_saved(int epoch, Model& model) {
  if ((epoch + 1) % every_ == 0) save_checkpoint(model, path_, protection_);
}

}  // namespace citadel
