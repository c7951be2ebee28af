// --strip's settings, the models they fit, the calibration at start (and on reload) and the
// screen of a request's rows: STRIP on a Predictor of the request's own, a slice at a time so
// that the compute deadline is looked at between slices.
#include "citadel/serving/strip_policy.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "citadel/core/error.hpp"
#include "citadel/model/predictor.hpp"
#include "citadel/provenance/strip.hpp"
#include "citadel/serving/inference_protocol.hpp"
#include "served_classifier.hpp"

namespace citadel::serving {
namespace {

// Rows screened per slice: about as many blends as one smoothed pass (a thousand), so the
// deadline is looked at often.
constexpr int64_t kBlendsPerSlice = 1000;

std::string where_of(const ServedModel& served) {
  return "--strip " + served.name + "=" + (served.strip ? std::to_string(served.strip->overlays) : std::string());
}

}  // namespace

StripPolicy StripPolicy::parse(const std::string& text, double false_rejection_rate, const std::string& where) {
  StripPolicy policy;
  const char* end = text.data() + text.size();
  const bool read = !text.empty() && std::from_chars(text.data(), end, policy.overlays).ptr == end;
  CITADEL_CHECK(read, ValueError, where, ": expected N, the clean images each row is blended with (e.g. 100), got '",
                text, "'");
  CITADEL_CHECK(policy.overlays >= 1 && policy.overlays <= kMaxStripOverlays, ValueError, where,
                ": N must be from 1 to ", kMaxStripOverlays, ", got ", policy.overlays);
  CITADEL_CHECK(std::isfinite(false_rejection_rate) && false_rejection_rate > 0 && false_rejection_rate <= 0.5,
                ValueError, where, ": the false-rejection rate (--strip-frr) must lie in (0, 0.5], got ",
                false_rejection_rate);
  policy.false_rejection_rate = false_rejection_rate;
  return policy;
}

int64_t StripPolicy::max_rows(const RequestLimits& limits) const { return limits.max_rows / passes_per_row(); }

void check_strippable(const ServedModel& served, const RequestLimits& limits) {
  const std::string where = where_of(served);
  CITADEL_CHECK(served.strip.has_value(), ValueError, where, ": no STRIP settings");
  check_served_classifier(served, where, "STRIP");
  const SavedModel& m = served.model;
  // Both change what a row's answer is; STRIP's threshold is calibrated on the base model's
  // distributions, and together a row would cost N + N' passes. One or the other.
  CITADEL_CHECK(!served.smoothing, ValueError, where, ": model '", served.name,
                "' is also served with --smoothing; use one of the two on a model");
  CITADEL_CHECK(served.strip->passes_per_row() <= limits.max_rows, ValueError, where, ": one row of model '",
                served.name, "' costs N + 1 = ", served.strip->passes_per_row(), " forward passes, more than --max-rows ",
                limits.max_rows, " allows a request; raise --max-rows or lower N");
  CITADEL_CHECK(served.strip->clean && served.strip->clean->shape(0) > 0, ValueError, where, ": model '", served.name,
                "' has no clean rows to draw overlays from and calibrate on (--strip-clean DATA)");
  const Shape& clean = served.strip->clean->shape();
  const Shape input = m.model.input_shapes()[0];
  CITADEL_CHECK(clean.numel() / clean[0] == input.numel(), ValueError, where, ": the clean rows of ",
                served.strip->clean_source, " have ", clean.numel() / clean[0], " values each, model '", served.name,
                "' reads ", input.numel());
}

void calibrate_strip(ServedModel& served) {
  CITADEL_ASSERT(served.strip && served.strip->clean, "calibrate_strip: model '", served.name, "' has no STRIP rows");
  StripPolicy& strip = *served.strip;
  const int64_t needed = strip.overlays + int64_t(std::ceil(1 / strip.false_rejection_rate - 1e-9));
  CITADEL_CHECK(strip.clean->shape(0) >= needed, ValueError, where_of(served), ": ", strip.clean_source, " has ",
                strip.clean->shape(0), " clean rows; N = ", strip.overlays, " overlays and a false-rejection rate of ",
                strip.false_rejection_rate, " need at least ", needed, " (the overlays, then 1/rate to calibrate on)");
  const StripOptions options{.overlays = strip.overlays, .false_rejection_rate = strip.false_rejection_rate};
  // The clean rows in the model's input shape (a CSV's rows are (M, D) already).
  Shape shape = served.model.model.input_shapes()[0].with_batch(strip.clean->shape(0));
  Tensor clean = *strip.clean;
  clean.reshape(shape);
  strip.detector = std::make_shared<const StripDetector>(StripDetector::calibrate(served.model.model, clean, options));
}

StripScreen strip_screen(const Dataset& rows, const ServedModel& served, std::chrono::steady_clock::time_point deadline) {
  CITADEL_ASSERT(served.strip && served.strip->detector, "strip_screen: model '", served.name, "' is not calibrated");
  const StripDetector& detector = *served.strip->detector;
  const ConstTensorView x = rows.x;
  const int64_t count = x.shape(0);
  const int64_t per_slice = std::max<int64_t>(1, kBlendsPerSlice / detector.overlay_count());
  Predictor predictor(served.model.model);
  Shape shape = served.model.model.input_shapes()[0].with_batch(per_slice);
  StripScreen screen;
  for (int64_t begin = 0; begin < count; begin += per_slice) {
    if (std::chrono::steady_clock::now() > deadline)
      throw RequestError(504, "the compute deadline passed during the STRIP check");
    const int64_t slice = std::min(per_slice, count - begin);
    shape[0] = slice;
    const StripDetector::Verdicts verdicts = detector.check(predictor, ConstTensorView(x.rows(begin, begin + slice).data(), shape));
    for (int64_t r = 0; r < slice; ++r)
      if (verdicts.flagged[size_t(r)]) {
        screen.flagged_rows.push_back(begin + r);
        screen.flagged_entropy.push_back(verdicts.entropy[size_t(r)]);
        screen.flagged_threshold.push_back(verdicts.threshold[size_t(r)]);
      }
    screen.checked += slice;
  }
  return screen;
}

}  // namespace citadel::serving
