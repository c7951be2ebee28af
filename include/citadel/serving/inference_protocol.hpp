// The Open Inference Protocol (KServe v2) REST messages for a saved model: its metadata,
// infer requests read into raw rows exactly as `citadel predict --model` reads a CSV file
// (or, for a model file without a schema, into its own input tensors), and responses
// coarsened by the model's output policy.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "citadel/core/error.hpp"
#include "citadel/io/saved_model.hpp"
#include "citadel/serving/output_policy.hpp"
#include "citadel/serving/smoothing_policy.hpp"
#include "citadel/serving/strip_policy.hpp"
#include "citadel/serving/watermark_policy.hpp"

namespace citadel::serving {

// An error the server answers with this HTTP status and {"error": message}. `reason` is the
// label /metrics counts it under (citadel_rejections_total); empty: the router's default for
// its status ("rows" for a 413, "input" for the rest).
class RequestError : public Error {
 public:
  RequestError(int status, const std::string& message, std::string reason = {})
      : Error(message), status_(status), reason_(std::move(reason)) {}
  int status() const { return status_; }
  const std::string& reason() const { return reason_; }

 private:
  int status_;
  std::string reason_;
};

struct ServedModel {
  std::string name;
  std::string path;
  SavedModel model;
  OutputPolicy policy;
  std::string signature = "unsigned";  // "verified" when loaded with --pubkey
  // The extraction alarm's W for this model's query streams (unset: the server's); it is
  // worth calibrating per data set (bench/extraction_study prints benign streams' W).
  std::optional<double> extraction_alarm_below = std::nullopt;
  // A model file without a schema (a graph model saved by the library or imported): served
  // on its own Inputs and outputs, by their names, as FP32 tensors; no preprocessing.
  bool tensors = false;
  // --smoothing: answered by the smoothed classifier's PREDICT (a class or an abstention per
  // row, never probabilities); check_smoothable says which models may be.
  std::optional<SmoothingPolicy> smoothing = std::nullopt;
  // --strip: each request's rows screened by STRIP first; a flagged row refuses the request
  // (422). check_strippable says which models may be; calibrate_strip sets its detector.
  std::optional<StripPolicy> strip = std::nullopt;
  // --watermark: a keyed share of each token's rows answered with a keyed other label and
  // recorded (apply_watermark); check_watermarkable says which models may be.
  std::optional<WatermarkPolicy> watermark = std::nullopt;
};

// A model file without a schema record, served as tensors (`model.schema` is empty, its
// label type kValues). ValueError naming the model when `policy` is not full or round:D.
ServedModel tensor_served_model(const std::string& name, const std::string& path, Model model, Metadata metadata,
                                const OutputPolicy& policy);

struct RequestLimits {
  int64_t max_rows = 10'000;       // rows per request
  int max_json_depth = 16;
  int64_t max_elements = 4'000'000;  // numbers and strings in a request
  size_t max_string_bytes = 4096;    // one BYTES element
  // Read each input's list of numbers with a dedicated scanner rather than the general JSON
  // parser (several times faster; the answers are the same; false is for comparing them).
  bool fast_number_lists = true;
};

// A decoded infer request: the rows as a table of raw cells (CSV models) or an image
// tensor, the id to echo and the outputs asked for (empty: all the policy allows), each
// in JSON or, asked for so, as binary data after the JSON.
struct InferRequest {
  std::string id;
  bool has_id = false;
  int64_t rows = 0;
  CsvTable table;
  Tensor images;
  Tensor features;  // a watermarked CSV model's "features" as parsed (rows, numeric columns), float32
  Tensor clips;     // a speech model's WAV files as clips at its rate (rows, clip samples)
  std::vector<Tensor> tensors;  // a tensor model's inputs, in the model's order
  std::vector<std::string> outputs;
  std::vector<std::string> binary_outputs;  // "binary_data": true on the output
  std::vector<std::string> json_outputs;    // "binary_data": false on the output
  bool binary_by_default = false;           // the request's "binary_data_output"
  bool wants_binary(const std::string& output) const;
};

// The response body; with binary outputs, its first `json_bytes` are the JSON header
// (the value of Inference-Header-Content-Length) and the body is application/octet-stream.
struct InferResponse {
  std::string body;
  size_t json_bytes = 0;
  bool binary = false;
};

// GET /v2/models/{name} (and the model's entry in /v2): JSON text.
std::string model_metadata_json(const ServedModel& served);
// POST /v2/models/{name}/infer: RequestError (400, 403) naming the input, field or
// element at fault. `binary_tensors`: what follows the JSON header in a binary request
// (see binary_tensors.hpp), claimed by the inputs' "binary_data_size" in their order.
InferRequest decode_infer_request(std::string_view json_body, const ServedModel& served, const RequestLimits& limits,
                                  std::string_view binary_tensors = {});
// The request's rows as the model reads them: encoded and preprocessed (400 when a cell
// cannot be read under the model's schema).
Dataset encode_request(const InferRequest& request, const ServedModel& served);
// The model's predictions for rows encode_request gave (a smoothed model's: predict_smoothed).
RowPredictions predict_request(const Dataset& rows, const ServedModel& served);
// A smoothed model's answers: per row, N copies of the row plus N(0, σ²) noise drawn from a
// ChaCha20 stream keyed afresh from the operating system on each call, and PREDICT's class
// (labels, smoothed_classes) or its abstention (label "", class kAbstain); no probabilities.
// RequestError 504 once `deadline` has passed, checked between passes, so that a request
// answered 504 by the compute deadline stops computing.
RowPredictions predict_smoothed(const Dataset& rows, const ServedModel& served,
                                std::chrono::steady_clock::time_point deadline =
                                    std::chrono::steady_clock::time_point::max());
// The predicted class of each row (0 for every row of a regression model; a smoothed model's
// abstentions as one more class, after the model's).
std::vector<int64_t> predicted_classes(const RowPredictions& predictions);
// The response for those predictions, the output policy applied.
InferResponse encode_infer_response(const InferRequest& request, const RowPredictions& predictions,
                                    const ServedModel& served);
// A tensor model's outputs for the request's inputs (the model's Predict, one per output).
std::vector<Tensor> predict_tensors(const InferRequest& request, const ServedModel& served);
// What the extraction monitor watches for a tensor model's request: each row's inputs
// flattened and concatenated in the model's input order, (rows, sum of the inputs' widths).
Tensor tensor_query_rows(const InferRequest& request);
// The class the monitor groups each row under, from the first output: its argmax when it has
// more than one unit per row, else 1 when that unit exceeds 0.5 and 0 otherwise.
std::vector<int64_t> tensor_predicted_classes(const std::vector<Tensor>& outputs);
// The response for a tensor model: one FP32 entry per output asked for, the policy applied.
InferResponse encode_tensor_response(const InferRequest& request, const std::vector<Tensor>& outputs,
                                     const ServedModel& served);
// predict_request, then encode_infer_response (tensor models: predict_tensors, then
// encode_tensor_response).
InferResponse infer(const InferRequest& request, const ServedModel& served);

}  // namespace citadel::serving
