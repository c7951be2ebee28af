// `citadel watermark`: ownership watermarks. `keygen` writes the secret key
// `serve --watermark` keys its choices with; `verify` tests a suspect model (a
// file, or a KServe v2 URL) against the log of watermarked answers: how many of
// the recorded rows it answers with the recorded label, and the one-sided
// binomial p-value of that under the null of a model independent of the key.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include "citadel/core/error.hpp"
#include "citadel/provenance/served_watermark.hpp"
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
  std::string key_file; // keygen --key
  bool force = false;
  std::string log_file, suspect, token_file;
  int64_t max_queries = 1000;
  double alpha = 1e-3;
  KeyFlags keys;
  OutputFlags output;
};

std::string read_token(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  CITADEL_CHECK(in.is_open(), IoError, path,
                ": cannot open the token file (--token-file)");
  std::string token;
  std::getline(in, token);
  while (!token.empty() && (token.back() == '\r' || token.back() == ' '))
    token.pop_back();
  CITADEL_CHECK(!token.empty() && token.size() <= 4096, ValueError, path,
                ": expected the bearer token on its first line (as `citadel "
                "token add` printed it)");
  return token;
}

// The suspect's answers: a URL's, or a saved classifier's through the server's
// request path.
SuspectAnswers suspect_answers(const WatermarkFlags &s) {
  if (s.suspect.rfind("http://", 0) == 0 || s.suspect.rfind("https://", 0) == 0)
    return serving::suspect_url_answers(
        s.suspect, s.token_file.empty() ? "" : read_token(s.token_file));
  CITADEL_CHECK(s.token_file.empty(), ValueError,
                "--token-file is for a URL suspect, not the model file ",
                s.suspect);
  std::string bytes = read_model_bytes(s.keys, s.suspect);
  LoadedModel loaded = load_model_from_bytes(bytes, s.suspect);
  wipe_bytes(bytes);
  CITADEL_CHECK(loaded.metadata.count("schema"), ValueError, "--suspect ",
                s.suspect,
                ": a model file without a schema (its classes unknown); "
                "watermark verify needs a saved classifier "
                "(`citadel train --save`) or a URL");
  auto served = std::make_shared<serving::ServedModel>();
  served->name = std::filesystem::path(s.suspect).stem().string();
  served->path = s.suspect;
  served->model = saved_model_from(std::move(loaded), s.suspect);
  served->policy = serving::OutputPolicy::parse("label", "watermark verify");
  CITADEL_CHECK(
      served->model.classification() && !served->model.several_outputs(),
      ValueError, "--suspect ", s.suspect,
      ": not a classifier of one output; a served watermark is a label");
  return serving::suspect_model_answers(std::move(served));
}

int run_verify(const WatermarkFlags &s) {
  const WatermarkLog log = read_watermark_log(s.log_file);
  const WatermarkVerdict v = verify_served_watermark(
      log.records, suspect_answers(s), s.max_queries, s.alpha);
  std::printf("Watermark test of %s against %s: %lld of %lld recorded rows "
              "answered with the watermark label "
              "(%.1f %%; an independent model: at most 1/(C-1) = %.4f each, C "
              "= %lld)\n",
              s.suspect.c_str(), s.log_file.c_str(),
              static_cast<long long>(v.matches),
              static_cast<long long>(v.queries),
              100.0 * double(v.matches) / double(v.queries), v.null_probability,
              static_cast<long long>(v.classes));
  std::printf("p-value %.3g (one-sided binomial): %s at alpha %g\n", v.p_value,
              v.claimed
                  ? "CLAIMED, the suspect learnt from the watermarked answers"
                  : "not claimed",
              v.alpha);
  if (log.torn > 0 || log.duplicates > 0)
    std::printf("(log: %lld torn last line not read, %lld repeated records not "
                "counted again)\n",
                static_cast<long long>(log.torn),
                static_cast<long long>(log.duplicates));
  const nlohmann::json report{
      {"suspect", s.suspect},     {"log", s.log_file},
      {"watermark", "served"},    {"records", log.records.size()},
      {"torn_records", log.torn}, {"duplicate_records", log.duplicates},
      {"queries", v.queries},     {"matches", v.matches},
      {"classes", v.classes},     {"null_probability", v.null_probability},
      {"p_value", v.p_value},     {"alpha", v.alpha},
      {"claimed", v.claimed}};
  write_outputs(s.output, "watermark", report);
  return v.claimed ? 0 : kNotClaimed;
}

} // namespace

Command add_watermark_command(CLI::App &app) {
  auto flags = std::make_shared<WatermarkFlags>();
  WatermarkFlags &s = *flags;
  CLI::App *command = app.add_subcommand(
      "watermark", "Ownership watermarks: the key `serve --watermark` uses, "
                   "and the test of a suspect model");
  command->require_subcommand(1);
  CLI::App *keygen = command->add_subcommand(
      "keygen", "Write a new secret watermark key (mode 0600)");
  keygen->add_option("--key", s.key_file, "The key file to write")
      ->required()
      ->option_text("FILE");
  keygen->add_flag("--force", s.force,
                   "Overwrite an existing key (the logs it made can then no "
                   "longer be re-keyed)");
  CLI::App *verify = command->add_subcommand(
      "verify", "Test a suspect model against the log of watermarked answers; "
                "exit 0 when claimed (p < alpha), 3 "
                "when not");
  verify
      ->add_option("--log", s.log_file,
                   "The watermark log `serve --watermark-log` wrote")
      ->required()
      ->option_text("FILE");
  verify
      ->add_option("--suspect", s.suspect,
                   "The suspect: a saved model file, or "
                   "http://HOST:PORT/v2/models/NAME (a KServe v2 endpoint)")
      ->required()
      ->option_text("MODEL|URL");
  verify
      ->add_option(
          "--max-queries", s.max_queries,
          "Send at most this many recorded rows (the first of the log)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{100'000'000}));
  verify
      ->add_option("--alpha", s.alpha,
                   "Claim the suspect when the p-value is below this")
      ->capture_default_str()
      ->check(CLI::Range(1e-300, 0.5));
  verify
      ->add_option("--token-file", s.token_file,
                   "A file holding the bearer token for a URL suspect")
      ->option_text("FILE");
  add_public_key_flag(*verify, s.keys);
  add_decryption_flags(*verify, s.keys);
  add_output_flags(*verify, s.output);
  return {command, [flags, keygen] {
            const WatermarkFlags &f = *flags;
            if (keygen->parsed()) {
              generate_watermark_key(f.key_file, f.force);
              std::printf("Wrote a watermark key to %s (readable by you only); "
                          "keep it secret and backed up\n",
                          f.key_file.c_str());
              return 0;
            }
            return run_verify(f);
          }};
}

} // namespace citadel::cli
