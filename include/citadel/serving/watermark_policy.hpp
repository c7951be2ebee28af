// `citadel serve --watermark KEY`: answers watermarked as DAWN does (Szyller et
// al. 2021; the keyed choice and the log are
// citadel/provenance/served_watermark.hpp). A keyed share of each token's rows
// is answered with a keyed label other than the model's top one, every output
// of the row agreeing (label, probabilities under any policy), and recorded in
// an append-only log before the answer leaves, so that `citadel watermark
// verify` can test a suspect model later.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace citadel {
class WatermarkKey;
class WatermarkLogFile;
struct RowPredictions;
}  // namespace citadel

namespace citadel::serving {

struct InferRequest;
struct ServedModel;

struct WatermarkPolicy {
  std::string key_file;
  double rate = 0.005;
  std::shared_ptr<const WatermarkKey> key;
  std::shared_ptr<WatermarkLogFile> log;  // shared by the models served and by reloads
};

// Reads the key and opens (or creates) the log; ValueError naming the flag when
// the rate is not in (0, 0.5], IoError naming the file for a key or log that
// cannot be used (a damaged log line names its line).
WatermarkPolicy open_watermark(const std::string& key_file, double rate, const std::string& log_file,
                               int64_t max_records);

// ValueError naming --watermark and the model unless `served` can be
// watermarked: a saved classifier of 3 or more classes, one output and one
// real-valued input given as an image or as numeric features only (a
// categorical column is not a float row), not smoothed.
void check_watermarkable(const ServedModel& served);

// The watermark applied to one request's predictions (before the output policy
// coarsens them), the selected rows recorded first. A row whose record cannot
// be written (the log full or failing) is answered unchanged: no answer is
// changed that the owner could not later show.
struct WatermarkOutcome {
  int64_t watermarked = 0;
  std::string error;  // why a selected row was answered unchanged, if one was
};
WatermarkOutcome apply_watermark(const InferRequest& request, RowPredictions& predictions, const ServedModel& served,
                                 const std::string& token);

}  // namespace citadel::serving
