// Checkpoint files: the model-file layout plus "optimizer/<buffer>" tensors and a
// "training" metadata record (epoch, iterations, learning rate, random states, history).
#include "citadel/io/checkpoint.hpp"

#include <cstring>
#include <nlohmann/json.hpp>

#include "citadel/core/atomic_file.hpp"
#include "citadel/core/error.hpp"
#include "citadel/core/json_limits.hpp"
#include "citadel/io/model_file.hpp"

namespace citadel {
namespace {

using nlohmann::json;

constexpr const char* kFormat = "citadel-checkpoint";

}  // namespace

void save_checkpoint(Sequential& model, const std::string& path) {
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
  write_file_atomically(path, model_file_bytes(model, {{"training", training.dump()}}, buffers, kFormat));
}

ResumePoint restore_checkpoint(Sequential& model, const std::string& path) {
  CITADEL_CHECK(model.built() && model.compiled(), ValueError,
                "restore_checkpoint: build and compile the model as it was before resuming");
  const std::string bytes = read_file_bytes(path);
  const ModelFileSummary summary = inspect_model_file(bytes, path);  // validates the whole layout
  const auto format = summary.metadata.find("format");
  CITADEL_CHECK(format != summary.metadata.end() && format->second == kFormat, IoError, path,
                ": not a citadel checkpoint");
  const auto record = summary.metadata.find("training");
  CITADEL_CHECK(record != summary.metadata.end() && json_nesting_depth(record->second) <= 32, IoError, path,
                ": no usable training record");
  uint64_t header_length = 0;
  std::memcpy(&header_length, bytes.data(), 8);
  const json header = json::parse(bytes.substr(8, header_length));
  const std::string_view data = std::string_view(bytes).substr(8 + header_length);
  auto tensor = [&](const std::string& name) -> std::string_view {
    CITADEL_CHECK(header.contains(name), IoError, path, ": has no tensor '", name, "'");
    const auto& offsets = header[name]["data_offsets"];
    return data.substr(offsets[0].get<size_t>(), offsets[1].get<size_t>() - offsets[0].get<size_t>());
  };

  ParameterStore& params = model.parameters();
  for (size_t i = 0; i < params.parameters().size(); ++i) {
    const ParameterInfo& info = params.parameters()[i];
    const std::string_view stored = tensor(info.name);
    CITADEL_CHECK(summary.tensors.at(info.name) == info.shape, IoError, path, ": tensor '", info.name,
                  "' has shape ", summary.tensors.at(info.name), " but the model needs ", info.shape);
    std::memcpy(params.value(static_cast<int>(i)).data(), stored.data(), stored.size());
  }
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
      buffer->resize(params.trainable_size());
      std::memcpy(buffer->data(), stored.data(), stored.size());
    }
    optimizer.set_iterations(training.at("iterations").get<int64_t>());
    optimizer.set_learning_rate(training.at("learning_rate").get<float>());
    for (size_t i = 0; i < model.size(); ++i) {
      const auto& layers = training.at("layer_rngs");
      if (layers.contains(model.layer(i).name()))
        model.layer(i).set_random_state(layers[model.layer(i).name()].get<std::vector<uint64_t>>());
    }
    point.epoch = training.at("epoch").get<int>();
    point.shuffle_rng = training.at("shuffle_rng").get<std::vector<uint64_t>>();
    point.history.epoch = training.at("history_epochs").get<std::vector<int>>();
    for (const auto& [name, values] : training.at("history").items())
      point.history.history[name] = values.get<std::vector<double>>();
  } catch (const json::exception& e) {
    throw IoError(path + ": the training record is malformed: " + e.what());
  } catch (const ValueError& e) {
    throw IoError(path + ": the training record is invalid: " + e.what());
  }
  return point;
}

ModelCheckpoint::ModelCheckpoint(std::string path, int every) : path_(std::move(path)), every_(every) {
  CITADEL_CHECK(every >= 1, ValueError, "ModelCheckpoint: every must be >= 1, got ", every);
}

void ModelCheckpoint::on_epoch_saved(int epoch, Sequential& model) {
  if ((epoch + 1) % every_ == 0) save_checkpoint(model, path_);
}

}  // namespace citadel
