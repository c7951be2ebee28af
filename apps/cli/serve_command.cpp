// `citadel serve`: serves saved models over the KServe v2 REST protocol; `citadel token`
// adds, lists and revokes the API tokens it accepts.
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "citadel/core/error.hpp"
#include "citadel/data/csv.hpp"
#include "citadel/data/idx.hpp"
#include "citadel/data/scaler.hpp"
#include "citadel/io/encryption.hpp"
#include "citadel/io/protected_file.hpp"
#include "citadel/io/signing.hpp"
#include "citadel/serving/server.hpp"
#include "citadel/serving/watermark_policy.hpp"
#include "commands.hpp"
#include "pipeline.hpp"

namespace citadel::cli {
namespace {

struct ServeFlags {
  std::vector<std::string> models;    // FILE or NAME=FILE
  std::vector<std::string> policies;  // NAME=POLICY, or POLICY for every model
  std::string tokens;
  bool no_auth = false, allow_unsigned = false;
  KeyFlags keys;
  serving::ServerOptions server;
  int64_t header_timeout_ms = 10'000, body_timeout_ms = 30'000, idle_timeout_ms = 30'000, compute_timeout_ms = 30'000;
  bool no_extraction_monitor = false;
  int64_t batch_delay_us = 0;
  std::vector<std::string> extraction_alarm_below;  // NAME=W, or W for every model
  std::vector<std::string> smoothing, smoothing_alpha;  // [NAME=]SIGMA,N and [NAME=]A
  std::vector<std::string> strip, strip_clean, strip_frr;  // [NAME=]N, [NAME=]DATA and [NAME=]RATE
  std::string watermark, watermark_log;  // --watermark KEY, --watermark-log FILE
  std::optional<double> watermark_rate;
  int64_t watermark_log_max_records = 1'000'000;
};

// The value of a per-model flag (`given`: VALUE or NAME=VALUE) that applies to `name`, the
// last one winning, as --output-policy's do; nullopt when none does.
std::optional<std::string> value_for(const std::vector<std::string>& given, const std::string& name) {
  std::optional<std::string> value;
  for (const std::string& g : given) {
    const size_t equals = g.find('=');
    if (equals == std::string::npos) value = g;
    else if (g.substr(0, equals) == name) value = g.substr(equals + 1);
  }
  return value;
}

// A NAME= that names no served model is a typo that would serve that model unsmoothed.
void check_names(const std::vector<std::string>& given, const std::vector<std::string>& names, const char* flag) {
  for (const std::string& g : given) {
    const size_t equals = g.find('=');
    if (equals == std::string::npos) continue;
    const std::string name = g.substr(0, equals);
    CITADEL_CHECK(std::find(names.begin(), names.end(), name) != names.end(), ValueError, flag, " ", g,
                  ": no model named '", name, "' is served");
  }
}

// --smoothing for the model `name` (nullopt: served unsmoothed).
std::optional<serving::SmoothingPolicy> smoothing_for(const ServeFlags& s, const std::string& name) {
  const std::optional<std::string> given = value_for(s.smoothing, name);
  if (!given) return std::nullopt;
  double alpha = 0.001;
  if (const std::optional<std::string> a = value_for(s.smoothing_alpha, name)) {
    char* end = nullptr;
    alpha = std::strtod(a->c_str(), &end);
    CITADEL_CHECK(!a->empty() && *end == '\0', ValueError, "--smoothing-alpha ", *a, ": expected A or NAME=A, a number");
  }
  return serving::SmoothingPolicy::parse(*given, alpha, "--smoothing " + name + "=" + *given);
}

// The clean rows STRIP draws its overlays from and calibrates on, as `served` reads them:
// Fashion-MNIST's test split for an image model, else a CSV file's rows (a label column, if
// there, is not used).
std::shared_ptr<const Tensor> strip_clean_rows(const std::string& data, const serving::ServedModel& served,
                                               const std::string& where) {
  const SavedModel& m = served.model;
  CITADEL_CHECK(!served.tensors, ValueError, where, ": model '", served.name,
                "' is a model file without a schema (served as tensors); STRIP needs a saved classifier");
  if (data == "fashion-mnist") {
    CITADEL_CHECK(m.images, ValueError, where, ": model '", served.name,
                  "' reads CSV rows, not images; give --strip-clean a CSV file of its rows");
    Tensor x = load_fashion_mnist().x_test;
    scale_pixels(x.view());
    m.preprocessor.apply(x);
    return std::make_shared<const Tensor>(std::move(x));
  }
  CITADEL_CHECK(!m.images, ValueError, where, ": model '", served.name,
                "' reads images; give --strip-clean fashion-mnist (clean rows of its own kind)");
  Dataset rows = m.encode(read_csv(data));
  return std::make_shared<const Tensor>(std::move(rows.x));
}

// --strip for the model `name` (nullopt: not screened), with its clean rows read.
std::optional<serving::StripPolicy> strip_for(const ServeFlags& s, const serving::ServedModel& served) {
  const std::optional<std::string> given = value_for(s.strip, served.name);
  if (!given) return std::nullopt;
  const std::string where = "--strip " + served.name + "=" + *given;
  // Said before the clean rows are read, which a speech model has no CSV form of.
  CITADEL_CHECK(!served.model.audio, ValueError, where, ": model '", served.name,
                "' reads WAV files (a speech model); STRIP is not offered for speech models, only for models whose "
                "rows are numbers (images or features)");
  double rate = 0.01;
  if (const std::optional<std::string> r = value_for(s.strip_frr, served.name)) {
    char* end = nullptr;
    rate = std::strtod(r->c_str(), &end);
    CITADEL_CHECK(!r->empty() && *end == '\0', ValueError, "--strip-frr ", *r, ": expected RATE or NAME=RATE, a number");
  }
  serving::StripPolicy policy = serving::StripPolicy::parse(*given, rate, where);
  const std::optional<std::string> data = value_for(s.strip_clean, served.name);
  CITADEL_CHECK(data.has_value(), ValueError, where, ": give --strip-clean DATA (a CSV file of the model's rows, or "
                "fashion-mnist), the clean rows STRIP blends with and calibrates on");
  policy.clean_source = *data;
  policy.clean = strip_clean_rows(*data, served, where);
  return policy;
}

// --extraction-alarm-below for the model `name` (unset: the server's default).
std::optional<double> alarm_below_for(const ServeFlags& s, const std::string& name) {
  std::optional<double> below;
  for (const std::string& given : s.extraction_alarm_below) {
    const size_t equals = given.find('=');
    if (equals != std::string::npos && given.substr(0, equals) != name) continue;
    const std::string text = equals == std::string::npos ? given : given.substr(equals + 1);
    char* end = nullptr;
    const double w = std::strtod(text.c_str(), &end);
    CITADEL_CHECK(!text.empty() && *end == '\0' && w > 0 && w < 1, ValueError, "--extraction-alarm-below ", given,
                  ": expected W or NAME=W with 0 < W < 1");
    below = w;
  }
  return below;
}

// Each connection is a file descriptor: the soft limit is raised to what --max-connections
// needs (within the hard limit), and the cap lowered, with a note, where the hard limit is less.
void allow_descriptors_for(serving::ServerOptions& server) {
  constexpr rlim_t kOthers = 256;  // model files, the usage journal, the listening socket, ...
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  const rlim_t wanted = static_cast<rlim_t>(server.max_connections) + kOthers;
  if (limit.rlim_cur < wanted) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max == RLIM_INFINITY ? wanted : std::min(wanted, limit.rlim_max);
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < wanted) {
    const int allowed = static_cast<int>(std::max<rlim_t>(limit.rlim_cur, kOthers + 16) - kOthers);
    std::fprintf(stderr, "serve: --max-connections %d lowered to %d: the open-file limit is %llu (ulimit -n)\n",
                 server.max_connections, allowed, static_cast<unsigned long long>(limit.rlim_cur));
    server.max_connections = allowed;
  }
}

serving::OutputPolicy policy_for(const ServeFlags& s, const std::string& name) {
  serving::OutputPolicy policy;
  for (const std::string& given : s.policies) {
    const size_t equals = given.find('=');
    if (equals == std::string::npos) policy = serving::OutputPolicy::parse(given, "--output-policy");
    else if (given.substr(0, equals) == name)
      policy = serving::OutputPolicy::parse(given.substr(equals + 1), "--output-policy " + given);
  }
  return policy;
}

int run_serve(ServeFlags& s) {
  CITADEL_CHECK(!s.tokens.empty() || s.no_auth, ValueError,
                "serve: give --tokens FILE (from `citadel token add`), or --no-auth to serve without authentication "
                "on loopback only");
  CITADEL_CHECK(s.tokens.empty() || !s.no_auth, ValueError, "serve: --tokens and --no-auth exclude each other");
  if (s.no_auth) {
    CITADEL_CHECK(s.server.host == "127.0.0.1" || s.server.host == "::1" || s.server.host == "localhost", ValueError,
                  "serve --no-auth binds to loopback only (127.0.0.1 or ::1), not ", s.server.host);
    if (s.server.host == "localhost") s.server.host = "127.0.0.1";
  }
  CITADEL_CHECK(!s.keys.public_key.empty() || s.allow_unsigned, ValueError,
                "serve: give --pubkey KEY so that only models signed by it are served, or --allow-unsigned");
  // The same load for the start and for each SIGHUP: read once, verified, decrypted, checked.
  const KeyFlags keys = s.keys;
  const serving::ModelLoader load = [keys](const std::string& name, const std::string& path,
                                           const serving::OutputPolicy& policy) {
    LoadedModel loaded;
    try {
      std::string bytes = read_protected_file(path, model_access(keys), kPurposeModel);
      try {
        loaded = load_model_from_bytes(bytes, path);
      } catch (...) {
        wipe_bytes(bytes);
        throw;
      }
      wipe_bytes(bytes);  // the plaintext of an encrypted model is not kept
    } catch (const SecurityError& e) {  // an unsigned model: say how to sign it
      if (keys.public_key.empty() || std::filesystem::exists(signature_path_for(path))) throw;
      throw SecurityError(std::string(e.what()) + "; sign it with `citadel sign " + path +
                          " --key KEY` (KEY: the secret key whose public key is " + keys.public_key +
                          "), or serve it unverified with --allow-unsigned instead of --pubkey");
    }
    const std::string signature = keys.public_key.empty() ? "unsigned" : "verified";
    // A file without a schema (a graph model saved by the library, or imported) is served
    // on its own Inputs and outputs as tensors; one of `citadel train` on its CSV columns.
    if (!loaded.metadata.count("schema")) {
      serving::ServedModel served =
          serving::tensor_served_model(name, path, std::move(loaded.model), std::move(loaded.metadata), policy);
      served.signature = signature;
      return served;
    }
    serving::ServedModel served{name, path, saved_model_from(std::move(loaded), path), policy, signature};
    // topk:K and label coarsen classes; a number (a model's, or one output's of several)
    // would be answered whole under them, so they are refused for it.
    const bool coarsens_numbers = policy.kind == serving::OutputPolicy::Kind::kFull ||
                                  policy.kind == serving::OutputPolicy::Kind::kRound;
    CITADEL_CHECK(served.model.classification() || coarsens_numbers, ValueError, "--output-policy ", policy.text(),
                  ": model '", name, "' predicts numbers; use full or round:D");
    for (const OutputSchema& output : served.model.outputs)
      CITADEL_CHECK(output.label.type == LabelType::kClasses || coarsens_numbers, ValueError, "--output-policy ",
                    policy.text(), ": the output '", output.name, "' of model '", name,
                    "' predicts numbers; use full or round:D");
    return served;
  };
  CITADEL_CHECK(s.smoothing_alpha.empty() || !s.smoothing.empty(), ValueError,
                "serve: --smoothing-alpha is the level of --smoothing; give --smoothing SIGMA,N too");
  CITADEL_CHECK((s.strip_clean.empty() && s.strip_frr.empty()) || !s.strip.empty(), ValueError,
                "serve: --strip-clean and --strip-frr set up --strip; give --strip N too");
  CITADEL_CHECK((s.watermark_log.empty() && !s.watermark_rate) || !s.watermark.empty(), ValueError,
                "serve: --watermark-log and --watermark-rate set up --watermark; give --watermark KEY too");
  // One key and one log for every model served (each record names its model).
  std::optional<serving::WatermarkPolicy> watermark;
  if (!s.watermark.empty())
    watermark = serving::open_watermark(s.watermark, s.watermark_rate.value_or(0.005), s.watermark_log,
                                        s.watermark_log_max_records);
  std::vector<serving::ServedModel> models;
  for (const std::string& given : s.models) {
    const size_t equals = given.find('=');
    const std::string path = equals == std::string::npos ? given : given.substr(equals + 1);
    const std::string name = equals == std::string::npos ? std::filesystem::path(path).stem().string()
                                                         : given.substr(0, equals);
    for (const auto& m : models) CITADEL_CHECK(m.name != name, ValueError, "--model: two models named '", name, "'");
    models.push_back(load(name, path, policy_for(s, name)));
    models.back().extraction_alarm_below = alarm_below_for(s, name);
    // A smoothed model answers classes only: the label policy unless one was given, which
    // the server then refuses unless it is label (check_smoothable).
    models.back().smoothing = smoothing_for(s, name);
    if (models.back().smoothing && !value_for(s.policies, name))
      models.back().policy = serving::OutputPolicy::parse("label", "--smoothing");
    // Screened by STRIP: calibrated by the server before it listens (the threshold is logged).
    models.back().strip = strip_for(s, models.back());
    models.back().watermark = watermark;  // checked by the server before it listens
  }
  std::vector<std::string> names;
  for (const auto& m : models) names.push_back(m.name);
  check_names(s.smoothing, names, "--smoothing");
  check_names(s.smoothing_alpha, names, "--smoothing-alpha");
  check_names(s.strip, names, "--strip");
  check_names(s.strip_clean, names, "--strip-clean");
  check_names(s.strip_frr, names, "--strip-frr");
  std::optional<serving::TokenStore> tokens;
  if (!s.tokens.empty()) tokens = serving::TokenStore::load(s.tokens);
  allow_descriptors_for(s.server);
  s.server.header_timeout = std::chrono::milliseconds(s.header_timeout_ms);
  s.server.body_timeout = std::chrono::milliseconds(s.body_timeout_ms);
  s.server.idle_timeout = std::chrono::milliseconds(s.idle_timeout_ms);
  s.server.compute_timeout = std::chrono::milliseconds(s.compute_timeout_ms);
  s.server.batch_delay = std::chrono::microseconds(s.batch_delay_us);
  CITADEL_CHECK(s.server.tls_certificate.empty() == s.server.tls_private_key.empty(), ValueError,
                "serve: --tls-cert and --tls-key go together");
  CITADEL_CHECK(!(s.no_extraction_monitor && s.server.block_on_alarm), ValueError,
                "serve: --block-on-alarm needs the extraction monitor (drop --no-extraction-monitor)");
  if (s.no_extraction_monitor) s.server.extraction_monitor.reset();
  serving::Server server(std::move(models), std::move(tokens), s.tokens.empty() ? "" : s.tokens + ".usage", s.server,
                         load);
  server.run_until_signalled([&](uint16_t port) {
    std::fprintf(stderr, "serve: listening on %s:%u%s\n", s.server.host.c_str(), unsigned(port),
                 s.server.tls_certificate.empty() ? "" : " (HTTPS)");
  });
  std::fprintf(stderr, "serve: stopped\n");
  return 0;
}

struct TokenFlags {
  std::string tokens, name;
  std::optional<int64_t> rows_budget;
  std::optional<double> rate;
};

}  // namespace

