// Dynamic batching: requests for the same model that wait together on one serving thread
// are predicted together, up to max_rows rows, in one pass through the network. A request
// waits at most `delay` for others to join (0: only for those already read in the same
// turn of the event loop, so a lone request is never held back). Results are exactly each
// request's rows.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "citadel/data/dataset.hpp"
#include "citadel/io/saved_model.hpp"
#include "citadel/serving/inference_protocol.hpp"

namespace citadel::serving {

// One serving thread's batcher: submit() and the flushes it schedules run on that thread
// (its event loop's executor), so it needs no lock.
class PredictionBatcher {
 public:
  // Called with the request's own predictions, or the error.
  using Done = std::function<void(std::exception_ptr, RowPredictions)>;
  // Each batch's size, for the metrics.
  using BatchObserver = std::function<void(const std::string& model, int64_t requests, int64_t rows)>;

  PredictionBatcher(boost::asio::any_io_executor executor, int64_t max_rows, std::chrono::microseconds delay,
                    BatchObserver observe);
  // Joins the model's queue; `done` is called later on this thread (or now, when the queue
  // is full).
  void submit(std::shared_ptr<const ServedModel> model, Dataset rows, Done done);
  // A request too large to batch, predicted at once on the calling thread.
  void predict_alone(const std::shared_ptr<const ServedModel>& model, Dataset rows, const Done& done) const;

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
  void run(const std::shared_ptr<const ServedModel>& model, std::vector<Pending> batch) const;

  boost::asio::any_io_executor executor_;
  int64_t max_rows_;
  std::chrono::microseconds delay_;
  BatchObserver observe_;
  std::map<const ServedModel*, Queue> queues_;  // by the served model object (a reload is a new one)
};

// Rows [begin, begin + count) of predictions made for several requests at once.
RowPredictions slice_predictions(const RowPredictions& all, int64_t begin, int64_t count);

}  // namespace citadel::serving
