// serve --watermark: the rows of a request as parsed, their tags, the changed
// answers and the log.
#include "citadel/serving/watermark_policy.hpp"

#include <algorithm>
#include <cmath>

#include "citadel/core/error.hpp"
#include "citadel/core/utc_time.hpp"
#include "citadel/provenance/served_watermark.hpp"
#include "citadel/serving/inference_protocol.hpp"
#include "served_classifier.hpp"

namespace citadel::serving {

namespace {

// After the swap the label holds the row's largest value, but rounding
// (round:D) or an exact tie may leave another class level with it, and a client
// reading the probabilities would take the first. The label is then raised by
// one step (10^-D, or one float ulp) and one class level with it lowered by as
// much, so the label is the row's only largest value after the policy too and
// the row's sum is unchanged.
void make_label_the_only_top(float* row, int64_t classes, int64_t label, const OutputPolicy& policy) {
  if (policy.kind == OutputPolicy::Kind::kRound) policy.apply(row, classes);
  int64_t tied = -1;
  for (int64_t c = 0; c < classes; ++c)
    if (c != label && row[c] >= row[label]) tied = c;
  if (tied < 0) return;
  if (policy.kind == OutputPolicy::Kind::kRound) {
    const float step = static_cast<float>(std::pow(10.0, -policy.parameter));
    row[label] += step;
    if (row[tied] >= step) row[tied] -= step;
    policy.apply(row, classes);
  } else {
    row[label] = std::nextafter(row[label], 2.0f);
    row[tied] = std::nextafter(row[tied], -1.0f);
  }
}

}  // namespace

WatermarkPolicy open_watermark(const std::string& key_file, double rate, const std::string& log_file,
                               int64_t max_records) {
  CITADEL_CHECK(rate > 0 && rate <= 0.5, ValueError, "--watermark-rate ", rate,
                ": must be in (0, 0.5] (a share of rows; DAWN uses 0.005 to 0.05)");
  CITADEL_CHECK(!log_file.empty(), ValueError,
                "--watermark needs --watermark-log FILE: a watermarked answer "
                "the owner cannot show later is only a "
                "wrong answer");
  CITADEL_CHECK(max_records >= 1, ValueError, "--watermark-log-max-records must be at least 1");
  WatermarkPolicy policy;
  policy.key_file = key_file;
  policy.rate = rate;
  policy.key = std::make_shared<const WatermarkKey>(WatermarkKey::load(key_file));
  policy.log = std::make_shared<WatermarkLogFile>(log_file, max_records);
  return policy;
}

void check_watermarkable(const ServedModel& served) {
  const std::string where = "--watermark (model '" + served.name + "')";
  check_served_classifier(served, where, "a served watermark");
  const SavedModel& m = served.model;
  CITADEL_CHECK(m.schema.classes.size() >= 3, ValueError, where, ": the model has ", m.schema.classes.size(),
                " classes; a served watermark needs 3 or more (with two, the "
                "other class is no secret)");
  CITADEL_CHECK(!served.smoothing, ValueError, where,
                ": not with --smoothing (its answers are the smoothed "
                "classifier's, not the model's)");
  if (!m.images)
    for (size_t c = 0; c < m.schema.categories.size(); ++c)
      CITADEL_CHECK(m.schema.categories[c].empty(), ValueError, where, ": the column '", m.schema.input_columns[c],
                    "' is categorical; a served watermark keys on numeric rows "
                    "(images or features) only");
}

WatermarkOutcome apply_watermark(const InferRequest& request, RowPredictions& predictions, const ServedModel& served,
                                 const std::string& token) {
  WatermarkOutcome outcome;
  const WatermarkPolicy& policy = *served.watermark;
  const Tensor& parsed = served.model.images ? request.images : request.features;
  CITADEL_ASSERT(parsed.defined() && parsed.shape(0) == request.rows,
                 "apply_watermark: the request's rows as parsed "
                 "were not kept (decode_infer_request keeps them for a "
                 "watermarked model)");
  CITADEL_ASSERT(predictions.probabilities.defined() && predictions.probabilities.shape(0) == request.rows,
                 "apply_watermark: no probabilities to watermark");
  const int64_t classes = predictions.probabilities.shape(1);
  const int64_t width = request.rows == 0 ? 0 : parsed.numel() / request.rows;
  std::vector<int64_t> shape = parsed.shape().dims();
  shape.erase(shape.begin());
  for (int64_t r = 0; r < request.rows; ++r) {
    const float* row = parsed.data() + r * width;
    const WatermarkTag tag = served_watermark_tag(*policy.key, token, row, width);
    if (!watermark_selects(tag, policy.rate)) continue;
    float* probabilities = predictions.probabilities.data() + r * classes;
    const int64_t top = std::max_element(probabilities, probabilities + classes) - probabilities;
    const int64_t label = watermark_label(tag, top, classes);
    WatermarkRecord record;
    record.model = served.name, record.token = token;
    record.input = served.model.images ? "image" : "features";
    record.shape = shape;
    record.row.assign(row, row + width);
    record.label = label, record.classes = classes;
    record.class_name = predictions.class_names.at(size_t(label));
    record.tag = watermark_tag_hex(tag);
    record.time = utc_timestamp();
    std::string error;
    const WatermarkLogFile::Append appended = policy.log->append(record, error);
    if (appended == WatermarkLogFile::Append::kFull)
      error = policy.log->path() +
              ": the watermark log holds its most records "
              "(--watermark-log-max-records)";
    if (appended == WatermarkLogFile::Append::kFull || appended == WatermarkLogFile::Append::kFailed) {
      outcome.error = error;
      continue;
    }
    watermark_probabilities(probabilities, classes, label);
    make_label_the_only_top(probabilities, classes, label, served.policy);
    predictions.labels[size_t(r)] = record.class_name;
    ++outcome.watermarked;
  }
  return outcome;
}

}  // namespace citadel::serving
