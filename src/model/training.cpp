// Sequential's training loop: fit, train_on_batch, evaluate and predict over buffers
// that are sized once per batch size and reused, so steady-state steps never allocate.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <iostream>
#include <limits>
#include <numeric>

#include "citadel/core/error.hpp"
#include "citadel/data/split.hpp"
#include "citadel/model/sequential.hpp"
#include "data_parallel.hpp"
#include "progress.hpp"
#include "sequential_state.hpp"

namespace citadel {
namespace {

void check_batch_size(int64_t batch_size, const char* caller) {
  CITADEL_CHECK(batch_size >= 1, ValueError, caller, ": batch_size must be at least 1, got ", batch_size);
}

// x and y hold the same rows; one rank's share of a group's data (`may_be_empty`) may hold none.
void check_rows_match(ConstTensorView x, ConstTensorView y, const char* caller, bool may_be_empty = false) {
  CITADEL_CHECK(x.rank() >= 2, ShapeError, caller,
                ": x must be (samples, features...), got shape ", x.shape());
  CITADEL_CHECK(y.rank() >= 1 && y.shape(0) == x.shape(0), ShapeError, caller, ": x has ",
                x.shape(0), " rows but y has ", y.rank() >= 1 ? y.shape(0) : 0, " (shape ", y.shape(), ")");
  CITADEL_CHECK(may_be_empty || x.shape(0) > 0, ValueError, caller, ": no data (x has 0 rows)");
}

// Copies rows `indices[begin, end)` of `source` into `target` (resized to fit).
void gather_rows(ConstTensorView source, const std::vector<int64_t>& indices, int64_t begin,
                 int64_t end, Tensor& target) {
  Shape shape = source.shape();
  const int64_t row = source.shape(0) == 0 ? 0 : source.numel() / source.shape(0);
  shape[0] = end - begin;
  target.resize(shape);
  for (int64_t i = begin; i < end; ++i)
    std::memcpy(target.data() + (i - begin) * row, source.data() + indices[i] * row,
                sizeof(float) * static_cast<size_t>(row));
}

}  // namespace

void Sequential::State::check_inputs(ConstTensorView x, const char* caller) const {
  CITADEL_CHECK(x.rank() >= 2 && x.shape().without_batch() == input_shape, ShapeError, caller,
                ": the model expects inputs ", input_shape.batch_str(), ", got shape ", x.shape());
}

void Sequential::State::forward(ConstTensorView x, Mode mode) {
  const ops::PrecisionScope scope(precision);
  ConstTensorView input = x;
  for (size_t i = 0; i < layers.size(); ++i) {
    layers[i]->forward(input, outputs[i], mode);
    input = outputs[i];
  }
}

double Sequential::State::loss_value(ConstTensorView y, bool with_gradient) {
  const ConstTensorView predictions = fused_output ? layers.back()->pre_activation() : output();
  // Keras includes the weight penalties in the reported loss, in training and evaluation.
  const double penalty = regularized ? params.regularization_loss() : 0.0;
  if (!with_gradient) return training_loss->compute(predictions, y, TensorView()) + penalty;
  loss_gradient.resize(predictions.shape());
  return training_loss->compute(predictions, y, loss_gradient) + penalty;
}

void Sequential::State::backward(bool input_gradient, bool with_regularization, bool parameter_gradients) {
  const ops::PrecisionScope scope(float32_gradients ? ops::Precision::kFloat32 : precision);
  size_t first_with_parameters = 0;
  while (first_with_parameters + 1 < layers.size() && layers[first_with_parameters]->parameter_count() == 0)
    ++first_with_parameters;
  const Tensor* dy = &loss_gradient;
  for (size_t i = layers.size(); i-- > 0;) {
    if (!input_gradient && i < first_with_parameters) break;
    layers[i]->set_input_gradient_needed(input_gradient || i > first_with_parameters);
    layers[i]->set_parameter_gradients_needed(parameter_gradients);
    Tensor& dx = (dy == &gradient_a) ? gradient_b : gradient_a;  // never alias dy
    if (i + 1 == layers.size() && fused_output) layers[i]->backward_from_pre_activation(*dy, dx);
    else layers[i]->backward(*dy, dx);
    dy = &dx;
  }
  last_gradient = dy;
  if (regularized && with_regularization) params.add_regularization_gradient();
}

double Sequential::compute_gradients(ConstTensorView x, ConstTensorView y) {
  State& s = *state_;
  CITADEL_CHECK(s.compiled, ValueError, "compute_gradients() called before compile()");
  check_rows_match(x, y, "compute_gradients");
  build(x.shape().without_batch());
  s.check_inputs(x, "compute_gradients");
  s.loss->check_targets(s.output_shapes.back().with_batch(x.shape(0)), y);
  s.forward(x, Mode::kTrain);
  const double loss = s.loss_value(y, true);
  s.params.zero_grad();
  s.backward();
  return loss;
}

double Sequential::train_on_batch(ConstTensorView x, ConstTensorView y) {
  const double loss = compute_gradients(x, y);
  CITADEL_CHECK(std::isfinite(loss), ValueError, "train_on_batch: the loss is ", loss,
                "; the weights were not updated");
  state_->optimizer->step(state_->params);
  return loss;
}

History Sequential::fit(ConstTensorView x, ConstTensorView y, const FitOptions& options) {
  State& s = *state_;
  CITADEL_CHECK(s.compiled, ValueError,
                "fit() called before compile(): call compile({.loss = ..., .optimizer = ...}) first");
  CITADEL_CHECK(options.epochs >= 0, ValueError, "fit: epochs must be >= 0, got ", options.epochs);
  check_batch_size(options.batch_size, "fit");
  CITADEL_CHECK(options.validation_split >= 0.0 && options.validation_split < 1.0, ValueError,
                "fit: validation_split must lie in [0, 1), got ", options.validation_split);
  CITADEL_CHECK(options.verbose >= 0 && options.verbose <= 2, ValueError,
                "fit: verbose must be 0, 1 or 2, got ", options.verbose);
  const Collective& group = options.communicator ? *options.communicator : Collective::single();
  const bool parallel = group.size() > 1;
  // A rank of a group may hold no rows of a small data set; the group as a whole may not.
  check_rows_match(x, y, "fit", parallel);
  build(x.shape().without_batch());
  s.check_inputs(x, "fit");
  const int64_t all_rows = parallel ? data_parallel::global_rows(x.shape(0), group, "fit") : x.shape(0);
  CITADEL_CHECK(all_rows > 0, ValueError, "fit: no data (x has 0 rows on every rank)");

  // Keras takes the validation rows from the end, before shuffling (on a group: the global
  // rows from the end, which are each rank's last).
  ConstTensorView train_x = x, train_y = y;
  std::optional<ValidationData> validation = options.validation_data;
  int64_t rows = all_rows;  // training rows, over the whole group
  Tensor hashed_split[4];   // private training's training and validation rows (x, y, x, y)
  if (!validation && options.validation_split > 0 && options.private_training) {
    // Under private training a row's side depends on that row alone (a keyed hash of its
    // values): Keras's cut at a position moves a row across it whenever an earlier row is
    // added or removed, so neighbouring data sets would train on two different rows.
    const SplitIndices split = split_rows_by_hash(x, y, options.validation_split, options.seed.value_or(s.rng.seed()));
    hashed_split[0] = take_rows(x, split.train), hashed_split[1] = take_rows(y, split.train);
    hashed_split[2] = take_rows(x, split.test), hashed_split[3] = take_rows(y, split.test);
    rows = parallel ? data_parallel::global_rows(int64_t(split.train.size()), group, "fit") : int64_t(split.train.size());
    const int64_t held_out = all_rows - rows;
    CITADEL_CHECK(rows >= 1 && held_out >= 1, ValueError, "fit: validation_split ", options.validation_split, " of ",
                  all_rows, " rows leaves an empty split");
    train_x = hashed_split[0], train_y = hashed_split[1];
    validation = ValidationData{hashed_split[2], hashed_split[3]};
  } else if (!validation && options.validation_split > 0) {
    const auto split_at = static_cast<int64_t>(double(all_rows) * (1.0 - options.validation_split));
    CITADEL_CHECK(split_at >= 1 && split_at < all_rows, ValueError, "fit: validation_split ",
                  options.validation_split, " of ", all_rows, " rows leaves an empty split");
    const int64_t local_split = shard_row_count(split_at, group.rank(), group.size());
    train_x = x.rows(0, local_split);
    train_y = y.rows(0, local_split);
    validation = ValidationData{x.rows(local_split, x.shape(0)), y.rows(local_split, y.shape(0))};
    rows = split_at;
  }
  s.loss->check_targets(s.output_shapes.back().with_batch(train_x.shape(0)), train_y);
  if (validation) {
    check_rows_match(validation->x, validation->y, "fit (validation_data)", parallel);
    s.check_inputs(validation->x, "fit (validation_data)");
    s.loss->check_targets(s.output_shapes.back().with_batch(validation->x.shape(0)), validation->y);
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
    for (size_t i = 0; i < s.layers.size(); ++i)
      s.layers[i]->reseed(s.rng.fork((uint64_t(group.rank() + 1) << 32) + 1000 + i).next_u64());
  }
  const uint64_t private_stream = (uint64_t(first_epoch) << 32) | (fit_call & 0xFFFFFFFFu);
  std::optional<SecureRng> private_rng, noise_rng;
  if (privacy) {
    if (!parallel) {
      private_rng.emplace(privacy->reproducible ? SecureRng::from_seed(base_seed, private_stream)
                                                : SecureRng::from_os());
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

  std::vector<std::string> shown{"loss"};
  for (const auto& metric : s.metrics) shown.push_back(metric->name());
  // learning_rate from the schedules, epsilon from the privacy accountant (citadel/privacy).
  ProgressReporter progress(std::cout, group.is_root() ? options.verbose : 0, options.epochs, steps, shown,
                            {"learning_rate", "epsilon"});
  if (const std::string warning = precision_warning(); !warning.empty()) progress.message(warning);
  if (privacy && privacy->reproducible)
    progress.message("Warning: private training with reproducible noise (keyed from the seed): anyone who knows "
                     "the seed can remove the noise, so the privacy guarantee does not hold.");
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
    for (auto& metric : s.metrics) metric->reset(rows);
    double loss_sum = 0;
    int64_t seen = 0;
    progress.epoch_begin(epoch);
    for (int64_t step = 0; step < steps && !s.stop_requested; ++step) {
      for (Callback* callback : callbacks) callback->on_batch_begin(step, *this);
      int64_t begin = step * batch_size, end = std::min(begin + batch_size, rows);
      if (poisson) {  // every row joins with probability batch_size / rows
        sampled.clear();
        const double rate = double(batch_size) / double(rows);
        for (int64_t r = 0; r < rows; ++r)
          if (private_rng->uniform_double() < rate) sampled.push_back(r);
        begin = 0, end = static_cast<int64_t>(sampled.size());
      }
      if (parallel) {
        data_parallel::local_rows_of(poisson ? sampled : order, begin, end, group, s.local_batch);
        gather_rows(train_x, s.local_batch, 0, int64_t(s.local_batch.size()), s.batch_x);
        gather_rows(train_y, s.local_batch, 0, int64_t(s.local_batch.size()), s.batch_y);
      } else {
        gather_rows(train_x, poisson ? sampled : order, begin, end, s.batch_x);
        gather_rows(train_y, poisson ? sampled : order, begin, end, s.batch_y);
      }
      const int64_t local_rows = s.batch_x.shape(0);
      if (options.batch_transform && local_rows > 0) options.batch_transform(*this, s.batch_x, s.batch_y);
      double loss = 0;
      if (parallel) {
        loss = s.parallel_step(group, end - begin, privacy ? &*privacy : nullptr,
                               noise_rng ? &*noise_rng : nullptr, poisson ? double(batch_size) : double(end - begin));
      } else if (privacy) {
        loss = s.private_step(s.batch_x, s.batch_y, *privacy, *private_rng,
                              poisson ? double(batch_size) : double(end - begin));
      } else {
        s.forward(s.batch_x, Mode::kTrain);
        loss = s.loss_value(s.batch_y, true);
      }
      // Private training steps whatever the loss (each example's share of the update is
      // clipped, or dropped where it is not finite): stopping on it would end training on
      // an exact statistic of one private row.
      if (!std::isfinite(loss) && !privacy) {  // no update; a callback may end training calmly
        for (Callback* callback : callbacks) callback->on_batch_end(step, loss, *this);
        if (s.stop_requested) break;
        throw ValueError(detail::concat(
            "fit: the training loss became ", loss, " at epoch ", epoch + 1, ", step ", step + 1,
            " of ", steps, "; training stopped with the weights of the step before. Lower the "
            "learning rate, scale the inputs, or check the data for NaN/Inf"));
      }
      if (!privacy && !parallel) {
        s.params.zero_grad();
        s.backward();
        s.optimizer->step(s.params);
      }
      if (end == begin) continue;  // an empty Poisson batch: a noise-only step
      loss_sum += loss * double(end - begin);
      seen += end - begin;
      if (local_rows > 0)
        for (auto& metric : s.metrics) metric->update(s.output(), s.batch_y);
      for (Callback* callback : callbacks) callback->on_batch_end(step, loss, *this);
      if (parallel) agree_on_stop(group);  // callbacks may differ by rank (a checkpoint on rank 0)
      progress.batch_end(step + 1, [&] {
        if (!record_training) return Logs{};
        Logs running{{"loss", loss_sum / double(seen)}};
        if (parallel) return running;  // metrics are merged across ranks once per epoch
        for (const auto& metric : s.metrics) running[metric->name()] = metric->result();
        return running;
      });
    }
    if (parallel) {
      data_parallel::merge_metrics(s.metrics, group);
      data_parallel::average_non_trainable(s.params, group);
    }
    if (seen == 0 && s.stop_requested) break;  // stopped before any step of this epoch completed
    // An epoch whose Poisson batches were all empty still took its noisy steps (which the
    // accountant counts): it is logged with no training figures rather than ending fit.
    Logs logs;
    if (record_training) {
      logs["loss"] = seen > 0 ? loss_sum / double(seen) : std::numeric_limits<double>::quiet_NaN();
      for (const auto& metric : s.metrics)
        logs[metric->name()] = seen > 0 ? metric->result() : std::numeric_limits<double>::quiet_NaN();
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

Logs Sequential::evaluate(ConstTensorView x, ConstTensorView y, const EvaluateOptions& options) {
  State& s = *state_;
  CITADEL_CHECK(s.compiled, ValueError, "evaluate() called before compile()");
  check_batch_size(options.batch_size, "evaluate");
  const Collective& group = options.communicator ? *options.communicator : Collective::single();
  const bool parallel = group.size() > 1;
  check_rows_match(x, y, "evaluate", parallel);
  build(x.shape().without_batch());
  s.check_inputs(x, "evaluate");
  const int64_t rows = x.shape(0);
  s.loss->check_targets(s.output_shapes.back().with_batch(rows), y);
  for (auto& metric : s.metrics) metric->reset(rows);
  double loss_sum = 0;
  for (int64_t begin = 0; begin < rows; begin += options.batch_size) {
    const int64_t end = std::min(begin + options.batch_size, rows);
    const ConstTensorView batch_y = y.rows(begin, end);
    s.forward(x.rows(begin, end), Mode::kInfer);
    loss_sum += s.loss_value(batch_y, false) * double(end - begin);
    for (auto& metric : s.metrics) metric->update(s.output(), batch_y);
  }
  double total_rows = double(rows);
  if (parallel) {
    double sums[2] = {loss_sum, total_rows};
    group.all_reduce_sum(sums);
    loss_sum = sums[0], total_rows = sums[1];
    CITADEL_CHECK(total_rows > 0, ValueError, "evaluate: no data (x has 0 rows on every rank)");
    data_parallel::merge_metrics(s.metrics, group);
  }
  Logs logs{{"loss", loss_sum / total_rows}};
  for (const auto& metric : s.metrics) logs[metric->name()] = metric->result();
  return logs;
}

Tensor Sequential::predict(ConstTensorView x, const PredictOptions& options) {
  State& s = *state_;
  check_batch_size(options.batch_size, "predict");
  CITADEL_CHECK(x.rank() >= 2, ShapeError, "predict: x must be (samples, features...), got shape ",
                x.shape());
  build(x.shape().without_batch());
  s.check_inputs(x, "predict");
  const int64_t rows = x.shape(0);
  Tensor result(s.output_shapes.back().with_batch(rows));
  const int64_t row_size = s.output_shapes.back().numel();
  for (int64_t begin = 0; begin < rows; begin += options.batch_size) {
    const int64_t end = std::min(begin + options.batch_size, rows);
    s.forward(x.rows(begin, end), Mode::kInfer);
    std::copy_n(s.output().data(), (end - begin) * row_size, result.data() + begin * row_size);
  }
  return result;
}

}  // namespace citadel
