// --smoothing's settings, read and checked against the model they are for, once at start
// (and again when a reload brings a new file).
#include "citadel/serving/smoothing_policy.hpp"

#include <charconv>
#include <cmath>

#include "citadel/attacks/randomized_smoothing.hpp"
#include "citadel/core/error.hpp"
#include "citadel/serving/inference_protocol.hpp"
#include "served_classifier.hpp"

namespace citadel::serving {

SmoothingPolicy SmoothingPolicy::parse(const std::string& text, double alpha, const std::string& where) {
  const size_t comma = text.find(',');
  SmoothingPolicy policy;
  policy.alpha = alpha;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  const bool read = comma != std::string::npos &&
                    std::from_chars(begin, begin + comma, policy.sigma).ptr == begin + comma && comma > 0 &&
                    std::from_chars(begin + comma + 1, end, policy.samples).ptr == end && comma + 1 < text.size();
  CITADEL_CHECK(read, ValueError, where, ": expected SIGMA,N (the noise's standard deviation, then the noisy copies "
                "per row, e.g. 0.25,1000), got '", text, "'");
  CITADEL_CHECK(std::isfinite(policy.sigma) && policy.sigma > 0, ValueError, where, ": SIGMA must be positive, got ",
                policy.sigma);
  CITADEL_CHECK(std::isfinite(alpha) && alpha > 0 && alpha <= 0.5, ValueError, where,
                ": the level alpha (--smoothing-alpha) must lie in (0, 0.5], got ", alpha);
  const int64_t fewest = fewest_samples(alpha);
  CITADEL_CHECK(policy.samples >= fewest && policy.samples <= kMaxSmoothingSamples, ValueError, where, ": N must be from ",
                fewest, " to ", kMaxSmoothingSamples, ", got ", policy.samples, " (below ", fewest,
                " copies PREDICT abstains on every row at alpha ", alpha, ")");
  return policy;
}

std::string SmoothingPolicy::text() const {
  char sigma_text[32];
  char* end = std::to_chars(sigma_text, sigma_text + sizeof sigma_text, sigma).ptr;
  return std::string(sigma_text, size_t(end - sigma_text)) + "," + std::to_string(samples);
}

int64_t SmoothingPolicy::fewest_samples(double alpha) {
  int64_t n = 1;
  while (binomial_tie_p_value(n, n) > alpha) ++n;  // 2·2^−n: about log2(2/α) steps
  return n;
}

int64_t SmoothingPolicy::max_rows(const RequestLimits& limits) const { return limits.max_rows / samples; }

void check_smoothable(const ServedModel& served, const RequestLimits& limits) {
  const std::string where = "--smoothing " + served.name + "=" + (served.smoothing ? served.smoothing->text() : "");
  CITADEL_CHECK(served.smoothing.has_value(), ValueError, where, ": no smoothing settings");
  check_served_classifier(served, where, "randomized smoothing");
  CITADEL_CHECK(served.policy.kind == OutputPolicy::Kind::kLabel, ValueError, where, ": model '", served.name,
                "' is served under --output-policy ", served.policy.text(),
                "; a smoothed model answers classes only (give it no --output-policy, or NAME=label)");
  CITADEL_CHECK(served.smoothing->samples <= limits.max_rows, ValueError, where, ": one row of model '", served.name,
                "' costs N = ", served.smoothing->samples, " forward passes, more than --max-rows ", limits.max_rows,
                " allows a request; raise --max-rows or lower N");
}

}  // namespace citadel::serving
