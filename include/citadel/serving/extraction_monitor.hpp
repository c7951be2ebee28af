// Model-extraction monitoring per client, after PRADA (Juuti et al., 2019): for each token,
// each query's smallest L2 distance to the earlier queries of the same predicted class that
// grew the token's set. Real rows give distances whose logarithms are close to normal;
// the small steps an extraction attack takes around a few real rows do not. When the
// Shapiro–Wilk W of a token's log-distances falls below `alarm_below`, the token is
// flagged, and stays flagged until the server restarts. An exact repeat of a query is
// not counted (a retry tells the client nothing new). A query wider than
// `max_query_width` numbers is kept and compared as its sketch (query_sketch.hpp), so the
// memory a token can make the server hold is at most max_kept_queries × max_query_width
// floats, whatever the model's input.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "citadel/core/tensor.hpp"
#include "citadel/serving/query_sketch.hpp"

namespace citadel::serving {

struct ExtractionMonitorOptions {
  double alarm_below = 0.85;        // δ: the W below which a token's stream is flagged
  int64_t min_distances = 100;      // no verdict on fewer distances
  int64_t max_distances = 5'000;    // the newest kept per token (Shapiro–Wilk's range)
  int64_t max_kept_queries = 2'048;  // per token, all classes: memory is bounded by this × width
  int64_t max_query_width = 1'024;   // wider queries are sketched to this many numbers (8 MiB a token)
  uint64_t sketch_seed = 0;          // the sketch's hash key; 0: drawn at random when the monitor starts
  int64_t test_every = 10;          // distances between two tests
};

struct ExtractionState {
  bool alarm = false;
  bool raised_now = false;  // this observation raised it
  double w = 1;             // the last W computed (1 before the first test)
  int64_t distances = 0;    // distances kept
  int64_t queries = 0;      // rows observed
  int64_t kept = 0;         // queries kept in the growing sets (at most max_kept_queries)
  int64_t stored_values = 0;  // numbers held for the kept queries (kept × min(width, max_query_width))
};

class ExtractionMonitor {
 public:
  explicit ExtractionMonitor(ExtractionMonitorOptions options = {});
  ~ExtractionMonitor();
  ExtractionMonitor(const ExtractionMonitor&) = delete;
  ExtractionMonitor& operator=(const ExtractionMonitor&) = delete;

  // Observes a request's rows (N, ...) as the model read them (encoded, preprocessed) and
  // the class predicted for each (0 for a regression model). Safe from several threads.
  // `alarm_below` overrides the options' threshold for this stream.
  ExtractionState observe(const std::string& token, const Tensor& rows, const std::vector<int64_t>& classes,
                          std::optional<double> alarm_below = std::nullopt);
  ExtractionState state(const std::string& token) const;
  // The log-distances the token's test runs on, oldest first.
  std::vector<double> distances(const std::string& token) const;
  const ExtractionMonitorOptions& options() const { return options_; }
  // Query streams with state kept: only those observed (asking about one keeps nothing).
  size_t streams() const;

 private:
  struct Client;
  Client& client(const std::string& token) const;
  Client* find_client(const std::string& token) const;  // nullptr: never seen

  ExtractionMonitorOptions options_;
  QuerySketch sketch_;
  mutable std::mutex mutex_;
  mutable std::map<std::string, std::unique_ptr<Client>> clients_;
};

}  // namespace citadel::serving
