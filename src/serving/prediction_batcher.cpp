// The batcher's queues: one per served model; the first request of an empty queue schedules
// its flush (after the loop's current turn, or after the delay), later ones only join, and
// a queue that reaches max_rows is predicted at once by the request that filled it.
#include "prediction_batcher.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

namespace citadel::serving {

RowPredictions slice_predictions(const RowPredictions& all, int64_t begin, int64_t count) {
  RowPredictions part;
  part.class_names = all.class_names;
  if (!all.lines.empty()) part.lines.assign(all.lines.begin() + begin, all.lines.begin() + begin + count);
  if (!all.labels.empty()) part.labels.assign(all.labels.begin() + begin, all.labels.begin() + begin + count);
  if (!all.smoothed_classes.empty())
    part.smoothed_classes.assign(all.smoothed_classes.begin() + begin, all.smoothed_classes.begin() + begin + count);
  if (all.probabilities.defined() && all.probabilities.numel() > 0) {
    const int64_t k = all.probabilities.shape(1);
    part.probabilities = Tensor(Shape{count, k});
    std::copy(all.probabilities.data() + begin * k, all.probabilities.data() + (begin + count) * k,
              part.probabilities.data());
  }
  if (all.values.defined() && all.values.numel() > 0) {
    part.values = Tensor(Shape{count});
    std::copy(all.values.data() + begin, all.values.data() + begin + count, part.values.data());
  }
  part.output_names = all.output_names;  // a model of several outputs: each sliced alike
  for (const RowPredictions& output : all.outputs) {
    part.outputs.push_back(slice_predictions(output, begin, count));
    part.outputs.back().lines.clear();
  }
  return part;
}

PredictionBatcher::PredictionBatcher(boost::asio::any_io_executor executor, int64_t max_rows,
                                     std::chrono::microseconds delay, BatchObserver observe)
    : executor_(std::move(executor)), max_rows_(std::max<int64_t>(1, max_rows)), delay_(delay),
      observe_(std::move(observe)) {}

void PredictionBatcher::submit(std::shared_ptr<const ServedModel> model, Dataset rows, Done done) {
  const ServedModel* key = model.get();
  Queue& queue = queues_[key];
  if (!queue.model) queue.model = model;
  queue.rows += rows.x.shape(0);
  queue.pending.push_back({std::move(rows), std::move(done)});
  if (queue.rows >= max_rows_) {
    std::vector<Pending> full = std::move(queue.pending);
    if (queue.scheduled) queue.pending.clear(), queue.rows = 0;  // its flush will find it empty
    else queues_.erase(key);  // nothing else holds the model here
    return run(model, std::move(full));
  }
  if (queue.scheduled) return;
  queue.scheduled = true;
  if (delay_.count() == 0) {  // after the requests already read in this turn of the loop
    boost::asio::post(executor_, [this, key] { flush(key); });
    return;
  }
  auto timer = std::make_shared<boost::asio::steady_timer>(executor_, delay_);
  timer->async_wait([this, key, timer](const boost::system::error_code&) { flush(key); });
}

void PredictionBatcher::predict_alone(const std::shared_ptr<const ServedModel>& model, Dataset rows,
                                      const Done& done) const {
  std::vector<Pending> alone;
  alone.push_back({std::move(rows), done});
  run(model, std::move(alone));
}

void PredictionBatcher::flush(const ServedModel* key) {
  auto found = queues_.find(key);
  if (found == queues_.end()) return;
  const std::shared_ptr<const ServedModel> model = found->second.model;
  std::vector<Pending> batch = std::move(found->second.pending);
  queues_.erase(found);  // the next request starts a new queue (and a reloaded model is not kept)
  if (!batch.empty()) run(model, std::move(batch));
}

void PredictionBatcher::run(const std::shared_ptr<const ServedModel>& model, std::vector<Pending> batch) const {
  int64_t total = 0;
  for (const Pending& p : batch) total += p.rows.x.shape(0);
  if (observe_) observe_(model->name, static_cast<int64_t>(batch.size()), total);
  RowPredictions all;
  try {
    if (batch.size() == 1) {
      all = predict_request(batch.front().rows, *model);
    } else {
      Dataset joined;
      std::vector<int64_t> dims = batch.front().rows.x.shape().dims();
      dims[0] = total;
      joined.x = Tensor(Shape(dims));
      float* out = joined.x.data();
      for (const Pending& p : batch) {
        out = std::copy(p.rows.x.data(), p.rows.x.data() + p.rows.x.numel(), out);
        joined.lines.insert(joined.lines.end(), p.rows.lines.begin(), p.rows.lines.end());
      }
      all = predict_request(joined, *model);
    }
  } catch (...) {
    for (Pending& p : batch) p.done(std::current_exception(), {});
    return;
  }
  if (batch.size() == 1) return batch.front().done(nullptr, std::move(all));
  int64_t begin = 0;
  for (Pending& p : batch) {
    const int64_t n = p.rows.x.shape(0);
    p.done(nullptr, slice_predictions(all, begin, n));
    begin += n;
  }
}

}  // namespace citadel::serving
