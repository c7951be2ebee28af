// `citadel serve --strip N`: run-time input filtering by STRIP (Gao et al. 2019; the detector
// is citadel/provenance/strip.hpp). Each row of a request to the model is blended with N clean
// rows and predicted; a row whose blends are abnormally certain (mean entropy below a threshold
// calibrated on clean rows to a false-rejection rate) looks triggered, and the request is
// refused with 422 naming it. Rows that pass are answered as before.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "citadel/core/tensor.hpp"

namespace citadel {
class StripDetector;
struct Dataset;
}  // namespace citadel

namespace citadel::serving {

struct RequestLimits;
struct ServedModel;

struct StripPolicy {
  int64_t overlays = 100;              // N: clean rows each row is blended with
  double false_rejection_rate = 0.01;  // of clean rows, at most, by the calibration
  std::string clean_source;            // what the clean rows are ("fashion-mnist", a CSV path), for messages
  // The clean rows as the model reads them (encoded and preprocessed; labels dropped): the
  // overlays are drawn from them and the others calibrate. Shared by reloads.
  std::shared_ptr<const Tensor> clean;
  std::shared_ptr<const StripDetector> detector;  // set by calibrate_strip

  // N as given to --strip; ValueError naming `where` when N is not an integer in
  // [1, kMaxStripOverlays] or the rate not in (0, 0.5].
  static StripPolicy parse(const std::string& text, double false_rejection_rate, const std::string& where);
  // Each row costs N blended passes and its own prediction: --max-rows / (N + 1) rows a request.
  int64_t passes_per_row() const { return overlays + 1; }
  int64_t max_rows(const RequestLimits& limits) const;
};

// The most overlays a row may take (Gao et al. use N = 100; more buys little and costs linearly).
inline constexpr int64_t kMaxStripOverlays = 1000;

// ValueError naming the flag and the model unless `served` can be screened: a saved classifier
// (not a tensor model, not regression) of one float input and one output, not smoothed too,
// with N + 1 passes within --max-rows and clean rows of its input width.
void check_strippable(const ServedModel& served, const RequestLimits& limits);

// Draws the overlays from the clean rows and calibrates the threshold on the others against
// `served`'s model (at start, and on reload against the new file); ValueError naming the flag
// when there are too few clean rows for N and the rate.
void calibrate_strip(ServedModel& served);

// The STRIP verdict on a request's encoded rows: the flagged rows (0-based) and their
// entropies. Checked a slice of rows at a time; RequestError 504 once `deadline` has passed.
struct StripScreen {
  std::vector<int64_t> flagged_rows;
  std::vector<double> flagged_entropy;
  std::vector<double> flagged_threshold;  // the threshold each flagged row fell below
  int64_t checked = 0;
};
StripScreen strip_screen(const Dataset& rows, const ServedModel& served, std::chrono::steady_clock::time_point deadline);

}  // namespace citadel::serving
