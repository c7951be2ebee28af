// Model's training loop: fit, train_on_batch, evaluate and predict over buffers that are
// sized once per batch size and reused, so steady-state steps never allocate. Every
// entry takes one tensor per model input and per output (the one-tensor forms wrap them).
#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <iostream>
#include <limits>
#include <numeric>

#include "citadel/core/denormals.hpp"
#include "citadel/core/error.hpp"
#include "citadel/data/split.hpp"
#include "citadel/model/model.hpp"
#include "data_parallel.hpp"
#include "model_state.hpp"
#include "progress.hpp"

namespace citadel {
namespace {

using Views = std::vector<ConstTensorView>;
using Span = std::span<const ConstTensorView>;

void check_batch_size(int64_t batch_size, const char* caller) {
  CITADEL_CHECK(batch_size >= 1, ValueError, caller, ": batch_size must be at least 1, got ", batch_size);
}

// x and y hold the same rows; one rank's share of a group's data (`may_be_empty`) may hold none.
int64_t check_rows_match(Span x, Span y, const char* caller, bool may_be_empty = false) {
  CITADEL_CHECK(!x.empty(), ValueError, caller, ": no inputs given");
  for (const ConstTensorView& input : x)
    CITADEL_CHECK(input.rank() >= 2, ShapeError, caller, ": x must be (samples, features...), got shape ",
                  input.shape());
  const int64_t rows = x[0].shape(0);
  for (const ConstTensorView& input : x)
    CITADEL_CHECK(input.shape(0) == rows, ShapeError, caller, ": the inputs have ", rows, " and ", input.shape(0),
                  " rows; every input needs one row per example");
  for (const ConstTensorView& target : y)
    CITADEL_CHECK(target.rank() >= 1 && target.shape(0) == rows, ShapeError, caller, ": x has ", rows, " rows but y has ",
                  target.rank() >= 1 ? target.shape(0) : 0, " (shape ", target.shape(), ")");
  CITADEL_CHECK(may_be_empty || rows > 0, ValueError, caller, ": no data (x has 0 rows)");
  return rows;
}

// Copies rows `indices[begin, end)` of `source` into `target` (resized to fit).
void gather_rows(ConstTensorView source, const std::vector<int64_t>& indices, int64_t begin, int64_t end,
                 Tensor& target) {
  Shape shape = source.shape();
  const int64_t row = source.shape(0) == 0 ? 0 : source.numel() / source.shape(0);
  shape[0] = end - begin;
  target.resize(shape);
  for (int64_t i = begin; i < end; ++i)
    std::memcpy(target.data() + (i - begin) * row, source.data() + indices[i] * row,
                sizeof(float) * static_cast<size_t>(row));
}

}  // namespace

// --- one batch ----------------------------------------------------------------------------

// The one-tensor forms pass spans of one view each: no allocation per call.
double Model::compute_gradients(ConstTensorView x, ConstTensorView y) {
  return state_->compute_gradients(*this, Span(&x, 1), Span(&y, 1));
}

double Model::compute_gradients(const Views& x, const Views& y) { return state_->compute_gradients(*this, x, y); }

double Model::State::compute_gradients(Model& model, Span x, Span y) {
  const ScopedFlushDenormals flush;  // core/denormals.hpp
  State& s = *this;
  CITADEL_CHECK(s.compiled, ValueError, "compute_gradients() called before compile()");
  const int64_t rows = check_rows_match(x, y, "compute_gradients");
  if (!s.built) model.build(s.sequential ? x[0].shape().without_batch() : Shape{});
  s.check_inputs(x, "compute_gradients");
  s.check_targets(y, rows);
  s.forward(x, Mode::kTrain);
  const double loss = s.loss_value(y, true);
  s.params.zero_grad();
  s.backward();
  return loss;
}

double Model::train_on_batch(ConstTensorView x, ConstTensorView y) {
  const ScopedFlushDenormals flush;  // core/denormals.hpp
  const double loss = compute_gradients(x, y);
  CITADEL_CHECK(std::isfinite(loss), ValueError, "train_on_batch: the loss is ", loss, "; the weights were not updated");
  state_->optimizer->step(state_->params);
  return loss;
}

double Model::train_on_batch(const Views& x, const Views& y) {
  const ScopedFlushDenormals flush;  // core/denormals.hpp
  const double loss = compute_gradients(x, y);
  CITADEL_CHECK(std::isfinite(loss), ValueError, "train_on_batch: the loss is ", loss, "; the weights were not updated");
  state_->optimizer->step(state_->params);
  return loss;
}

// --- fit ----------------------------------------------------------------------------------

History Model::fit(ConstTensorView x, ConstTensorView y, const FitOptions& options) {
  return fit(Views{x}, Views{y}, options);
}

History Model::fit(std::initializer_list<ConstTensorView> x, std::initializer_list<ConstTensorView> y,
                   const FitOptions& options) {
  return fit(Views(x), Views(y), options);
}

History Model::fit(const Views& x, const Views& y, const FitOptions& options) {
  const ScopedFlushDenormals flush;  // core/denormals.hpp
  State& s = *state_;
  CITADEL_CHECK(s.compiled, ValueError,
                "fit() called before compile(): call compile({.loss = ..., .optimizer = ...}) first");
  CITADEL_CHECK(options.epochs >= 0, ValueError, "fit: epochs must be >= 0, got ", options.epochs);
  check_batch_size(options.batch_size, "fit");
  CITADEL_CHECK(options.validation_split >= 0.0 && options.validation_split < 1.0, ValueError,
                "fit: validation_split must lie in [0, 1), got ", options.validation_split);
  CITADEL_CHECK(options.verbose >= 0 && options.verbose <= 2, ValueError, "fit: verbose must be 0, 1 or 2, got ",
                options.verbose);
  const Collective& group = options.communicator ? *options.communicator : Collective::single();
  const bool parallel = group.size() > 1;
  // A rank of a group may hold no rows of a small data set; the group as a whole may not.
  const int64_t local_rows = check_rows_match(x, y, "fit", parallel);
  if (!s.built) build(s.sequential ? x[0].shape().without_batch() : Shape{});
  s.check_inputs(x, "fit");
  CITADEL_CHECK(y.size() == s.graph.outputs.size(), ValueError, "fit: the model '", s.name, "' has ",
                s.graph.outputs.size(), " output", s.graph.outputs.size() == 1 ? "" : "s", " but ", y.size(),
                " targets were given");
  const int64_t all_rows = parallel ? data_parallel::global_rows(local_rows, group, "fit") : local_rows;
  CITADEL_CHECK(all_rows > 0, ValueError, "fit: no data (x has 0 rows on every rank)");

  // Keras takes the validation rows from the end, before shuffling (on a group: the global
  // rows from the end, which are each rank's last).
  Views train_x = x, train_y = y;
  std::optional<ValidationData> validation = options.validation_data;
  int64_t rows = all_rows;  // training rows, over the whole group
  std::vector<Tensor> hashed_train, hashed_validation;  // private training's split rows
  if (!validation && options.validation_split > 0 && options.private_training) {
    // Under private training a row's side depends on that row alone (a keyed hash of its
    // values): Keras's cut at a position moves a row across it whenever an earlier row is
    // added or removed, so neighbouring data sets would train on two different rows.
    CITADEL_CHECK(x.size() == 1 && y.size() == 1, ValueError,
                  "fit: private training's validation_split takes one input and one output; give validation_data");
    const SplitIndices split =
        split_rows_by_hash(x[0], y[0], options.validation_split, options.seed.value_or(s.rng.seed()));
    hashed_train = {take_rows(x[0], split.train), take_rows(y[0], split.train)};
    hashed_validation = {take_rows(x[0], split.test), take_rows(y[0], split.test)};
    rows = parallel ? data_parallel::global_rows(int64_t(split.train.size()), group, "fit") : int64_t(split.train.size());
    CITADEL_CHECK(rows >= 1 && all_rows - rows >= 1, ValueError, "fit: validation_split ", options.validation_split,
                  " of ", all_rows, " rows leaves an empty split");
    train_x = {hashed_train[0]};
    train_y = {hashed_train[1]};
    validation = ValidationData{Views{hashed_validation[0]}, Views{hashed_validation[1]}};
  } else if (!validation && options.validation_split > 0) {
    const auto split_at = static_cast<int64_t>(double(all_rows) * (1.0 - options.validation_split));
    CITADEL_CHECK(split_at >= 1 && split_at < all_rows, ValueError, "fit: validation_split ",
                  options.validation_split, " of ", all_rows, " rows leaves an empty split");
    const int64_t local_split = shard_row_count(split_at, group.rank(), group.size());
    train_x = rows_of(x, 0, local_split);
    train_y = rows_of(y, 0, local_split);
    validation = ValidationData{rows_of(x, local_split, local_rows), rows_of(y, local_split, local_rows)};
    rows = split_at;
  }
  const int64_t train_local = train_x[0].shape(0);
  s.check_targets(train_y, train_local);
  if (validation) {
    const int64_t validation_rows = check_rows_match(validation->x, validation->y, "fit (validation_data)", parallel);
    s.check_inputs(validation->x, "fit (validation_data)");
    s.check_targets(validation->y, validation_rows);
  }

  const int64_t batch_size = std::min(options.batch_size, rows);
  const std::optional<PrivateTraining>& privacy = options.private_training;
  const bool poisson = privacy && privacy->poisson_sampling;
  if (privacy) {
    CITADEL_CHECK(privacy->l2_norm_clip > 0 && std::isfinite(privacy->l2_norm_clip), ValueError,
                  "fit: private_training.l2_norm_clip must be positive, got ", privacy->l2_norm_clip);
    CITADEL_CHECK(privacy->noise_multiplier >= 0 && std::isfinite(privacy->noise_multiplier), ValueError,
                  "fit: private_training.noise_multiplier must be >= 0, got ", privacy->noise_multiplier);
  }
  CITADEL_CHECK(!options.gradient_step || (!privacy && !parallel), ValueError,
                "fit: a gradient_step (certified training) cannot be combined with ",
                privacy ? "private" : "data-parallel", " training, whose steps compute the gradients their own way");
  const int64_t steps = steps_per_epoch(rows, batch_size, poisson);
  std::vector<int64_t> sampled;  // a Poisson-sampled batch's rows
  if (poisson) sampled.reserve(static_cast<size_t>(rows));
  std::vector<int64_t> order(static_cast<size_t>(rows));
  std::iota(order.begin(), order.end(), 0);
  Rng shuffle_rng = options.seed ? Rng(*options.seed) : s.rng.fork(1 + s.fit_calls);
  const uint64_t fit_call = s.fit_calls++;
  int first_epoch = 0;
  History history;
  if (options.resume) {
    first_epoch = options.resume->epoch;
    history = options.resume->history;
    shuffle_rng = Rng::from_words(options.resume->shuffle_rng);
  }
  // Private training draws its noise and its batches from a cryptographic stream: keyed
  // afresh from the OS (so a resumed run never replays the noise of the first), or, when
  // asked to be reproducible, from the seed and the epoch it starts at.
  // On a group every rank starts from rank 0's weights and shuffling stream, and shares
  // one sampling stream (every rank draws every global row's fate, keeping its own); the
  // noise is drawn by rank 0 alone, from a stream of its own, and added once to the sum.
  uint64_t base_seed = options.seed.value_or(s.rng.seed());
  if (parallel) {
    data_parallel::broadcast_parameters(s.params, group);
    std::vector<uint64_t> words = shuffle_rng.to_words();
    words.push_back(base_seed);
    group.broadcast(words);
    base_seed = words.back();
    words.pop_back();
    shuffle_rng = Rng::from_words(words);
    // Dropout masks: a stream per rank, or every rank would drop the same units of its rows.
    for (size_t n = 0; n < s.node_layer.size(); ++n)
      s.node_layer[n]->reseed(s.rng.fork((uint64_t(group.rank() + 1) << 32) + 1000 + n).next_u64());
  }
  const uint64_t private_stream = (uint64_t(first_epoch) << 32) | (fit_call & 0xFFFFFFFFu);
  std::optional<SecureRng> private_rng, noise_rng;
  if (privacy) {
    if (!parallel) {
      private_rng.emplace(privacy->reproducible ? SecureRng::from_seed(base_seed, private_stream) : SecureRng::from_os());
    } else if (privacy->reproducible) {
      private_rng.emplace(SecureRng::from_seed(base_seed, private_stream));
      if (group.is_root()) noise_rng.emplace(SecureRng::from_seed(base_seed, private_stream | (1ull << 31)));
    } else {
      std::array<uint64_t, 4> key{};
      if (group.is_root()) {
        SecureRng os = SecureRng::from_os();
        for (uint64_t& word : key) word = os.next_u64();
      }
      group.broadcast(key);
      private_rng.emplace(SecureRng::from_shared_key(key));
      std::fill(key.begin(), key.end(), 0);
      if (group.is_root()) noise_rng.emplace(SecureRng::from_os());
    }
    CITADEL_CHECK(!options.loss_threshold, ValueError,
                  "fit: loss_threshold stops private training on an exact statistic of the private rows, which "
                  "the privacy accountant does not cover; stop on the epochs (or on validation figures) instead");
    for (const CallbackRef& callback : options.callbacks) {
      const std::string figure = callback.get().training_figure_watched();
      CITADEL_CHECK(figure.empty(), ValueError, "fit: a callback decides on the training rows' '", figure,
                    "', an exact statistic of the private rows outside the privacy accountant; under private "
                    "training monitor a validation figure (val_", figure, ") instead");
    }
  }
  const bool record_training = !privacy || privacy->record_training_metrics;

  std::vector<Callback*> callbacks;
  for (const CallbackRef& callback : options.callbacks) callbacks.push_back(&callback.get());
  std::optional<LossThreshold> threshold;  // the loss_threshold option is this callback
  if (options.loss_threshold) callbacks.push_back(&threshold.emplace(LossThresholdOptions{*options.loss_threshold}));
  s.stop_requested = false;
  s.stop_reason.clear();
  // On a group a callback could decide on something of its rank's own: all stop if one does.
  const auto agree_on_stop = [&s](const Collective& ranks) {
    if (data_parallel::any(s.stop_requested, ranks) && !s.stop_requested) {
      s.stop_requested = true;
      s.stop_reason = "a callback on another rank stopped training";
    }
  };

  const bool several_outputs = s.outputs.size() > 1;
  auto figure = [&](size_t k, const std::string& metric) {
    return several_outputs ? s.outputs[k].name + "_" + metric : metric;
  };
  std::vector<std::string> shown{"loss"};
  if (several_outputs)
    for (size_t k = 0; k < s.outputs.size(); ++k) shown.push_back(figure(k, "loss"));
  for (size_t k = 0; k < s.outputs.size(); ++k)
    for (const auto& metric : s.outputs[k].metrics) shown.push_back(figure(k, metric->name()));
  // learning_rate from the schedules, epsilon from the privacy accountant (citadel/privacy).
  ProgressReporter progress(std::cout, group.is_root() ? options.verbose : 0, options.epochs, steps, shown,
                            {"learning_rate", "epsilon"});
  if (const std::string warning = precision_warning(); !warning.empty()) progress.message(warning);
  if (privacy && privacy->reproducible)
    progress.message("Warning: private training with reproducible noise (keyed from the seed): anyone who knows "
                     "the seed can remove the noise, so the privacy guarantee does not hold.");
  std::vector<double> output_loss_sums(s.outputs.size(), 0.0);
  std::vector<TensorView> transform_x(s.batch_x.size());
  for (Callback* callback : callbacks) callback->on_train_begin(*this);
  for (int epoch = first_epoch; epoch < options.epochs && !s.stop_requested; ++epoch) {
    for (Callback* callback : callbacks) callback->on_epoch_begin(epoch, *this);
    // Each epoch shuffles the identity order, so that an epoch's order depends only on the
    // shuffling stream's state (which checkpoints record), not on earlier epochs' orders.
    std::iota(order.begin(), order.end(), 0);
    if (options.shuffle && !poisson)  // Fisher-Yates
      for (int64_t i = rows - 1; i > 0; --i) {
        const uint64_t bound = static_cast<uint64_t>(i + 1);
        std::swap(order[i], order[private_rng ? private_rng->below(bound) : shuffle_rng.below(bound)]);
      }
    for (auto& out : s.outputs)
      for (auto& metric : out.metrics) metric->reset(rows);
    double loss_sum = 0;
    std::fill(output_loss_sums.begin(), output_loss_sums.end(), 0.0);
    int64_t seen = 0;
    progress.epoch_begin(epoch);
    for (int64_t step = 0; step < steps && !s.stop_requested; ++step) {
      for (Callback* callback : callbacks) callback->on_batch_begin(step, *this);
      int64_t begin = step * batch_size, end = std::min(begin + batch_size, rows);
      if (poisson) {  // every row joins with probability batch_size / rows
        sampled.clear();
        private_rng->sample_each(double(batch_size) / double(rows), rows, sampled);
        begin = 0, end = static_cast<int64_t>(sampled.size());
      }
      const std::vector<int64_t>& chosen = poisson ? sampled : order;
      if (parallel) data_parallel::local_rows_of(chosen, begin, end, group, s.local_batch);
      for (size_t i = 0; i < train_x.size(); ++i) {
        if (parallel) gather_rows(train_x[i], s.local_batch, 0, int64_t(s.local_batch.size()), s.batch_x[i]);
        else gather_rows(train_x[i], chosen, begin, end, s.batch_x[i]);
      }
      for (size_t k = 0; k < train_y.size(); ++k) {
        if (parallel) gather_rows(train_y[k], s.local_batch, 0, int64_t(s.local_batch.size()), s.batch_y[k]);
        else gather_rows(train_y[k], chosen, begin, end, s.batch_y[k]);
      }
      s.refresh_batch_views();
      const int64_t batch_rows = s.batch_x[0].shape(0);
      if (options.batch_transform && batch_rows > 0) {
        for (size_t i = 0; i < s.batch_x.size(); ++i) transform_x[i] = s.batch_x[i];
        options.batch_transform(*this, transform_x, s.batch_y_views);
      }
      double loss = 0;
      if (parallel) {
        loss = s.parallel_step(group, end - begin, privacy ? &*privacy : nullptr, noise_rng ? &*noise_rng : nullptr,
                               poisson ? double(batch_size) : double(end - begin));
      } else if (privacy) {
        loss = s.private_step(s.batch_x_views, s.batch_y_views, *privacy, *private_rng,
                              poisson ? double(batch_size) : double(end - begin));
      } else if (options.gradient_step) {
        loss = options.gradient_step(*this, s.batch_x_views, s.batch_y_views);
      } else {
        s.forward(s.batch_x_views, Mode::kTrain);
        loss = s.loss_value(s.batch_y_views, true, &s.step_losses);
      }
      // Private training steps whatever the loss (each example's share of the update is
      // clipped, or dropped where it is not finite): stopping on it would end training on
      // an exact statistic of one private row.
      if (!std::isfinite(loss) && !privacy) {  // no update; a callback may end training calmly
        for (Callback* callback : callbacks) callback->on_batch_end(step, loss, *this);
        if (s.stop_requested) break;
        throw ValueError(detail::concat(
            "fit: the training loss became ", loss, " at epoch ", epoch + 1, ", step ", step + 1, " of ", steps,
            "; training stopped with the weights of the step before. Lower the learning rate, scale the inputs, or "
            "check the data for NaN/Inf"));
      }
      if (!privacy && !parallel) {
        if (!options.gradient_step) {
          s.params.zero_grad();
          s.backward();
        }
        s.optimizer->step(s.params);
      }
      if (end == begin) continue;  // an empty Poisson batch: a noise-only step
      loss_sum += loss * double(end - begin);
      if (several_outputs)
        for (size_t k = 0; k < s.outputs.size(); ++k) output_loss_sums[k] += s.step_losses[k] * double(end - begin);
      seen += end - begin;
      if (batch_rows > 0)
        for (size_t k = 0; k < s.outputs.size(); ++k)
          for (auto& metric : s.outputs[k].metrics) metric->update(s.output(k), s.batch_y[k]);
      for (Callback* callback : callbacks) callback->on_batch_end(step, loss, *this);
      if (parallel) agree_on_stop(group);  // callbacks may differ by rank (a checkpoint on rank 0)
      progress.batch_end(step + 1, [&] {
        if (!record_training) return Logs{};
        Logs running{{"loss", loss_sum / double(seen)}};
        if (parallel) return running;  // metrics are merged across ranks once per epoch
        for (size_t k = 0; k < s.outputs.size(); ++k)
          for (const auto& metric : s.outputs[k].metrics) running[figure(k, metric->name())] = metric->result();
        return running;
      });
    }
    if (parallel) {
      for (auto& out : s.outputs) data_parallel::merge_metrics(out.metrics, group);
      data_parallel::average_non_trainable(s.params, group);
    }
    if (seen == 0 && s.stop_requested) break;  // stopped before any step of this epoch completed
    // An epoch whose Poisson batches were all empty still took its noisy steps (which the
    // accountant counts): it is logged with no training figures rather than ending fit.
    Logs logs;
    if (record_training) {
      const double nan = std::numeric_limits<double>::quiet_NaN();
      logs["loss"] = seen > 0 ? loss_sum / double(seen) : nan;
      if (several_outputs)
        for (size_t k = 0; k < s.outputs.size(); ++k)
          logs[figure(k, "loss")] = seen > 0 ? output_loss_sums[k] / double(seen) : nan;
      for (size_t k = 0; k < s.outputs.size(); ++k)
        for (const auto& metric : s.outputs[k].metrics)
          logs[figure(k, metric->name())] = seen > 0 ? metric->result() : nan;
    }
    if (validation) {
      const Logs validation_logs =
          evaluate(validation->x, validation->y, {.batch_size = batch_size, .communicator = options.communicator});
      for (const auto& [name, value] : validation_logs) logs["val_" + name] = value;
    }
    for (Callback* callback : callbacks) callback->on_epoch_end(epoch, logs, *this);
    if (parallel) agree_on_stop(group);
    history.append(epoch, logs);
    s.progress = {epoch + 1, history, shuffle_rng.to_words()};
    for (Callback* callback : callbacks) callback->on_epoch_saved(epoch, *this);
    progress.epoch_end(logs);
  }
  for (Callback* callback : callbacks) callback->on_train_end(*this);
  history.stop_reason = s.stop_reason;
  if (s.stop_requested) progress.message("Stopping: " + s.stop_reason + ".");
  return history;
}

// --- evaluate and predict -----------------------------------------------------------------

Logs Model::evaluate(ConstTensorView x, ConstTensorView y, const EvaluateOptions& options) {
  return evaluate(Views{x}, Views{y}, options);
}

Logs Model::evaluate(std::initializer_list<ConstTensorView> x, std::initializer_list<ConstTensorView> y,
                     const EvaluateOptions& options) {
  return evaluate(Views(x), Views(y), options);
}

Logs Model::evaluate(const Views& x, const Views& y, const EvaluateOptions& options) {
  const ScopedFlushDenormals flush;  // core/denormals.hpp
  State& s = *state_;
  CITADEL_CHECK(s.compiled, ValueError, "evaluate() called before compile()");
  check_batch_size(options.batch_size, "evaluate");
  const Collective& group = options.communicator ? *options.communicator : Collective::single();
  const bool parallel = group.size() > 1;
  const int64_t rows = check_rows_match(x, y, "evaluate", parallel);
  if (!s.built) build(s.sequential ? x[0].shape().without_batch() : Shape{});
  s.check_inputs(x, "evaluate");
  s.check_targets(y, rows);
  for (auto& out : s.outputs)
    for (auto& metric : out.metrics) metric->reset(rows);
  const bool several_outputs = s.outputs.size() > 1;
  std::vector<double> output_losses, output_sums(s.outputs.size(), 0.0);
  double loss_sum = 0;
  for (int64_t begin = 0; begin < rows; begin += options.batch_size) {
    const int64_t end = std::min(begin + options.batch_size, rows);
    const Views batch_x = rows_of(x, begin, end), batch_y = rows_of(y, begin, end);
    s.forward(batch_x, Mode::kInfer);
    loss_sum += s.loss_value(batch_y, false, &output_losses) * double(end - begin);
    for (size_t k = 0; k < s.outputs.size(); ++k) {
      output_sums[k] += output_losses[k] * double(end - begin);
      for (auto& metric : s.outputs[k].metrics) metric->update(s.output(k), batch_y[k]);
    }
  }
  double total_rows = double(rows);
  if (parallel) {
    std::vector<double> sums{loss_sum, total_rows};
    sums.insert(sums.end(), output_sums.begin(), output_sums.end());
    group.all_reduce_sum(sums);
    loss_sum = sums[0], total_rows = sums[1];
    std::copy(sums.begin() + 2, sums.end(), output_sums.begin());
    CITADEL_CHECK(total_rows > 0, ValueError, "evaluate: no data (x has 0 rows on every rank)");
    for (auto& out : s.outputs) data_parallel::merge_metrics(out.metrics, group);
  }
  Logs logs{{"loss", loss_sum / total_rows}};
  for (size_t k = 0; k < s.outputs.size(); ++k) {
    const std::string prefix = several_outputs ? s.outputs[k].name + "_" : "";
    if (several_outputs) logs[prefix + "loss"] = output_sums[k] / total_rows;
    for (const auto& metric : s.outputs[k].metrics) logs[prefix + metric->name()] = metric->result();
  }
  return logs;
}

// The one-view form passes a span of it and fills its one result: a single-row predict
// allocates nothing but the returned tensor.
Tensor Model::predict(ConstTensorView x, const PredictOptions& options) {
  State& s = *state_;
  CITADEL_CHECK(x.rank() >= 2, ShapeError, "predict: x must be (samples, features...), got shape ", x.shape());
  const ScopedFlushDenormals flush;  // core/denormals.hpp
  s.prepare_prediction(*this, Span(&x, 1), options.batch_size, "predict");
  CITADEL_CHECK(s.graph.outputs.size() == 1, ValueError, "predict: model '", s.name, "' has ", s.graph.outputs.size(),
                " outputs; give the inputs as a list to get one array per output");
  Tensor result;
  s.tensor_values(Span(&x, 1), std::span<const int>(s.graph.outputs.data(), 1), options.batch_size, nullptr,
                  std::span<Tensor>(&result, 1));
  return result;
}

std::vector<Tensor> Model::predict(std::initializer_list<ConstTensorView> x, const PredictOptions& options) {
  return predict(Views(x), options);
}

std::vector<Tensor> Model::predict(const Views& x, const PredictOptions& options) {
  State& s = *state_;
  for (const ConstTensorView& input : x)
    CITADEL_CHECK(input.rank() >= 2, ShapeError, "predict: x must be (samples, features...), got shape ", input.shape());
  const ScopedFlushDenormals flush;  // core/denormals.hpp
  s.prepare_prediction(*this, x, options.batch_size, "predict");
  std::vector<Tensor> results(s.graph.outputs.size());
  s.tensor_values(x, s.graph.outputs, options.batch_size, nullptr, results);
  return results;
}

std::vector<Tensor> Model::predict_layer_outputs(const Views& x, const std::vector<std::string>& layer_names,
                                                 const PredictOptions& options) {
  return state_->layer_outputs(*this, x, layer_names, options.batch_size, nullptr);
}

void Model::State::prepare_prediction(Model& model, Span x, int64_t batch_size, const char* caller) {
  check_batch_size(batch_size, caller);
  CITADEL_CHECK(!x.empty(), ValueError, caller, ": no inputs given");
  if (!built) model.build(sequential ? x[0].shape().without_batch() : Shape{});
  check_inputs(x, caller);
}

std::vector<Tensor> Model::State::layer_outputs(Model& model, Span x, const std::vector<std::string>& layer_names,
                                                int64_t batch_size, const Replacement* replaced) {
  const ScopedFlushDenormals flush;  // core/denormals.hpp
  prepare_prediction(model, x, batch_size, "predict");
  // Each named layer's (last) call's output tensor.
  std::vector<int> tensors;
  for (const std::string& name : layer_names) {
    int tensor = -1;
    const Layer* layer = nullptr;
    for (const GraphInfo::NodeInfo& node : graph.nodes)
      if (layers[node.layer]->name() == name) tensor = node.output, layer = layers[node.layer].get();
    if (tensor < 0) model.get_layer(name);  // throws, listing the layers
    // Such a layer's tensor is its packed outputs (Layer::call); the parts are its OutputPart layers'.
    CITADEL_CHECK(layer->output_count() == 1, NotImplementedError, "predict_layer_outputs: layer '", name, "' gives ",
                  layer->output_count(), " outputs (return_state); make them a model's outputs instead");
    tensors.push_back(tensor);
  }
  std::vector<Tensor> results(tensors.size());
  tensor_values(x, tensors, batch_size, replaced, results);
  return results;
}

void Model::State::tensor_values(Span x, std::span<const int> tensors, int64_t batch_size, const Replacement* replaced,
                                 std::span<Tensor> results) {
  const int64_t rows = x[0].shape(0);
  for (size_t k = 0; k < tensors.size(); ++k) results[k].resize(graph.tensors[size_t(tensors[k])].shape.with_batch(rows));
  for (int64_t begin = 0; begin < rows; begin += batch_size) {
    const int64_t end = std::min(begin + batch_size, rows);
    const Replacement part = replaced ? Replacement{replaced->tensor, replaced->value.rows(begin, end)} : Replacement{};
    if (end - begin == rows)  // one batch: x itself, no views of its rows to make
      forward(x, Mode::kInfer, replaced ? &part : nullptr);
    else
      forward(rows_of(Views(x.begin(), x.end()), begin, end), Mode::kInfer, replaced ? &part : nullptr);
    for (size_t k = 0; k < tensors.size(); ++k) {
      const int64_t row_size = graph.tensors[size_t(tensors[k])].shape.numel();
      std::copy_n(views[size_t(tensors[k])].data(), (end - begin) * row_size, results[k].data() + begin * row_size);
    }
  }
}

// --- gradients for attacks and audits -----------------------------------------------------

Tensor Model::input_gradient(ConstTensorView x, ConstTensorView y) { return input_gradient(Views{x}, Views{y}, 0); }

Tensor Model::input_gradient(const Views& x, const Views& y, int input) {
  const ScopedFlushDenormals flush;  // core/denormals.hpp
  State& s = *state_;
  CITADEL_CHECK(s.compiled, ValueError, "input_gradient() called before compile()");
  const int64_t rows = check_rows_match(x, y, "input_gradient");
  if (!s.built) build(s.sequential ? x[0].shape().without_batch() : Shape{});
  CITADEL_CHECK(input >= 0 && size_t(input) < x.size() && x.size() == s.graph.inputs.size(), ValueError,
                "input_gradient: input ", input, " out of range; the model has ", s.graph.inputs.size(), " inputs and ",
                x.size(), " were given");
  // Token ids are not a space to step in: FGSM/PGD on them would move nothing (or make
  // non-ids); an attack on a text model works on its embeddings (layer_output_gradient).
  // Checked before the values, which an attack's random start has already made non-ids.
  const GraphInfo::TensorInfo& attacked = s.graph.tensors[size_t(s.graph.inputs[size_t(input)])];
  CITADEL_CHECK(attacked.dtype == "float32", ValueError, "input_gradient: input '", attacked.name, "' holds token ids (",
                attacked.dtype, "), which have no gradient; gradient attacks need a float32 input (a text model is "
                "attacked in its embeddings: embedding_adversarial_examples)");
  s.check_inputs(x, "input_gradient");
  s.check_targets(y, rows);
  s.forward(x, Mode::kInfer);
  s.loss_value(y, true);
  s.params.zero_grad();
  s.backward(input, false);
  Tensor gradient(x[size_t(input)].shape());
  std::copy_n(s.input_gradient(input).data(), gradient.numel(), gradient.data());
  return gradient;
}

Tensor Model::per_example_loss(ConstTensorView x, ConstTensorView y, int64_t batch_size) {
  return per_example_loss(Views{x}, Views{y}, batch_size);
}

Tensor Model::per_example_loss(const Views& x, const Views& y, int64_t batch_size) {
  return state_->row_losses(*this, x, y, batch_size, nullptr);
}

Tensor Model::State::row_losses(Model& model, Span x, Span y, int64_t batch_size, const Replacement* replaced) {
  const ScopedFlushDenormals flush;  // core/denormals.hpp
  CITADEL_CHECK(compiled, ValueError, "per_example_loss() called before compile()");
  const int64_t rows = check_rows_match(x, y, "per_example_loss", true);
  if (!built) model.build(sequential ? x[0].shape().without_batch() : Shape{});
  check_inputs(x, "per_example_loss");
  CITADEL_CHECK(y.size() == outputs.size(), ValueError, "per_example_loss: ", y.size(), " targets for ",
                outputs.size(), " outputs");
  Tensor losses(Shape{rows});
  for (int64_t begin = 0; begin < rows; begin += batch_size) {
    const int64_t end = std::min(begin + batch_size, rows);
    const Replacement part = replaced ? Replacement{replaced->tensor, replaced->value.rows(begin, end)} : Replacement{};
    forward(rows_of(Views(x.begin(), x.end()), begin, end), Mode::kInfer, replaced ? &part : nullptr);
    for (int64_t i = begin; i < end; ++i) {
      double loss = 0;
      for (size_t k = 0; k < outputs.size(); ++k) {
        const auto& out = outputs[k];
        const int producer = graph.tensors[size_t(graph.outputs[k])].producer;
        const ConstTensorView predictions = out.fused ? node_layer[size_t(producer)]->pre_activation() : output(k);
        loss += out.weight *
                out.training_loss->compute(predictions.rows(i - begin, i - begin + 1), y[k].rows(i, i + 1), TensorView());
      }
      losses[i] = static_cast<float>(loss);
    }
  }
  return losses;
}

// --- a layer's output replaced ------------------------------------------------------------

namespace {

// The replacement as the walks take it: the layer's one output tensor, and values of its
// shape for every row of x.
Model::State::Replacement checked_replacement(Model::State& s, Span x, const LayerOutputReplacement& replacement,
                                             const char* caller) {
  const int tensor = s.layer_output_tensor(replacement.layer, caller);
  const Shape expected = s.graph.tensors[size_t(tensor)].shape.with_batch(x.empty() ? 0 : x[0].shape(0));
  CITADEL_CHECK(replacement.value.shape() == expected, ShapeError, caller, ": the replacement of layer '",
                replacement.layer, "''s output must have its shape ", expected, ", got ", replacement.value.shape());
  return {tensor, replacement.value};
}

}  // namespace

Tensor Model::layer_output_gradient(const Views& x, const Views& y, const LayerOutputReplacement& replacement) {
  const ScopedFlushDenormals flush;  // core/denormals.hpp
  State& s = *state_;
  CITADEL_CHECK(s.compiled, ValueError, "layer_output_gradient() called before compile()");
  const int64_t rows = check_rows_match(x, y, "layer_output_gradient");
  if (!s.built) build(s.sequential ? x[0].shape().without_batch() : Shape{});
  s.check_inputs(x, "layer_output_gradient");
  s.check_targets(y, rows);
  const State::Replacement replaced = checked_replacement(s, x, replacement, "layer_output_gradient");
  s.forward(x, Mode::kInfer, &replaced);
  s.loss_value(y, true);
  s.params.zero_grad();
  s.backward_to(replaced.tensor);
  Tensor gradient(replacement.value.shape());
  std::copy_n(s.tensor_gradient(replaced.tensor).data(), gradient.numel(), gradient.data());
  return gradient;
}

std::vector<Tensor> Model::predict(const Views& x, const LayerOutputReplacement& replacement,
                                   const PredictOptions& options) {
  State& s = *state_;
  CITADEL_CHECK(!x.empty(), ValueError, "predict: no inputs given");
  if (!s.built) build(s.sequential ? x[0].shape().without_batch() : Shape{});
  const State::Replacement replaced = checked_replacement(s, x, replacement, "predict");
  const ScopedFlushDenormals flush;  // core/denormals.hpp
  s.prepare_prediction(*this, x, options.batch_size, "predict");
  std::vector<Tensor> results(s.graph.outputs.size());
  s.tensor_values(x, s.graph.outputs, options.batch_size, &replaced, results);
  return results;
}

Tensor Model::per_example_loss(const Views& x, const Views& y, const LayerOutputReplacement& replacement,
                               int64_t batch_size) {
  State& s = *state_;
  CITADEL_CHECK(!x.empty(), ValueError, "per_example_loss: no inputs given");
  if (!s.built) build(s.sequential ? x[0].shape().without_batch() : Shape{});
  const State::Replacement replaced = checked_replacement(s, x, replacement, "per_example_loss");
  return s.row_losses(*this, x, y, batch_size, &replaced);
}

}  // namespace citadel
