// `citadel info FILE`: what a model file holds — format, architecture, parameters,
// tensors, training records — validated before anything is shown.
#include <CLI/CLI.hpp>
#include <memory>
#include <cstdio>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <optional>

#include "citadel/data/feature_groups.hpp"
#include "citadel/io/model_file.hpp"
#include "citadel/io/signing.hpp"
#include "commands.hpp"
#include "pipeline.hpp"
#include "terminal_text.hpp"

namespace citadel::cli {
namespace {

struct InfoFlags {
  std::string model_file;
  KeyFlags keys;  // --pubkey, decryption
  OutputFlags output;
};

int run_info(const InfoFlags& s) {
  bool encrypted = false;
  std::string bytes = read_model_bytes(s.keys, s.model_file, &encrypted);  // the file's only read
  const bool has_signature = std::filesystem::exists(signature_path_for(s.model_file));
  const std::string signature = !s.keys.public_key.empty() ? "valid (checked with " + s.keys.public_key + ")"
                                : has_signature        ? "present (" + signature_path_for(s.model_file) +
                                                      "), not checked: give --pubkey"
                                                       : "none";
  const ModelFileSummary summary = inspect_model_file(bytes, s.model_file);
  LoadedModel loaded = load_model_from_bytes(bytes, s.model_file);
  // A model file with a data schema must be usable as one: its schema and preprocessing
  // are checked against the architecture, as predict would.
  std::optional<SavedPipeline> pipeline;
  if (summary.metadata.count("schema")) pipeline = load_pipeline_from_bytes(bytes, s.model_file);
  wipe_bytes(bytes);
  auto record = [&](const char* key) {
    const auto found = summary.metadata.find(key);
    return terminal_safe(found == summary.metadata.end() ? std::string("-") : found->second);
  };
  std::printf("File: %s (%lld bytes, safetensors)\n", terminal_safe(s.model_file).c_str(),
              static_cast<long long>(summary.file_bytes));
  std::printf("Format: %s version %s, written by citadel %s\n", record("format").c_str(),
              record("format_version").c_str(), record("citadel_version").c_str());
  std::printf("Signature: %s\n", terminal_safe(signature).c_str());
  std::printf("Encryption: %s\n\n", encrypted ? "XChaCha20-Poly1305 (decrypted in memory)" : "none");
  std::printf("%s", terminal_safe(loaded.model.summary_text()).c_str());
  const bool several = pipeline && pipeline->data.several_outputs();
  if (loaded.model.compiled()) {
    const auto settings = loaded.model.compile_settings();
    if (several)  // each output's loss is listed below
      std::printf("Compiled with optimizer %s (learning rate %g)\n", terminal_safe(settings.optimizer).c_str(),
                  double(settings.learning_rate));
    else
      std::printf("Compiled with loss %s, optimizer %s (learning rate %g)\n", terminal_safe(settings.loss).c_str(),
                  terminal_safe(settings.optimizer).c_str(), double(settings.learning_rate));
  }
  nlohmann::json outputs = nlohmann::json::object();  // a model of several outputs: each one's label and loss
  if (several) {
    const PreparedData& data = pipeline->data;
    std::printf("\nOutputs (docs/CLI.md, \"Models of several outputs\"):\n");
    for (size_t i = 0; i < data.outputs.size(); ++i) {
      const LabelSchema label = data.schema.label_schema(i);
      const double weight = data.loss_weights.at(data.outputs[i]);
      const std::string kind = label.type == LabelType::kClasses
                                   ? std::to_string(label.class_count()) + " classes" : std::string("a number");
      std::printf("  %-20s label %s (%s), loss %s, weight %g\n", terminal_safe(data.outputs[i]).c_str(),
                  terminal_safe(label.name).c_str(), kind.c_str(), terminal_safe(data.losses[i]).c_str(), weight);
      outputs[data.outputs[i]] = {{"label", label.name},
                                  {"label_type", label.type == LabelType::kClasses ? "classes" : "values"},
                                  {"classes", label.classes},
                                  {"loss", data.losses[i]},
                                  {"loss_weight", weight}};
    }
  }
  nlohmann::json input_columns = nlohmann::json::object();  // a model of several inputs: each one's columns
  if (pipeline && pipeline->model.input_count() > 1) {
    std::printf("\nInputs from columns (docs/CLI.md, \"Models of several inputs\"):\n");
    for (const FeatureGroup& group : feature_groups(pipeline->data.schema, pipeline->model.input_names())) {
      std::string columns;
      for (const auto& column : group.columns) columns += (columns.empty() ? "" : ", ") + column;
      std::printf("  %-24s %s\n", terminal_safe(group.input).c_str(), terminal_safe(columns).c_str());
      input_columns[group.input] = group.columns;
    }
  }
  std::printf("\nTensors:\n");
  for (const auto& [name, shape] : summary.tensors)
    std::printf("  %-24s F32 %s\n", terminal_safe(name).c_str(), shape.str().c_str());
  // The trigger-set watermark's record (`train --watermark-trigger-set`): its commitment, not the key.
  if (const auto found = summary.metadata.find("trigger_set_watermark"); found != summary.metadata.end()) {
    const nlohmann::json watermark = nlohmann::json::parse(found->second, nullptr, false);
    if (watermark.is_object() && watermark.value("commitment", nlohmann::json()).is_string())
      std::printf("\nTrigger-set watermark: commitment %s (key id %s, %s rows)\n",
                  terminal_safe(watermark["commitment"].get<std::string>()).c_str(),
                  terminal_safe(watermark.value("key_id", std::string("?"))).c_str(),
                  terminal_safe(watermark.value("size", nlohmann::json("?")).dump()).c_str());
  }
  std::printf("\nMetadata records:");
  for (const auto& [key, value] : summary.metadata) std::printf(" %s", terminal_safe(key).c_str());
  std::printf("\n");

  nlohmann::json tensors = nlohmann::json::object();
  for (const auto& [name, shape] : summary.tensors) tensors[name] = shape.dims();
  nlohmann::json report = {{"file", s.model_file},
                           {"bytes", summary.file_bytes},
                           {"parameters", loaded.model.count_params()},
                           {"tensors", tensors},
                           {"metadata", summary.metadata},
                           {"signed", has_signature},
                           {"signature_verified", !s.keys.public_key.empty()},
                           {"encrypted", encrypted}};
  if (!input_columns.empty()) report["input_columns"] = input_columns;
  if (!outputs.empty()) report["outputs"] = outputs;
  write_outputs(s.output, "info", report);
  return 0;
}

}  // namespace

Command add_info_command(CLI::App& app) {
  auto flags = std::make_shared<InfoFlags>();
  InfoFlags& s = *flags;
  CLI::App* command = app.add_subcommand("info", "Show what a model file holds: architecture, parameters, metadata");
  command->add_option("model", s.model_file, "The model file")->required()->option_text("FILE");
  command->add_option("--report", s.output.report, "Write what the file holds as JSON")->option_text("FILE");
  add_public_key_flag(*command, s.keys);
  add_decryption_flags(*command, s.keys);
  return {command, [flags] { return run_info(*flags); }};
}

}  // namespace citadel::cli
