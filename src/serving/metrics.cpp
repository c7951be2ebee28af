// The metrics page in Prometheus's text format (version 0.0.4).
#include <cstdio>

#include "server_internals.hpp"

namespace citadel::serving {
namespace {

// Model names are the operator's; escaped anyway as the format asks.
std::string label(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.9g", value);
  return text;
}

}  // namespace

void Metrics::record(const std::string& model, int status, const std::string& rejection, double seconds) {
  std::lock_guard lock(mutex_);
  ++requests_[{model, status}];
  if (!rejection.empty()) ++rejections_[rejection];
  if (model == "-") return;
  Histogram& h = latency_[model];
  for (size_t b = 0; b < std::size(kBuckets); ++b)
    if (seconds <= kBuckets[b]) ++h.counts[b];
  h.sum += seconds;
  ++h.count;
}

void Metrics::record_rejection(const std::string& reason, int64_t count) {
  std::lock_guard lock(mutex_);
  rejections_[reason] += count;
}

void Metrics::record_extraction_alarm(const std::string& model) {
  std::lock_guard lock(mutex_);
  ++extraction_alarms_[model];
}

void Metrics::record_batch(const std::string& model, int64_t requests) {
  std::lock_guard lock(mutex_);
  auto& [batches, batched] = batches_[model];
  ++batches, batched += requests;
}

void Metrics::record_strip(const std::string& model, int64_t checked, int64_t flagged) {
  std::lock_guard lock(mutex_);
  auto& [passed, refused] = strip_rows_[model];
  passed += checked - flagged, refused += flagged;
}

void Metrics::record_reload(bool ok) {
  std::lock_guard lock(mutex_);
  ++(ok ? reloads_ok_ : reloads_failed_);
}

std::string Metrics::text(const ModelTable& models, const Gauges& gauges) const {
  std::lock_guard lock(mutex_);
  std::string out;
  out += "# HELP citadel_open_connections Connections open now.\n"
         "# TYPE citadel_open_connections gauge\n"
         "citadel_open_connections " + std::to_string(gauges.open_connections) + "\n";
  out += "# HELP citadel_request_body_bytes_in_flight Bytes of request bodies reserved now (being read or decoded).\n"
         "# TYPE citadel_request_body_bytes_in_flight gauge\n"
         "citadel_request_body_bytes_in_flight " + std::to_string(gauges.body_bytes_in_flight) + "\n";
  out += "# HELP citadel_budget_reservations_total Budget reservations written ahead to the usage journal.\n"
         "# TYPE citadel_budget_reservations_total counter\n"
         "citadel_budget_reservations_total " + std::to_string(gauges.journal.reservations) + "\n";
  out += "# HELP citadel_budget_journal_writes_total Journal writes (one fdatasync each) that carried them.\n"
         "# TYPE citadel_budget_journal_writes_total counter\n"
         "citadel_budget_journal_writes_total " + std::to_string(gauges.journal.writes) + "\n";
  out += "# HELP citadel_requests_total Requests answered, by model and HTTP status.\n"
         "# TYPE citadel_requests_total counter\n";
  for (const auto& [key, count] : requests_)
    out += "citadel_requests_total{model=\"" + label(key.first) + "\",status=\"" + std::to_string(key.second) +
           "\"} " + std::to_string(count) + "\n";
  out += "# HELP citadel_rejections_total Requests refused, by reason.\n"
         "# TYPE citadel_rejections_total counter\n";
  for (const auto& [reason, count] : rejections_)
    out += "citadel_rejections_total{reason=\"" + label(reason) + "\"} " + std::to_string(count) + "\n";
  out += "# HELP citadel_request_duration_seconds Time from a whole request to its answer, by model.\n"
         "# TYPE citadel_request_duration_seconds histogram\n";
  for (const auto& [model, h] : latency_) {
    for (size_t b = 0; b < std::size(kBuckets); ++b)
      out += "citadel_request_duration_seconds_bucket{model=\"" + label(model) + "\",le=\"" + number(kBuckets[b]) +
             "\"} " + std::to_string(h.counts[b]) + "\n";
    out += "citadel_request_duration_seconds_bucket{model=\"" + label(model) + "\",le=\"+Inf\"} " +
           std::to_string(h.count) + "\n";
    out += "citadel_request_duration_seconds_sum{model=\"" + label(model) + "\"} " + number(h.sum) + "\n";
    out += "citadel_request_duration_seconds_count{model=\"" + label(model) + "\"} " + std::to_string(h.count) + "\n";
  }
  out += "# HELP citadel_model_signature_verified 1 when the served model's signature was checked.\n"
         "# TYPE citadel_model_signature_verified gauge\n";
  for (const auto& model : models.all())
    out += "citadel_model_signature_verified{model=\"" + label(model->name) + "\"} " +
           (model->signature == "verified" ? "1" : "0") + "\n";
  out += "# HELP citadel_model_reloads_total SIGHUP reloads of a model file, by result.\n"
         "# TYPE citadel_model_reloads_total counter\n"
         "citadel_model_reloads_total{result=\"ok\"} " + std::to_string(reloads_ok_) + "\n"
         "citadel_model_reloads_total{result=\"failed\"} " + std::to_string(reloads_failed_) + "\n";
  out += "# HELP citadel_extraction_alarms_total Tokens whose query stream raised the extraction alarm, by model.\n"
         "# TYPE citadel_extraction_alarms_total counter\n";
  for (const auto& model : models.all()) {
    const auto found = extraction_alarms_.find(model->name);
    out += "citadel_extraction_alarms_total{model=\"" + label(model->name) + "\"} " +
           std::to_string(found == extraction_alarms_.end() ? 0 : found->second) + "\n";
  }
  out += "# HELP citadel_prediction_batches_total Passes through a model, by model.\n"
         "# TYPE citadel_prediction_batches_total counter\n";
  for (const auto& [model, counts] : batches_)
    out += "citadel_prediction_batches_total{model=\"" + label(model) + "\"} " + std::to_string(counts.first) + "\n";
  out += "# HELP citadel_batched_requests_total Requests predicted in those passes, by model.\n"
         "# TYPE citadel_batched_requests_total counter\n";
  for (const auto& [model, counts] : batches_)
    out += "citadel_batched_requests_total{model=\"" + label(model) + "\"} " + std::to_string(counts.second) + "\n";
  out += "# HELP citadel_strip_rows_total Rows screened by STRIP (--strip), by model and result.\n"
         "# TYPE citadel_strip_rows_total counter\n";
  for (const auto& [model, counts] : strip_rows_) {
    out += "citadel_strip_rows_total{model=\"" + label(model) + "\",result=\"passed\"} " +
           std::to_string(counts.first) + "\n";
    out += "citadel_strip_rows_total{model=\"" + label(model) + "\",result=\"flagged\"} " +
           std::to_string(counts.second) + "\n";
  }
  return out;
}

}  // namespace citadel::serving
