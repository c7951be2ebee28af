// `citadel import` (Keras files → a citadel model file) and `citadel export` (a citadel
// model file → ONNX or a Keras file): thin users of citadel/interop.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <utility>

#include "citadel/core/error.hpp"
#include "citadel/interop/keras_export.hpp"
#include "citadel/interop/keras_import.hpp"
#include "citadel/interop/onnx_export.hpp"
#include "citadel/io/model_file.hpp"
#include "citadel/io/saved_model.hpp"
#include "commands.hpp"
#include "report.hpp"
#include "saved_pipeline.hpp"
#include "terminal_text.hpp"

namespace citadel::cli {
namespace {

struct ImportFlags {
  std::string input, output, config, classes;
  KeyFlags keys;  // how the written file is signed and encrypted
  OutputFlags report;
};

std::vector<std::string> class_list(const std::string& text) {
  std::vector<std::string> names;
  if (text.empty()) return names;
  std::string name;
  for (const char c : text + ",") {
    if (c != ',') {
      name += c;
      continue;
    }
    CITADEL_CHECK(!name.empty(), ValueError, "--classes: a class name is empty in '", text, "'");
    names.push_back(name);
    name.clear();
  }
  return names;
}

int run_import(const ImportFlags& s) {
  KerasImportOptions options;
  options.config_path = s.config;
  options.class_names = class_list(s.classes);
  SavedModel saved = import_keras_model(s.input, options);
  save_saved_model(saved.model, saved.metadata, s.output, model_protection(s.keys, false));
  const nlohmann::json from = nlohmann::json::parse(saved.metadata.at("imported_from"));
  std::printf("Imported %s (%s, Keras %s)\n%s", terminal_safe(s.input).c_str(),
              terminal_safe(from.value("format", "")).c_str(), terminal_safe(from.value("keras_version", "?")).c_str(),
              terminal_safe(saved.model.summary_text()).c_str());
  std::printf("Inputs: %s; outputs: %s\nWrote %s\n",
              saved.images ? "images" : (std::to_string(saved.schema.input_columns.size()) + " numeric columns x0...").c_str(),
              saved.classification() ? (std::to_string(saved.schema.class_count()) + " classes").c_str() : "a value",
              terminal_safe(s.output).c_str());
  write_outputs(s.report, "import", {{"file", s.input},
                                     {"output", s.output},
                                     {"imported_from", from},
                                     {"parameters", saved.model.count_params()},
                                     {"layers", saved.model.size()},
                                     {"classes", saved.schema.classes},
                                     {"loss", saved.loss}});
  return 0;
}

struct ExportFlags {
  std::string model, format, output;
  int opset = 13;
  bool no_preprocessing = false;
  KeyFlags keys;  // --pubkey and decryption of the model read
};

int run_export(const ExportFlags& s) {
  std::string bytes = read_model_bytes(s.keys, s.model);  // verified, then decrypted in memory
  LoadedModel loaded = load_model_from_bytes(bytes, s.model);
  wipe_bytes(bytes);
  if (s.format == "onnx") {
    OnnxExportOptions options;
    options.opset = s.opset;
    const auto preprocessing = loaded.metadata.find("preprocessing");
    if (!s.no_preprocessing && preprocessing != loaded.metadata.end()) options.preprocessing = preprocessing->second;
    // A text or speech model's front end (tokenizing, WAV to features) has no ONNX operators
    // up to opset 17: never dropped silently — the graph of ids or features only when asked,
    // with the record in the file's metadata to reproduce the front end.
    for (const auto& [record, reads] : {std::pair{kTextVectorizationRecord, "raw text through its vectorizer"},
                                        std::pair{kAudioPreprocessingRecord, "WAV files through its audio front end"}}) {
      const auto found = loaded.metadata.find(record);
      if (found == loaded.metadata.end()) continue;
      CITADEL_CHECK(s.no_preprocessing, ValueError, s.model, ": the model reads ", reads,
                    ", which ONNX's operators (opsets 13 to 17) cannot express; --no-preprocessing exports the graph "
                    "of what it computes from (token ids as float32, or features), with the front end's record in "
                    "the file's metadata (metadata_props \"citadel.", record, "\")");
      options.metadata[std::string("citadel.") + record] = found->second;
    }
    export_onnx(loaded.model, s.output, options);
  } else {
    export_keras(loaded.model, s.output);
  }
  std::printf("Exported %s as %s to %s\n", terminal_safe(s.model).c_str(), s.format == "onnx" ? "ONNX" : "Keras 3",
              terminal_safe(s.output).c_str());
  return 0;
}

}  // namespace

Command add_import_command(CLI::App& app) {
  auto flags = std::make_shared<ImportFlags>();
  ImportFlags& s = *flags;
  CLI::App* command = app.add_subcommand(
      "import", "Read a Keras model (.keras, .weights.h5 with --config, legacy .h5) into a citadel model file");
  command->add_option("file", s.input, "The Keras file")->required()->option_text("FILE");
  command->add_option("--output,-o", s.output, "The citadel model file to write")->required()->option_text("FILE");
  command->add_option("--config", s.config, "For a weights-only file: the model's config (model.to_json())")
      ->option_text("JSON");
  command->add_option("--classes", s.classes, "Names of the output classes, comma-separated, in output order")
      ->option_text("NAMES");
  command->add_option("--sign-key", s.keys.sign_key, "Sign the written model with this secret key (from keygen)")
      ->option_text("SECRET_KEY");
  add_decryption_flags(*command, s.keys);  // here: encrypt the written model
  command->add_option("--report", s.report.report, "Write what was imported as JSON")->option_text("FILE");
  return {command, [flags] { return run_import(*flags); }};
}

Command add_export_command(CLI::App& app) {
  auto flags = std::make_shared<ExportFlags>();
  ExportFlags& s = *flags;
  CLI::App* command = app.add_subcommand("export", "Write a citadel model file as ONNX or as a Keras 3 .keras file");
  command->add_option("model", s.model, "The citadel model file")->required()->option_text("FILE");
  command->add_option("--format", s.format, "onnx or keras")->required()->check(CLI::IsMember({"onnx", "keras"}));
  command->add_option("--output,-o", s.output, "The file to write")->required()->option_text("FILE");
  command->add_option("--opset", s.opset, "ONNX opset")->capture_default_str()->check(CLI::Range(13, 17));
  command->add_flag("--no-preprocessing", s.no_preprocessing,
                    "ONNX: leave the saved imputation and scaling out (the graph then takes scaled features); a text or "
                    "speech model's graph then takes token ids or features");
  add_public_key_flag(*command, s.keys);
  add_decryption_flags(*command, s.keys);
  return {command, [flags] { return run_export(*flags); }};
}

}  // namespace citadel::cli
