// Dynamic batching: requests for the same model that wait for a compute thread at the same
// time are predicted together, up to max_rows rows, in one pass through the network. A
// request waits at most `delay` for others to join (0: only for those already waiting, so
// a lone request is never held back). Results are exactly each request's rows.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "citadel/data/dataset.hpp"
#include "citadel/io/saved_model.hpp"
#include "citadel/serving/inference_protocol.hpp"

namespace citadel::serving {

class PredictionBatcher {
 public:
  // Called on a compute thread with the request's own predictions, or the error.
  using Done = std::function<void(std::exception_ptr, RowPredictions)>;
  // Each batch's size, for the metrics.
  using BatchObserver = std::function<void(const std::string& model, int64_t requests, int64_t rows)>;

  PredictionBatcher(boost::asio::thread_pool& pool, int64_t max_rows, std::chrono::microseconds delay,
                    BatchObserver observe, int threads_per_prediction);
  void submit(std::shared_ptr<const ServedModel> model, Dataset rows, Done done);

 private:
  struct Pending {
    Dataset rows;
    Done done;
  };
  struct Queue {
    std::shared_ptr<const ServedModel> model;
    std::vector<Pending> pending;
    int64_t rows = 0;
    bool scheduled = false;
  };
  void flush(const ServedModel* key);
  void run(const std::shared_ptr<const ServedModel>& model, std::vector<Pending> batch);

  boost::asio::thread_pool& pool_;
  int64_t max_rows_;
  std::chrono::microseconds delay_;
  BatchObserver observe_;
  int threads_per_prediction_;
  std::mutex mutex_;
  std::map<const ServedModel*, Queue> queues_;  // by the served model object (a reload is a new one)
};

// Rows [begin, begin + count) of predictions made for several requests at once.
RowPredictions slice_predictions(const RowPredictions& all, int64_t begin, int64_t count);

}  // namespace citadel::serving
