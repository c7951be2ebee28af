// The Open Inference Protocol (KServe v2) REST messages for a saved model: its metadata,
// infer requests read into raw rows exactly as `citadel predict --model` reads a CSV file,
// and responses coarsened by the model's output policy.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "citadel/core/error.hpp"
#include "citadel/io/saved_model.hpp"
#include "citadel/serving/output_policy.hpp"

namespace citadel::serving {

// An error the server answers with this HTTP status and {"error": message}.
class RequestError : public Error {
 public:
  RequestError(int status, const std::string& message) : Error(message), status_(status) {}
  int status() const { return status_; }

 private:
  int status_;
};

struct ServedModel {
  std::string name;
  std::string path;
  SavedModel model;
  OutputPolicy policy;
  std::string signature = "unsigned";  // "verified" when loaded with --pubkey
};

struct RequestLimits {
  int64_t max_rows = 10'000;       // rows per request
  int max_json_depth = 16;
  int64_t max_elements = 4'000'000;  // numbers and strings in a request
  size_t max_string_bytes = 4096;    // one BYTES element
};

// A decoded infer request: the rows as a table of raw cells (CSV models) or an image
// tensor, the id to echo and the outputs asked for (empty: all the policy allows).
struct InferRequest {
  std::string id;
  bool has_id = false;
  int64_t rows = 0;
  CsvTable table;
  Tensor images;
  std::vector<std::string> outputs;
};

// GET /v2/models/{name} (and the model's entry in /v2): JSON text.
std::string model_metadata_json(const ServedModel& served);
// POST /v2/models/{name}/infer: RequestError (400, 403) naming the input, field or
// element at fault.
InferRequest decode_infer_request(std::string_view body, const ServedModel& served, const RequestLimits& limits);
// Predicts and writes the response JSON, the output policy applied.
std::string infer_response_json(const InferRequest& request, const ServedModel& served);

}  // namespace citadel::serving
