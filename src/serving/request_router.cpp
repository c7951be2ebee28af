// The router: health (no token), then, with the token the header presented, the server,
// model and metrics endpoints; an inference is decoded and admitted (rate, budget) before it
// may compute.
#include <nlohmann/json.hpp>

#include "citadel/provenance/strip.hpp"
#include "citadel/data/text_vectorization.hpp"
#include "citadel/serving/binary_tensors.hpp"
#include "citadel/serving/token_bags.hpp"
#include "citadel/version.hpp"
#include "server_internals.hpp"

namespace citadel::serving {

// Messages may quote the request (its target), whose bytes need not be UTF-8: replaced,
// never thrown on.
std::string error_json(const std::string& message) {
  return nlohmann::json{{"error", message}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

namespace {

// The monitor's view of a request's encoded rows: as they are, or for a model that reads
// raw text, each row's bag of tokens (token_bags.hpp), made a few rows at a time so that a
// large vocabulary does not make a large batch hold rows × vocabulary floats at once.
ExtractionState observe_rows(ExtractionMonitor& monitor, const std::string& stream, const Tensor& rows,
                             const std::vector<int64_t>& classes, const ServedModel& served) {
  const std::shared_ptr<const TextVectorization>& text = served.model.schema.text;
  if (served.tensors || !text) return monitor.observe(stream, rows, classes, served.extraction_alarm_below);
  const int64_t vocabulary = text->vocabulary_size(), N = rows.shape(0), D = rows.shape(1);
  const int64_t chunk = std::max<int64_t>(1, (int64_t{1} << 22) / vocabulary);
  ExtractionState state;
  bool raised = false;
  for (int64_t start = 0; start < N; start += chunk) {
    const int64_t count = std::min(chunk, N - start);
    Tensor part(Shape{count, D});
    std::copy(rows.data() + start * D, rows.data() + (start + count) * D, part.data());
    const std::vector<int64_t> part_classes(classes.begin() + start, classes.begin() + start + count);
    state = monitor.observe(stream, token_bags(part, text->sequence_length(), vocabulary), part_classes,
                            served.extraction_alarm_below);
    raised = raised || state.raised_now;
  }
  state.raised_now = raised;
  return state;
}

}  // namespace

Outcome answer(const std::string& body) {
  Outcome o;
  o.body = body;
  return o;
}

Outcome failure(int status, const std::string& message, const std::string& rejection) {
  Outcome o;
  o.status = status;
  o.body = error_json(message);
  o.rejection = rejection;
  return o;
}

// A request refused by STRIP: which rows (0-based), never their entropies or the threshold,
// which would tell an adaptive attacker how far its trigger is from passing.
std::string strip_refusal_json(const std::vector<int64_t>& flagged, int64_t rows) {
  std::string listed;
  for (size_t i = 0; i < flagged.size() && i < 10; ++i) {
    if (i) listed += ", ";
    listed += std::to_string(flagged[i]);
  }
  if (flagged.size() > 10) listed += " and " + std::to_string(flagged.size() - 10) + " more";
  std::string message = "refused by STRIP (--strip): row";
  message += flagged.size() > 1 ? "s " : " ";
  message += listed;
  message += " of " + std::to_string(rows);
  message += " (0-based) may carry a backdoor trigger (predictions that stay certain when blended with clean images); "
             "no row of this request was answered";
  return nlohmann::json{{"error", message}, {"strip_flagged_rows", flagged}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Outcome Server::Impl::route(const Request& request, const std::string& address, const TokenRecord* token,
                            Compute& compute) {
  static_cast<void>(address);
  const std::string target(request.target());
  const bool get = request.method() == http::verb::get, post = request.method() == http::verb::post;
  if (target == "/v2/health/live") return get ? answer(R"({"live":true})") : failure(405, "use GET", "method");
  if (target == "/v2/health/ready") {
    if (!get) return failure(405, "use GET", "method");
    return stopping() ? failure(503, "shutting down", "not_ready") : answer(R"({"ready":true})");
  }
  // Everything else needs the token the header presented (screen_header refused the rest).
  if (tokens_ && token == nullptr) {
    Outcome o = failure(401, "an Authorization: Bearer token is required", "auth");
    o.unauthorized = true;
    return o;
  }
  Outcome o;
  o.token = token ? token->name : "-";
  // Every refusal from here on names the token (and the model, once known) in the log.
  auto refuse = [&o](int status, const std::string& message, const std::string& reason) {
    Outcome refused = failure(status, message, reason);
    refused.token = o.token, refused.model = o.model, refused.rows = o.rows;
    return refused;
  };
  if (target == "/metrics") {
    if (!get) return refuse(405, "use GET", "method");
    o.body = metrics_.text(models_, {connections_.open(), body_bytes_in_flight_.load(), access_.journal_counts()});
    o.content_type = "text/plain; version=0.0.4";
    return o;
  }
  if (target == "/v2") {
    if (!get) return refuse(405, "use GET", "method");
    nlohmann::json names = nlohmann::json::array();
    for (const auto& m : models_.all()) names.push_back(m->name);
    o.body = nlohmann::json{{"name", "citadel"}, {"version", kVersion}, {"extensions", {"binary_tensor_data"}},
                            {"models", names}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return o;
  }
  const std::string prefix = "/v2/models/";
  if (target.rfind(prefix, 0) != 0) return refuse(404, "no such endpoint: " + target.substr(0, 200), "not_found");
  std::string name = target.substr(prefix.size()), action;
  if (const size_t slash = name.find('/'); slash != std::string::npos) {
    action = name.substr(slash + 1);
    name = name.substr(0, slash);
  }
  const std::shared_ptr<const ServedModel> served = models_.find(name);
  if (served == nullptr) return refuse(404, "no model named '" + name.substr(0, 100) + "'", "not_found");
  o.model = served->name;
  if (action.empty() || action == "ready") {
    if (!get) return refuse(405, "use GET", "method");
    o.body = action.empty() ? model_metadata_json(*served)
                            : nlohmann::json{{"name", served->name}, {"ready", true}}.dump(
                                  -1, ' ', false, nlohmann::json::error_handler_t::replace);
    return o;
  }
  if (action != "infer") return refuse(404, "no such endpoint: " + target.substr(0, 200), "not_found");
  if (!post) return refuse(405, "use POST", "method");
  const std::string monitored = served->name + "\n" + o.token;  // one query stream per token and model
  if (monitor_ && options_.block_on_alarm && monitor_->state(monitored).alarm) {
    return refuse(403, "this token's queries raised the extraction alarm for model '" + served->name +
                           "'; ask the operator", "extraction_alarm");
  }
  // Triton's binary tensor extension: a JSON header of this many bytes, then raw tensors.
  const auto header_length = request.find("Inference-Header-Content-Length");
  const bool binary = header_length != request.end();
  if (const auto type = request.find(http::field::content_type); type != request.end()) {
    const std::string_view value = type->value();
    if (value.rfind("application/json", 0) != 0 && !(binary && value.rfind("application/octet-stream", 0) == 0))
      return refuse(415, binary ? "send a binary request as application/octet-stream"
                                : "send the request as application/json", "media_type");
  }
  try {
    BinaryBody body{request.body(), {}};
    if (binary) body = split_binary_body(request.body(), header_length->value());
    auto decoded = std::make_shared<InferRequest>(decode_infer_request(body.json, *served, options_.limits,
                                                                       body.tensors));
    o.rows = decoded->rows;
    if (token != nullptr) {  // before any computation
      const Admission admission = access_.admit(*token, decoded->rows);
      if (!admission.allowed) {
        Outcome refused = refuse(429, admission.message, admission.reason);
        refused.retry_after = admission.retry_after_seconds;
        return refused;
      }
      o.durable_ticket = admission.durable_ticket;
    }
    // Budgets and the monitor count rows; the choice of loop or pool counts forward passes.
    o.compute_rows = served->smoothing ? decoded->rows * served->smoothing->samples
                     : served->strip   ? decoded->rows * served->strip->passes_per_row()
                                       : decoded->rows;
    // On the serving thread (or, for a large request, a pool thread): encode, then predict
    // in a batch with whatever else waits for this model, then watch, coarsen and answer.
    const auto admitted = std::chrono::steady_clock::now();
    compute = [this, served, decoded, o, monitored, admitted](PredictionBatcher& batcher, bool alone,
                                                             const Finish& finish) mutable {
      if (std::chrono::steady_clock::now() - admitted > options_.compute_timeout) {  // answered 504 already
        o.status = 504, o.body = error_json("the compute deadline passed before the prediction started"),
        o.rejection = "deadline";
        return finish(o);
      }
      auto fail = [o, finish](const std::exception_ptr& error) mutable {
        try {
          std::rethrow_exception(error);
        } catch (const RequestError& e) {
          o.status = e.status(), o.body = error_json(e.what());
          o.rejection = !e.reason().empty() ? e.reason() : e.status() == 504 ? "deadline" : "input";
        } catch (const std::exception& e) {
          o.status = 500, o.body = error_json(std::string("prediction failed: ") + e.what()), o.rejection = "error";
        } catch (...) {  // whatever was thrown, the client gets an answer
          o.status = 500, o.body = error_json("prediction failed"), o.rejection = "error";
        }
        finish(o);
      };
      if (served->tensors) {  // predicted alone, at once: its inputs are not rows of one table
        static_cast<void>(batcher), static_cast<void>(alone);
        try {
          const std::vector<Tensor> outputs = predict_tensors(*decoded, *served);
          if (monitor_) {  // watched as schema models are: the inputs of each row, side by side
            const ExtractionState state = monitor_->observe(monitored, tensor_query_rows(*decoded),
                                                            tensor_predicted_classes(outputs),
                                                            served->extraction_alarm_below);
            if (state.raised_now) o.extraction_alarm = state.w;
          }
          InferResponse response = encode_tensor_response(*decoded, outputs, *served);
          o.body = std::move(response.body);
          if (response.binary) {
            o.content_type = "application/octet-stream";
            o.inference_header_length = response.json_bytes;
          }
        } catch (...) {
          return fail(std::current_exception());
        }
        return finish(o);
      }
      Dataset rows;
      try {
        rows = encode_request(*decoded, *served);
      } catch (...) {
        return fail(std::current_exception());
      }
      if (served->strip) {  // screened before anything is predicted; a flagged row refuses the request
        try {
          const StripScreen screen = strip_screen(rows, *served, admitted + options_.compute_timeout);
          o.strip_checked = screen.checked;
          if (!screen.flagged_rows.empty()) {
            o.strip_flagged = screen.flagged_rows, o.strip_entropy = screen.flagged_entropy;
            o.strip_threshold = screen.flagged_threshold;
            o.status = 422, o.rejection = "strip", o.body = strip_refusal_json(screen.flagged_rows, decoded->rows);
            return finish(o);
          }
        } catch (...) {
          return fail(std::current_exception());
        }
      }
      // The monitor needs the encoded rows after the batch has taken them; copied only for it.
      auto encoded = monitor_ ? std::make_shared<const Tensor>(rows.x) : nullptr;
      PredictionBatcher::Done done = [this, served, decoded, o, monitored, encoded, finish, fail](
          std::exception_ptr error, RowPredictions predictions) mutable {
        if (error) return fail(error);
        try {
          if (served->watermark) {  // recorded on disk before anything is answered
            const WatermarkOutcome marked = apply_watermark(*decoded, predictions, *served, o.token);
            o.watermarked = marked.watermarked, o.watermark_error = marked.error;
          }
          if (monitor_) {
            const ExtractionState state =
                observe_rows(*monitor_, monitored, *encoded, predicted_classes(predictions), *served);
            if (state.raised_now) o.extraction_alarm = state.w;
          }
          InferResponse response = encode_infer_response(*decoded, predictions, *served);
          o.body = std::move(response.body);
          if (response.binary) {
            o.content_type = "application/octet-stream";
            o.inference_header_length = response.json_bytes;
          }
        } catch (...) {
          return fail(std::current_exception());
        }
        finish(o);
      };
      if (served->smoothing) {  // N passes a row already: nothing to batch; it stops at the deadline
        RowPredictions predictions;
        try {
          predictions = predict_smoothed(rows, *served, admitted + options_.compute_timeout);
        } catch (...) {
          return fail(std::current_exception());
        }
        return done(nullptr, std::move(predictions));
      }
      if (alone) batcher.predict_alone(served, std::move(rows), done);
      else batcher.submit(served, std::move(rows), std::move(done));
    };
    return o;
  } catch (const RequestError& e) {
    return refuse(e.status(), e.what(), !e.reason().empty() ? e.reason() : e.status() == 413 ? "rows" : "input");
  }
}

}  // namespace citadel::serving