Command add_serve_command(CLI::App& app) {
  auto flags = std::make_shared<ServeFlags>();
  ServeFlags& s = *flags;
  CLI::App* command = app.add_subcommand(
      "serve", "Serve saved models over HTTP (KServe v2 REST): tokens, budgets, rate limits, output policies");
  command->add_option("--model", s.models, "A saved model to serve, as FILE or NAME=FILE (repeat)")
      ->required()
      ->option_text("[NAME=]FILE");
  command->add_option("--tokens", s.tokens, "The token file (from `citadel token add`); required unless --no-auth")
      ->option_text("FILE");
  command->add_flag("--no-auth", s.no_auth, "Serve without authentication (loopback only)");
  add_public_key_flag(*command, s.keys);
  add_decryption_flags(*command, s.keys);
  command->add_flag("--allow-unsigned", s.allow_unsigned, "Serve models without a signature check (no --pubkey)");
  command->add_option("--output-policy", s.policies,
                      "What a model may reveal: full, topk:K, round:D or label (as POLICY, or NAME=POLICY)")
      ->option_text("[NAME=]POLICY");
  command->add_option("--host", s.server.host, "Address to listen on")->capture_default_str();
  command->add_option("--port", s.server.port, "Port to listen on")->capture_default_str();
  command->add_option("--threads", s.server.threads,
                      "Serving threads: each reads, predicts (in batches) and answers its connections; requests of "
                      "more than --max-batch rows predict on a pool of as many threads")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  command->add_option("--max-body", s.server.max_body_bytes, "Largest request body (bytes)")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{1} << 30));
  command->add_option("--max-rows", s.server.limits.max_rows, "Most rows in one request")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 24));
  command->add_option("--max-body-memory", s.server.max_body_memory,
                      "Bytes of request bodies held at once, all connections together (0: 8 x --max-body); a "
                      "request past it is answered 503 with Retry-After, unread")
      ->capture_default_str()
      ->check(CLI::Range(size_t{0}, size_t{1} << 40));
  command->add_option("--max-connections", s.server.max_connections,
                      "Open connections at once; when full, the waiting connection that has sent the least of a "
                      "request for the longest is closed to make room")
      ->capture_default_str()
      ->check(CLI::Range(1, 1'000'000));
  command->add_option("--reserved-connections", s.server.reserved_connections,
                      "Connections kept for clients that presented a valid token (-1: a quarter of --max-connections)")
      ->capture_default_str()
      ->check(CLI::Range(-1, 1'000'000));
  command->add_option("--max-connections-per-client", s.server.max_connections_per_address,
                      "Open connections at once from one address")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  command->add_option("--header-timeout-ms", s.header_timeout_ms, "Time allowed to send a request's header")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{10}, int64_t{600'000}));
  command->add_option("--body-timeout-ms", s.body_timeout_ms, "Time allowed to send a body (and to read the answer)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{10}, int64_t{600'000}));
  command->add_option("--idle-timeout-ms", s.idle_timeout_ms, "How long a kept-alive connection may idle")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{10}, int64_t{3'600'000}));
  command->add_option("--compute-timeout-ms", s.compute_timeout_ms,
                      "Time from admission to the answer for a request predicted on the pool (more than --max-batch "
                      "rows): past it, 504, and not computed if not started")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{3'600'000}));
  command->add_option("--max-batch", s.server.max_batch_rows,
                      "Most rows predicted in one pass when requests for a model wait together")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{100'000}));
  command->add_option("--batch-delay-us", s.batch_delay_us,
                      "How long a request may wait for others to batch with (0: only those already waiting)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{100'000}));
  command->add_option("--tls-cert", s.server.tls_certificate, "Serve HTTPS with this PEM certificate chain")
      ->option_text("FILE")
      ->check(CLI::ExistingFile);
  command->add_option("--tls-key", s.server.tls_private_key, "The PEM private key of --tls-cert")
      ->option_text("FILE")
      ->check(CLI::ExistingFile);
  command->add_flag("!--no-log", s.server.log_requests, "No JSON line per request on stderr");
  command->add_flag("--block-on-alarm", s.server.block_on_alarm,
                    "Refuse a token a model (403) once its queries raised the extraction alarm");
  command->add_option("--extraction-alarm-below", s.extraction_alarm_below,
                      "W, or NAME=W: the Shapiro-Wilk W of a token's log query distances below which the "
                      "extraction alarm is raised (default 0.85)")
      ->option_text("W|NAME=W");
  command->add_flag("--no-extraction-monitor", s.no_extraction_monitor, "Do not watch query streams for extraction");
  command->add_option("--smoothing", s.smoothing,
                      "Answer with the smoothed classifier (randomized smoothing's PREDICT): N copies of each row "
                      "plus Gaussian noise of standard deviation SIGMA, a class or an abstention, never "
                      "probabilities; a row costs N forward passes against --max-rows")
      ->option_text("[NAME=]SIGMA,N");
  command->add_option("--smoothing-alpha", s.smoothing_alpha,
                      "Level of --smoothing: a class it answers is wrong with probability at most A (default 0.001)")
      ->option_text("[NAME=]A");
  command->add_option("--strip", s.strip,
                      "Screen each row with STRIP first: blended with N clean rows, a row whose predictions stay "
                      "abnormally certain (a backdoor trigger's) refuses its request with 422; a row costs N + 1 "
                      "forward passes against --max-rows")
      ->option_text("[NAME=]N");
  command->add_option("--strip-clean", s.strip_clean,
                      "The clean rows --strip blends with and calibrates on: a CSV file of the model's rows, or "
                      "fashion-mnist (its test split)")
      ->option_text("[NAME=]DATA");
  command->add_option("--strip-frr", s.strip_frr,
                      "The share of clean rows --strip may refuse, set by calibration on the clean rows "
                      "(default 0.01)")
      ->option_text("[NAME=]RATE");
  command->add_option("--watermark", s.watermark,
                      "Watermark the answers (DAWN): a keyed share of each token's rows is answered with a keyed "
                      "label other than the model's top one and recorded in --watermark-log, for `citadel watermark "
                      "verify` (KEY from `citadel watermark keygen`)")
      ->option_text("KEY");
  command->add_option("--watermark-rate", s.watermark_rate, "The share of rows --watermark changes (default 0.005)")
      ->option_text("RATE");
  command->add_option("--watermark-log", s.watermark_log,
                      "The append-only log of watermarked answers (created 0600; each synced before its answer)")
      ->option_text("FILE");
  command->add_option("--watermark-log-max-records", s.watermark_log_max_records,
                      "Records the log may hold; past them no answer is watermarked")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{1'000'000'000}));
  return {command, [flags] { return run_serve(*flags); }};
}

Command add_token_command(CLI::App& app) {
  auto flags = std::make_shared<TokenFlags>();
  CLI::App* command = app.add_subcommand("token", "Add, list and revoke the API tokens `citadel serve` accepts");
  command->require_subcommand(1);
  CLI::App* add = command->add_subcommand("add", "Make a token: printed once, stored only as its hash");
  CLI::App* list = command->add_subcommand("list", "List the tokens' names, policies and states (never the tokens)");
  CLI::App* revoke = command->add_subcommand("revoke", "Revoke a token by name");
  for (CLI::App* sub : {add, list, revoke})
    sub->add_option("--tokens", flags->tokens, "The token file (created 0600)")->required()->option_text("FILE");
  for (CLI::App* sub : {add, revoke}) sub->add_option("--name", flags->name, "The token's name")->required();
  add->add_option("--rows-budget", flags->rows_budget, "Rows the token may have answered, over its life")
      ->check(CLI::NonNegativeNumber);
  add->add_option("--rate", flags->rate, "Requests per second the token may make")->check(CLI::PositiveNumber);
  return {command, [flags, add, list, revoke] {
            const TokenFlags& f = *flags;
            serving::TokenStore store = serving::TokenStore::load(f.tokens, !add->parsed());
            if (add->parsed()) {
              const std::string token = store.add(f.name, {f.rows_budget, f.rate});
              store.save(f.tokens);
              std::printf("%s\n", token.c_str());
              std::fprintf(stderr, "Added token '%s' to %s; it is shown only now.\n", f.name.c_str(), f.tokens.c_str());
            } else if (revoke->parsed()) {
              store.revoke(f.name);
              store.save(f.tokens);
              std::printf("Revoked token '%s'\n", f.name.c_str());
            } else if (list->parsed()) {
              for (const auto& r : store.records()) {  // numbers as a person writes them: "rate 20/s"
                const std::string budget = r.policy.rows_budget ? std::to_string(*r.policy.rows_budget) : "none";
                const std::string rate = r.policy.rate ? serving::rate_text(*r.policy.rate) : "none";
                std::printf("%-24s %-8s rows budget %-12s rate %-10s created %s\n", r.name.c_str(),
                            r.revoked ? "revoked" : "active", budget.c_str(), rate.c_str(), r.created.c_str());
              }
            }
            return 0;
          }};
}

}  // namespace citadel::cli
