// A smoothed classifier's answers for a request's rows: randomized smoothing's PREDICT on a
// Predictor of the request's own (serving threads predict at once), with noise no client can
// foresee, stopping at the compute deadline.
#include <algorithm>

#include "citadel/attacks/randomized_smoothing.hpp"
#include "citadel/core/secure_random.hpp"
#include "citadel/model/predictor.hpp"
#include "citadel/serving/inference_protocol.hpp"

namespace citadel::serving {
namespace {

// Noisy copies predicted in one pass: up to a thousand, and no more than 16 MiB of them
// (a wide one-hot row), so that the deadline is looked at often and memory stays small.
constexpr int64_t kCopiesPerPass = 1000;
constexpr int64_t kNoisyFloatsPerPass = int64_t{1} << 22;

}  // namespace

RowPredictions predict_smoothed(const Dataset& rows, const ServedModel& served,
                                std::chrono::steady_clock::time_point deadline) {
  CITADEL_ASSERT(served.smoothing.has_value(), "predict_smoothed: model '", served.name, "' is served unsmoothed");
  const SmoothingPolicy& smoothing = *served.smoothing;
  const ConstTensorView x = rows.x;
  const int64_t count = x.shape(0), features = std::max<int64_t>(count == 0 ? 1 : x.numel() / count, 1);
  const int64_t per_pass =
      std::clamp<int64_t>(kNoisyFloatsPerPass / features, 1, std::min(kCopiesPerPass, smoothing.samples));
  Predictor predictor(served.model.model);
  // A key from the operating system per request, never a seed: a client who could predict
  // the noise could craft a row whose noisy copies all land where it wants.
  SecureRng rng = SecureRng::from_os();
  RowPredictions answers;
  answers.lines = rows.lines;
  answers.class_names = served.model.schema.classes;
  for (int64_t r = 0; r < count; ++r) {
    std::vector<int64_t> counts;
    for (int64_t done = 0; done < smoothing.samples;) {
      if (std::chrono::steady_clock::now() > deadline)
        throw RequestError(504, "the compute deadline passed during the smoothed prediction");
      const int64_t now = std::min(per_pass, smoothing.samples - done);
      const std::vector<int64_t> part = noisy_class_counts(predictor, x.rows(r, r + 1), now, smoothing.sigma, now, rng);
      counts.resize(std::max(counts.size(), part.size()), 0);
      for (size_t c = 0; c < part.size(); ++c) counts[c] += part[c];
      done += now;
    }
    const int64_t chosen = smoothed_class_from_counts(counts, smoothing.alpha);
    CITADEL_ASSERT(chosen < int64_t(answers.class_names.size()), "model '", served.name, "' predicted class ", chosen,
                   " of ", answers.class_names.size());
    answers.smoothed_classes.push_back(chosen);
    answers.labels.push_back(chosen == kAbstain ? std::string() : answers.class_names[size_t(chosen)]);
  }
  return answers;
}

}  // namespace citadel::serving
