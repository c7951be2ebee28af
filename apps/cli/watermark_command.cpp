// `citadel watermark`: ownership watermarks. `keygen` writes the secret key
// `serve --watermark` keys its choices with; `verify` tests a suspect model (a
// file, or a KServe v2 URL) against the log of watermarked answers: how many of
// the recorded rows it answers with the recorded label, and the one-sided
// binomial p-value of that under the null of a model independent of the key. With
// `--trigger-set KEY` it tests a model file against the key's trigger set instead (a model
// trained with `train --watermark-trigger-set`): the set regenerated, the file's commitment
// checked where it has one, the trigger accuracy and its binomial p-value against 1/C.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <vector>

#include "citadel/core/error.hpp"
#include "citadel/provenance/served_watermark.hpp"
#include "citadel/provenance/trigger_set_watermark.hpp"
#include "citadel/serving/inference_protocol.hpp"
#include "citadel/serving/watermark_suspect.hpp"
#include "commands.hpp"
#include "pipeline.hpp"

namespace citadel::cli {
namespace {

// Exit status of `watermark verify` when the suspect is not claimed (0:
// claimed; 1, 2: errors).
constexpr int kNotClaimed = 3;

struct WatermarkFlags {
  std::string key_file;  // keygen --key
  bool force = false;
  std::string log_file, suspect, token_file;
  int64_t max_queries = 1000;
  double alpha = 1e-3;
  std::string trigger_key;  // --trigger-set
  std::optional<int64_t> trigger_size;
  std::vector<float> trigger_range;
  KeyFlags keys;
  OutputFlags output;
};

std::string read_token(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  CITADEL_CHECK(in.is_open(), IoError, path, ": cannot open the token file (--token-file)");
  std::string token;
  std::getline(in, token);
  while (!token.empty() && (token.back() == '\r' || token.back() == ' ')) token.pop_back();
  CITADEL_CHECK(!token.empty() && token.size() <= 4096, ValueError, path,
                ": expected the bearer token on its first line (as `citadel "
                "token add` printed it)");
  return token;
}

// The suspect's answers: a URL's, or a saved classifier's through the server's
// request path.
SuspectAnswers suspect_answers(const WatermarkFlags& s) {
  if (s.suspect.rfind("http://", 0) == 0 || s.suspect.rfind("https://", 0) == 0)
    return serving::suspect_url_answers(s.suspect, s.token_file.empty() ? "" : read_token(s.token_file));
  CITADEL_CHECK(s.token_file.empty(), ValueError, "--token-file is for a URL suspect, not the model file ", s.suspect);
  std::string bytes = read_model_bytes(s.keys, s.suspect);
  LoadedModel loaded = load_model_from_bytes(bytes, s.suspect);
  wipe_bytes(bytes);
  CITADEL_CHECK(loaded.metadata.count("schema"), ValueError, "--suspect ", s.suspect,
                ": a model file without a schema (its classes unknown); "
                "watermark verify needs a saved classifier "
                "(`citadel train --save`) or a URL");
  auto served = std::make_shared<serving::ServedModel>();
  served->name = std::filesystem::path(s.suspect).stem().string();
  served->path = s.suspect;
  served->model = saved_model_from(std::move(loaded), s.suspect);
  served->policy = serving::OutputPolicy::parse("label", "watermark verify");
  CITADEL_CHECK(served->model.classification() && !served->model.several_outputs(), ValueError, "--suspect ", s.suspect,
                ": not a classifier of one output; a served watermark is a label");
  return serving::suspect_model_answers(std::move(served));
}

// The set's parameters: the file's record of them, else the flags (a stripped copy), else the
// defaults; flags given override the file.
TriggerSetOptions trigger_options(const WatermarkFlags& s, const nlohmann::json& recorded) {
  TriggerSetOptions options;
  if (!recorded.is_null()) {
    options.size = recorded.value("size", options.size);
    options.low = recorded.value("low", options.low);
    options.high = recorded.value("high", options.high);
  }
  if (s.trigger_size) options.size = *s.trigger_size;
  if (!s.trigger_range.empty()) {
    CITADEL_CHECK(s.trigger_range.size() == 2, ValueError, "--trigger-range takes LOW,HIGH");
    options.low = s.trigger_range[0], options.high = s.trigger_range[1];
  }
  return options;
}

int run_verify_trigger_set(const WatermarkFlags& s) {
  CITADEL_CHECK(s.suspect.rfind("http://", 0) != 0 && s.suspect.rfind("https://", 0) != 0, ValueError,
                "--trigger-set tests a model file, not a URL (", s.suspect,
                "): the trigger rows are the network's inputs after its preprocessing");
  CITADEL_CHECK(s.token_file.empty(), ValueError, "--token-file is for a URL suspect, not --trigger-set");
  const WatermarkKey key = WatermarkKey::load(s.trigger_key);
  std::string bytes = read_model_bytes(s.keys, s.suspect);
  LoadedModel loaded = load_model_from_bytes(bytes, s.suspect);
  wipe_bytes(bytes);
  nlohmann::json recorded;
  if (const auto found = loaded.metadata.find("trigger_set_watermark"); found != loaded.metadata.end()) {
    recorded = nlohmann::json::parse(found->second, nullptr, false);
    if (recorded.is_discarded() || !recorded.is_object()) recorded = nullptr;
  }
  Model& model = loaded.model;
  CITADEL_CHECK(model.input_count() == 1 && model.output_count() == 1, ValueError, "--suspect ", s.suspect,
                ": the model takes ", model.input_count(), " inputs and gives ", model.output_count(),
                " outputs; a trigger-set watermark is for a classifier of one input and one output");
  const Shape out = model.output_shape();
  CITADEL_CHECK(out.rank() == 1 && out[0] >= 2, ValueError, "--suspect ", s.suspect, ": its output ", out.str(),
                " is not one score per class");
  const TriggerSet set = make_trigger_set(key, model.input_shape(), out[0], trigger_options(s, recorded));
  // The commitment: a mismatch is reported, not fatal (a copy may have had it changed or stripped).
  std::string commitment = "absent";
  if (!recorded.is_null()) {
    const std::string in_file = recorded.value("commitment", std::string());
    commitment = in_file == set.commitment ? "matches" : "differs";
  }
  const TriggerSetVerdict v = verify_trigger_set(model, set, s.alpha);
  std::printf(
      "Trigger-set test of %s with the key %s (id %s): %lld of %lld trigger rows answered with the keyed "
      "label (trigger accuracy %.1f %%; an independent model: 1/C = %.4f each, C = %lld)\n",
      s.suspect.c_str(), s.trigger_key.c_str(), set.key_id.c_str(), static_cast<long long>(v.matches),
      static_cast<long long>(v.trials), 100.0 * v.accuracy, v.null_probability, static_cast<long long>(v.classes));
  if (commitment == "matches")
    std::printf("Commitment %s: the file's record matches this key's set\n", set.commitment.c_str());
  else if (commitment == "differs")
    std::printf(
        "Commitment MISMATCH: the file records %s, this key's set is %s (another key, or the record was "
        "changed)\n",
        recorded.value("commitment", std::string()).c_str(), set.commitment.c_str());
  else
    std::printf(
        "Commitment %s: the file records none (set of %lld rows in [%g, %g); give --trigger-size and "
        "--trigger-range as the original file recorded them)\n",
        set.commitment.c_str(), static_cast<long long>(set.options.size), double(set.options.low),
        double(set.options.high));
  std::printf("p-value %.3g (one-sided binomial): %s at alpha %g\n", v.p_value,
              v.claimed ? "CLAIMED, the suspect carries the trigger-set watermark" : "not claimed", v.alpha);
  const nlohmann::json report{{"suspect", s.suspect},
                              {"watermark", "trigger_set"},
                              {"key_id", set.key_id},
                              {"commitment", set.commitment},
                              {"commitment_in_file", commitment},
                              {"size", set.options.size},
                              {"low", set.options.low},
                              {"high", set.options.high},
                              {"trials", v.trials},
                              {"matches", v.matches},
                              {"trigger_accuracy", v.accuracy},
                              {"classes", v.classes},
                              {"null_probability", v.null_probability},
                              {"p_value", v.p_value},
                              {"alpha", v.alpha},
                              {"claimed", v.claimed}};
  write_outputs(s.output, "watermark", report);
  return v.claimed ? 0 : kNotClaimed;
}

int run_verify(const WatermarkFlags& s) {
  CITADEL_CHECK(s.log_file.empty() != s.trigger_key.empty(), ValueError,
                "watermark verify: give --log (a served watermark) or --trigger-set (a model file's), not ",
                s.log_file.empty() ? "neither" : "both");
  if (!s.trigger_key.empty()) return run_verify_trigger_set(s);
  CITADEL_CHECK(!s.trigger_size && s.trigger_range.empty(), ValueError,
                "--trigger-size and --trigger-range are for --trigger-set");
  const WatermarkLog log = read_watermark_log(s.log_file);
  const WatermarkVerdict v = verify_served_watermark(log.records, suspect_answers(s), s.max_queries, s.alpha);
  std::printf(
      "Watermark test of %s against %s: %lld of %lld recorded rows "
      "answered with the watermark label "
      "(%.1f %%; an independent model: at most 1/(C-1) = %.4f each, C "
      "= %lld)\n",
      s.suspect.c_str(), s.log_file.c_str(), static_cast<long long>(v.matches), static_cast<long long>(v.queries),
      100.0 * double(v.matches) / double(v.queries), v.null_probability, static_cast<long long>(v.classes));
  std::printf("p-value %.3g (one-sided binomial): %s at alpha %g\n", v.p_value,
              v.claimed ? "CLAIMED, the suspect learnt from the watermarked answers" : "not claimed", v.alpha);
  if (log.torn > 0 || log.duplicates > 0)
    std::printf(
        "(log: %lld torn last line not read, %lld repeated records not "
        "counted again)\n",
        static_cast<long long>(log.torn), static_cast<long long>(log.duplicates));
  const nlohmann::json report{{"suspect", s.suspect},     {"log", s.log_file},
                              {"watermark", "served"},    {"records", log.records.size()},
                              {"torn_records", log.torn}, {"duplicate_records", log.duplicates},
                              {"queries", v.queries},     {"matches", v.matches},
                              {"classes", v.classes},     {"null_probability", v.null_probability},
                              {"p_value", v.p_value},     {"alpha", v.alpha},
                              {"claimed", v.claimed}};
  write_outputs(s.output, "watermark", report);
  return v.claimed ? 0 : kNotClaimed;
}

}  // namespace

Command add_watermark_command(CLI::App& app) {
  auto flags = std::make_shared<WatermarkFlags>();
  WatermarkFlags& s = *flags;
  CLI::App* command = app.add_subcommand("watermark",
                                         "Ownership watermarks: the key `serve --watermark` uses, "
                                         "and the test of a suspect model");
  command->require_subcommand(1);
  CLI::App* keygen = command->add_subcommand("keygen", "Write a new secret watermark key (mode 0600)");
  keygen->add_option("--key", s.key_file, "The key file to write")->required()->option_text("FILE");
  keygen->add_flag("--force", s.force,
                   "Overwrite an existing key (the logs it made can then no "
                   "longer be re-keyed)");
  CLI::App* verify = command->add_subcommand("verify",
                                             "Test a suspect model against the log of watermarked answers, "
                                             "or a model file against a key's trigger set; "
                                             "exit 0 when claimed (p < alpha), 3 "
                                             "when not");
  verify->add_option("--log", s.log_file, "The watermark log `serve --watermark-log` wrote")->option_text("FILE");
  verify
      ->add_option("--trigger-set", s.trigger_key,
                   "Test a model file against this key's trigger set (`train --watermark-trigger-set`) instead")
      ->option_text("KEY");
  verify->add_option("--trigger-size", s.trigger_size,
                     "The trigger set's rows, where the file does not record them (default 100)");
  verify
      ->add_option("--trigger-range", s.trigger_range,
                   "The trigger set's value range, where the file does not record it (default 0,1)")
      ->delimiter(',')
      ->expected(2)
      ->option_text("LOW,HIGH");
  verify
      ->add_option("--suspect", s.suspect,
                   "The suspect: a saved model file, or "
                   "http://HOST:PORT/v2/models/NAME (a KServe v2 endpoint)")
      ->required()
      ->option_text("MODEL|URL");
  verify->add_option("--max-queries", s.max_queries, "Send at most this many recorded rows (the first of the log)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{100'000'000}));
  verify->add_option("--alpha", s.alpha, "Claim the suspect when the p-value is below this")
      ->capture_default_str()
      ->check(CLI::Range(1e-300, 0.5));
  verify->add_option("--token-file", s.token_file, "A file holding the bearer token for a URL suspect")
      ->option_text("FILE");
  add_public_key_flag(*verify, s.keys);
  add_decryption_flags(*verify, s.keys);
  add_output_flags(*verify, s.output);
  return {command, [flags, keygen] {
            const WatermarkFlags& f = *flags;
            if (keygen->parsed()) {
              generate_watermark_key(f.key_file, f.force);
              std::printf(
                  "Wrote a watermark key to %s (readable by you only); "
                  "keep it secret and backed up\n",
                  f.key_file.c_str());
              return 0;
            }
            return run_verify(f);
          }};
}

}  // namespace citadel::cli
