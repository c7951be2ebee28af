// PRADA's growing sets: a query whose nearest same-class neighbour is farther than the
// class's threshold joins the set, and the threshold rises to mean − std of the distances
// of the queries that joined; every query's distance joins the tested stream. The test
// runs on the distances' logarithms: nearest-neighbour distances of real rows are skewed
// (on Pima, raw W fell to 0.81 on benign streams) and close to log-normal, while the
// small steps of synthetic queries are a long lower tail (bench/extraction_study).
#include "citadel/serving/extraction_monitor.hpp"

#include <cmath>
#include <deque>
#include <limits>
#include <random>

#include "citadel/core/error.hpp"
#include "citadel/metrics/normality.hpp"

namespace citadel::serving {

struct ExtractionMonitor::Client {
  struct ClassSet {
    std::vector<float> points;  // kept queries, one after another
    double threshold = 0, sum = 0, squares = 0;
    int64_t joined = 0;  // distances of the queries that joined (for the threshold)
  };
  std::mutex mutex;
  std::map<int64_t, ClassSet> classes;
  std::deque<double> distances;
  std::vector<float> sketched;  // the current query's sketch, when it is wider than the limit
  int64_t kept = 0, since_test = 0, stored = 0;
  ExtractionState state;
};

namespace {

uint64_t sketch_seed(uint64_t chosen) {
  if (chosen != 0) return chosen;
  std::random_device device;
  return (uint64_t(device()) << 32) ^ device();
}

}  // namespace

ExtractionMonitor::ExtractionMonitor(ExtractionMonitorOptions options)
    : options_(options), sketch_(std::max<int64_t>(options.max_query_width, 1), sketch_seed(options.sketch_seed)) {
  CITADEL_CHECK(options_.alarm_below > 0 && options_.alarm_below < 1, ValueError,
                "the extraction alarm's W threshold must be in (0, 1), got ", options_.alarm_below);
  CITADEL_CHECK(options_.min_distances >= 12 && options_.max_distances <= 5000 &&
                    options_.min_distances <= options_.max_distances && options_.test_every >= 1 &&
                    options_.max_kept_queries >= 1 && options_.max_query_width >= 16,
                ValueError, "extraction monitor: bad limits");
}

ExtractionMonitor::~ExtractionMonitor() = default;

ExtractionMonitor::Client& ExtractionMonitor::client(const std::string& token) const {
  std::lock_guard lock(mutex_);
  auto& slot = clients_[token];
  if (!slot) slot = std::make_unique<Client>();
  return *slot;
}

ExtractionMonitor::Client* ExtractionMonitor::find_client(const std::string& token) const {
  std::lock_guard lock(mutex_);
  auto found = clients_.find(token);
  return found == clients_.end() ? nullptr : found->second.get();
}

size_t ExtractionMonitor::streams() const {
  std::lock_guard lock(mutex_);
  return clients_.size();
}

ExtractionState ExtractionMonitor::state(const std::string& token) const {
  Client* found = find_client(token);  // looking adds no client
  if (found == nullptr) return {};
  Client& c = *found;
  std::lock_guard lock(c.mutex);
  ExtractionState s = c.state;
  s.raised_now = false;
  return s;
}

std::vector<double> ExtractionMonitor::distances(const std::string& token) const {
  Client* found = find_client(token);
  if (found == nullptr) return {};
  Client& c = *found;
  std::lock_guard lock(c.mutex);
  return {c.distances.begin(), c.distances.end()};
}

ExtractionState ExtractionMonitor::observe(const std::string& token, const Tensor& rows,
                                           const std::vector<int64_t>& classes, std::optional<double> alarm_below) {
  const int64_t n = rows.shape(0), row_width = n == 0 ? 0 : rows.numel() / n;
  const bool sketching = row_width > options_.max_query_width;
  const int64_t width = sketching ? sketch_.slots() : row_width;
  CITADEL_CHECK(static_cast<int64_t>(classes.size()) == n, ValueError, "extraction monitor: ", classes.size(),
                " classes for ", n, " rows");
  Client& c = client(token);
  std::lock_guard lock(c.mutex);
  c.state.raised_now = false;
  if (sketching) c.sketched.resize(static_cast<size_t>(width));
  for (int64_t r = 0; r < n; ++r) {
    const float* x = rows.data() + r * row_width;
    if (sketching) {
      sketch_.apply({x, static_cast<size_t>(row_width)}, c.sketched);
      x = c.sketched.data();
    }
    ++c.state.queries;
    Client::ClassSet& set = c.classes[classes[static_cast<size_t>(r)]];
    const int64_t points = static_cast<int64_t>(set.points.size()) / std::max<int64_t>(width, 1);
    if (points == 0) {
      if (c.kept < options_.max_kept_queries) set.points.insert(set.points.end(), x, x + width), ++c.kept, c.stored += width;
      continue;
    }
    double nearest = std::numeric_limits<double>::infinity();
    for (int64_t p = 0; p < points; ++p) {
      const float* y = set.points.data() + p * width;
      double d = 0;
      for (int64_t i = 0; i < width; ++i) d += double(x[i] - y[i]) * double(x[i] - y[i]);
      nearest = std::min(nearest, d);
    }
    // A repeated query (a retry) tells the client nothing new: it is not a distance.
    if (nearest == 0) continue;
    nearest = std::sqrt(nearest);
    c.distances.push_back(std::log(nearest));
    if (static_cast<int64_t>(c.distances.size()) > options_.max_distances) c.distances.pop_front();
    ++c.since_test;
    if (nearest > set.threshold && c.kept < options_.max_kept_queries) {
      set.points.insert(set.points.end(), x, x + width), ++c.kept, c.stored += width;
      set.sum += nearest, set.squares += nearest * nearest, ++set.joined;
      const double mean = set.sum / double(set.joined);
      const double spread = std::sqrt(std::max(0.0, set.squares / double(set.joined) - mean * mean));
      set.threshold = std::max(set.threshold, mean - spread);
    }
  }
  c.state.distances = static_cast<int64_t>(c.distances.size());
  c.state.kept = c.kept;
  c.state.stored_values = c.stored;
  if (c.state.distances >= options_.min_distances && c.since_test >= options_.test_every) {
    c.since_test = 0;
    const std::vector<double> sample(c.distances.begin(), c.distances.end());
    double w = 0;  // all distances equal (the same query over and over) is as far from benign as it gets
    try {
      w = shapiro_wilk_w(sample);
    } catch (const ValueError&) {
    }
    c.state.w = w;
    if (w < alarm_below.value_or(options_.alarm_below) && !c.state.alarm) c.state.alarm = c.state.raised_now = true;
  }
  return c.state;
}

}  // namespace citadel::serving
