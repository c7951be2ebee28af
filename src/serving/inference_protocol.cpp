// KServe v2 JSON: metadata, request decoding (bounded, strict: NaN and Infinity are not
// JSON, numbers beyond float's range and mismatched shapes are 400s), responses.
#include "citadel/serving/inference_protocol.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>

#include "citadel/core/json_limits.hpp"
#include "citadel/data/feature_groups.hpp"
#include "citadel/serving/binary_tensors.hpp"
#include "audio_input.hpp"
#include "bad_request.hpp"
#include "json_number_lists.hpp"

namespace citadel::serving {
namespace {

using nlohmann::json;

constexpr const char* kFeatures = "features";  // the numeric columns, as one FP32 input
constexpr const char* kImage = "image";

// The label the saved model's output `name` predicts (a model of several outputs).
LabelSchema output_label(const SavedModel& m, const std::string& name) {
  for (const OutputSchema& output : m.outputs)
    if (output.name == name) return output.label;
  throw RequestError(500, "output '" + name + "' has no label in the model's schema");
}

// Whether `name` is a classification output's probabilities (a 403 under a policy that hides them).
bool names_probabilities(const ServedModel& served, const std::string& name) {
  if (served.tensors) return false;
  const SavedModel& m = served.model;
  if (!m.several_outputs()) return name == "probabilities" && m.classification();
  for (const OutputSchema& output : m.outputs)
    if (output.label.type == LabelType::kClasses && name == output.name + "_probabilities") return true;
  return false;
}

std::vector<size_t> numeric_columns(const DataSchema& schema) {
  std::vector<size_t> columns;
  for (size_t c = 0; c < schema.input_columns.size(); ++c)
    if (c >= schema.categories.size() || schema.categories[c].empty()) columns.push_back(c);
  return columns;
}

std::vector<size_t> categorical_columns(const DataSchema& schema) {
  std::vector<size_t> columns;
  for (size_t c = 0; c < schema.categories.size(); ++c)
    if (!schema.categories[c].empty()) columns.push_back(c);
  return columns;
}

// The input's elements, flattened (nested lists or flat, as the protocol allows), counted
// against the limit.
void flatten(const json& data, std::vector<const json*>& out, int64_t max_elements, const std::string& input) {
  if (data.is_array()) {
    for (const json& item : data) flatten(item, out, max_elements, input);
    return;
  }
  if (static_cast<int64_t>(out.size()) >= max_elements)
    bad_request("input '" + input + "': more than " + std::to_string(max_elements) + " elements");
  out.push_back(&data);
}

// The shape's product, or a 400 when it is not a list of whole numbers >= 0 or overflows.
int64_t shape_product(const json& input, const std::string& name, std::vector<int64_t>& shape, int64_t max_elements) {
  if (!input.contains("shape") || !input["shape"].is_array() || input["shape"].empty() || input["shape"].size() > 8)
    bad_request("input '" + name + "': 'shape' must be a list of 1 to 8 dimensions");
  int64_t product = 1;
  for (const json& dim : input["shape"]) {
    if (!dim.is_number_integer() || dim.get<int64_t>() < 0)
      bad_request("input '" + name + "': shape entries must be whole numbers >= 0, got " + input["shape"].dump());
    const int64_t d = dim.get<int64_t>();
    if (d > 0 && product > max_elements / d)
      bad_request("input '" + name + "': shape " + input["shape"].dump() + " holds more than " +
                  std::to_string(max_elements) + " elements");
    product *= d;
    shape.push_back(d);
  }
  return product;
}

// The rows one request may hold: --max-rows, or for a smoothed model --max-rows / N (each
// row costs N forward passes). A 413 past it.
void check_row_count(int64_t rows, const ServedModel& served, const RequestLimits& limits) {
  if (served.strip) {  // N blended passes and the row's own prediction
    if (rows > served.strip->max_rows(limits))
      throw RequestError(413, "more than " + std::to_string(served.strip->max_rows(limits)) +
                                  " rows in one request: each row of this model costs " +
                                  std::to_string(served.strip->passes_per_row()) +
                                  " forward passes (its STRIP check and its prediction), and a request at most " +
                                  std::to_string(limits.max_rows) + " (--max-rows)");
    return;
  }
  if (!served.smoothing) {
    if (rows > limits.max_rows)
      throw RequestError(413, "more than " + std::to_string(limits.max_rows) + " rows in one request (--max-rows)");
    return;
  }
  if (rows > served.smoothing->max_rows(limits))
    throw RequestError(413, "more than " + std::to_string(served.smoothing->max_rows(limits)) +
                                " rows in one request: each row of this smoothed model costs " +
                                std::to_string(served.smoothing->samples) + " forward passes, and a request at most " +
                                std::to_string(limits.max_rows) + " (--max-rows)");
}

// The number, when float can hold it, or a 400 naming it.
double in_float_range(double number, const std::string& input, size_t index) {
  if (!std::isfinite(number) || std::abs(number) > double(std::numeric_limits<float>::max()))
    bad_request("input '" + input + "': element " + std::to_string(index) + " is beyond float's range");
  return number;
}

// The element as a number float can hold, or a 400 naming it.
double checked_number(const json& value, const std::string& input, size_t index) {
  if (value.is_null())
    bad_request("input '" + input + "': element " + std::to_string(index) +
                " is missing (null), and this model was not trained to impute (citadel train --missing mean)");
  if (!value.is_number()) bad_request("input '" + input + "': element " + std::to_string(index) + " is not a number");
  return in_float_range(value.get<double>(), input, index);
}

std::string float_cell(double number) {
  if (std::isnan(number)) return "";  // a missing cell, as in a CSV file
  char text[32];  // as printf's %.9g writes it (float round-trips exactly at 9 digits), but faster
  char* end = std::to_chars(text, text + sizeof text, number, std::chars_format::general, 9).ptr;
  return std::string(text, size_t(end - text));
}

// The input's "data" (an empty list when absent); a reference into the request.
const json& data_of(const json& input) {
  static const json empty = json::array();
  return input.contains("data") ? input["data"] : empty;
}

std::string name_of(const json& input) {
  return input.is_object() && input.contains("name") && input["name"].is_string() ? input["name"].get<std::string>()
                                                                                  : "";
}

std::string datatype_of(const json& input) {
  return input.contains("datatype") && input["datatype"].is_string() ? input["datatype"].get<std::string>() : "";
}

// Each binary input's bytes by name, taken in the order the JSON lists the inputs.
using BinaryInputs = std::map<std::string, std::string_view>;
BinaryInputs claim_binary_inputs(const json& inputs, std::string_view tensors) {
  BinaryTensorReader reader(tensors);
  BinaryInputs claimed;
  for (const json& input : inputs) {
    if (!input.is_object() || !input.contains("parameters")) continue;
    const json& parameters = input["parameters"];
    if (!parameters.is_object() || !parameters.contains("binary_data_size")) continue;
    const std::string name = name_of(input);
    if (!parameters["binary_data_size"].is_number_integer())
      bad_request("input '" + name + "': binary_data_size must be a whole number of bytes");
    if (input.contains("data")) bad_request("input '" + name + "' has both 'data' and binary_data_size");
    if (claimed.count(name)) bad_request("input '" + name + "' is given twice");
    claimed[name] = reader.take(parameters["binary_data_size"].get<int64_t>(), name);
  }
  reader.expect_consumed();
  return claimed;
}

// A 400 unless the input holds as many elements as its shape says.
void expect_elements(size_t found, int64_t elements, const json& input, const std::string& name) {
  if (static_cast<int64_t>(found) != elements)
    bad_request("input '" + name + "': " + std::to_string(found) + " elements for shape " + input["shape"].dump());
}

// The list the number scanner read for this input's "data" (nullptr: it read none), checked
// as the general path checks its elements: the limit, then the count.
const std::vector<double>* claimed_data(const json& input, const std::string& name, int64_t elements,
                                        const ClaimedNumberLists& claimed, const RequestLimits& limits) {
  const json& data = data_of(input);
  if (!data.is_string()) return nullptr;
  const std::vector<double>* list = claimed_list(claimed, data.get_ref<const std::string&>());
  if (list == nullptr) return nullptr;
  if (static_cast<int64_t>(list->size()) > limits.max_elements)
    bad_request("input '" + name + "': more than " + std::to_string(limits.max_elements) + " elements");
  expect_elements(list->size(), elements, input, name);
  return list;
}

// The input's numbers, from its JSON "data" or its binary data, as many as its shape says.
// With `missing_allowed` (the model imputes), JSON null and binary NaN are missing: NaN.
std::vector<double> numbers_of(const json& input, const std::string& name, int64_t elements,
                               const BinaryInputs& binary, const ClaimedNumberLists& claimed,
                               const RequestLimits& limits, bool missing_allowed = false) {
  if (const auto found = binary.find(name); found != binary.end())
    return decode_binary_numbers(found->second, datatype_of(input), elements, name, missing_allowed);
  if (const std::vector<double>* list = claimed_data(input, name, elements, claimed, limits)) {
    for (size_t i = 0; i < list->size(); ++i) in_float_range((*list)[i], name, i);
    return *list;
  }
  std::vector<const json*> values;
  flatten(data_of(input), values, limits.max_elements, name);
  expect_elements(values.size(), elements, input, name);
  std::vector<double> numbers(values.size());
  for (size_t i = 0; i < values.size(); ++i)
    numbers[i] = missing_allowed && values[i]->is_null() ? std::nan("") : checked_number(*values[i], name, i);
  return numbers;
}

// The input's strings (BYTES), from JSON or binary data, each at most max_string_bytes.
std::vector<std::string> strings_of(const json& input, const std::string& name, int64_t elements,
                                    const BinaryInputs& binary, const ClaimedNumberLists& claimed,
                                    const RequestLimits& limits) {
  if (const auto found = binary.find(name); found != binary.end())
    return decode_binary_strings(found->second, elements, limits.max_string_bytes, name);
  if (const std::vector<double>* numbers = claimed_data(input, name, elements, claimed, limits)) {
    if (!numbers->empty())
      bad_request("input '" + name + "': element 0 must be a string of at most " +
                  std::to_string(limits.max_string_bytes) + " bytes");
    return {};
  }
  std::vector<const json*> values;
  flatten(data_of(input), values, limits.max_elements, name);
  expect_elements(values.size(), elements, input, name);
  std::vector<std::string> strings;
  for (size_t i = 0; i < values.size(); ++i) {
    if (!values[i]->is_string() || values[i]->get<std::string>().size() > limits.max_string_bytes)
      bad_request("input '" + name + "': element " + std::to_string(i) + " must be a string of at most " +
                  std::to_string(limits.max_string_bytes) + " bytes");
    strings.push_back(values[i]->get<std::string>());
  }
  return strings;
}

// Reads the request's output selections and their binary_data flags.
void read_outputs(const json& root, const ServedModel& served, const json& known, InferRequest& request) {
  if (root.contains("parameters") && root["parameters"].is_object() &&
      root["parameters"].contains("binary_data_output")) {
    if (!root["parameters"]["binary_data_output"].is_boolean()) bad_request("binary_data_output must be true or false");
    request.binary_by_default = root["parameters"]["binary_data_output"].get<bool>();
  }
  if (!root.contains("outputs")) return;
  if (!root["outputs"].is_array() || root["outputs"].size() > 16) bad_request("'outputs' must be a list of up to 16");
  for (const json& output : root["outputs"]) {
    if (!output.is_object() || !output.contains("name") || !output["name"].is_string())
      bad_request("each of 'outputs' needs a 'name'");
    const std::string name = output["name"].get<std::string>();
    bool found = false;
    for (const json& k : known) found = found || k["name"] == name;
    if (!found && names_probabilities(served, name))
      throw RequestError(403, "output '" + name + "' is not allowed by this model's output policy (" +
                                  served.policy.text() + ")");
    if (!found) bad_request("unknown output '" + name + "'");
    request.outputs.push_back(name);
    if (output.contains("parameters") && output["parameters"].is_object() &&
        output["parameters"].contains("binary_data")) {
      const json& flag = output["parameters"]["binary_data"];
      if (!flag.is_boolean()) bad_request("output '" + name + "': binary_data must be true or false");
      (flag.get<bool>() ? request.binary_outputs : request.json_outputs).push_back(name);
    }
  }
}

const json& find_input(const json& inputs, const std::string& name) {
  const json* found = nullptr;
  for (const json& input : inputs)
    if (input.is_object() && input.contains("name") && input["name"] == name) {
      if (found != nullptr) bad_request("input '" + name + "' is given twice");
      found = &input;
    }
  if (found == nullptr) bad_request("input '" + name + "' is missing");
  return *found;
}

void check_datatype(const json& input, const std::string& name, bool bytes) {
  const std::string datatype = input.contains("datatype") && input["datatype"].is_string()
                                   ? input["datatype"].get<std::string>() : "";
  const bool ok = bytes ? datatype == "BYTES"
                        : (datatype == "FP32" || datatype == "FP64" || datatype == "INT32" || datatype == "INT64");
  if (!ok)
    bad_request("input '" + name + "': datatype '" + datatype + "' is not accepted; use " +
                (bytes ? "BYTES" : "FP32"));
}

// A tensor's shape as the protocol writes it: -1 for the batch, then the model's dims.
json batch_shape(const Shape& shape) {
  json dims = json::array({-1});
  for (int64_t d : shape.dims()) dims.push_back(d);
  return dims;
}

json output_metadata(const ServedModel& served) {
  json outputs = json::array();
  if (served.tensors) {
    const std::vector<std::string> names = served.model.model.output_names();
    const std::vector<Shape> shapes = served.model.model.output_shapes();
    const bool labels = served.policy.kind == OutputPolicy::Kind::kLabel;  // each row's argmax
    for (size_t i = 0; i < names.size(); ++i)
      outputs.push_back({{"name", names[i]}, {"datatype", labels ? "INT64" : "FP32"},
                         {"shape", labels ? json::array({-1}) : batch_shape(shapes[i])}});
    return outputs;
  }
  // One output: probabilities and label, or value; several: those of each output, named
  // "<output>_probabilities", "<output>_label", "<output>_value" (in the model's output order).
  auto add = [&](const LabelSchema& label, const std::string& prefix) {
    if (label.type == LabelType::kClasses) {
      if (served.policy.reveals_probabilities())
        outputs.push_back({{"name", prefix + "probabilities"}, {"datatype", "FP32"}, {"shape", {-1, label.class_count()}}});
      outputs.push_back({{"name", prefix + "label"}, {"datatype", "BYTES"}, {"shape", {-1}}});
      // Smoothed: whether PREDICT abstained on the row (its label is then "").
      if (served.smoothing) outputs.push_back({{"name", prefix + "abstained"}, {"datatype", "BOOL"}, {"shape", {-1}}});
    } else {
      outputs.push_back({{"name", prefix + "value"}, {"datatype", "FP32"}, {"shape", {-1}}});
    }
  };
  const SavedModel& m = served.model;
  if (!m.several_outputs()) {
    add(m.schema.label_schema(0), "");
    return outputs;
  }
  for (const std::string& name : m.model.output_names()) add(output_label(m, name), name + "_");
  return outputs;
}

// The protocol's datatype of a model input: FP32, or INT32/INT64 for token ids.
std::string protocol_datatype(const std::string& dtype) {
  if (dtype == "int32") return "INT32";
  if (dtype == "int64") return "INT64";
  return "FP32";
}

// Per model input: the smallest token_id_bound() of the layers reading it (Embedding's
// input_dim), 0 when none reads token ids.
std::vector<int64_t> input_id_bounds(const Model& model) {
  const GraphInfo& graph = model.graph();
  std::vector<int64_t> bounds;
  for (const int input : graph.inputs) {
    int64_t bound = 0;
    for (const GraphInfo::NodeInfo& node : graph.nodes) {
      if (std::find(node.inputs.begin(), node.inputs.end(), input) == node.inputs.end()) continue;
      const int64_t layer_bound = model.layer(node.layer).token_id_bound();
      if (layer_bound > 0) bound = bound == 0 ? layer_bound : std::min(bound, layer_bound);
    }
    bounds.push_back(bound);
  }
  return bounds;
}

// A 400 unless every value of a token-id input is an integer id the model has: exactly
// representable (|v| <= 2^24) and in [0, bound) when a layer bounds it. The id is never
// looked up: the model is not run on the request.
void check_token_ids(const std::vector<double>& values, const std::string& name, int64_t row_size, int64_t bound) {
  for (size_t e = 0; e < values.size(); ++e) {
    const double v = values[e];
    const std::string where = "input '" + name + "': element " + std::to_string(e) + " (row " +
                              std::to_string(int64_t(e) / row_size) + ")";
    if (!(std::isfinite(v) && v == std::floor(v) && std::fabs(v) <= 16777216.0))
      bad_request(where + " is not a token id: ids are integers of magnitude at most 2^24");
    if (bound > 0 && (v < 0 || v >= double(bound)))
      bad_request(where + " is token id " + std::to_string(int64_t(v)) + ", outside the model's ids 0 to " +
                  std::to_string(bound - 1));
  }
}

// A tensor model's metadata: its Inputs and outputs by name, nothing of a schema.
std::string tensor_metadata_json(const ServedModel& served) {
  const Model& model = served.model.model;
  const std::vector<std::string> names = model.input_names();
  const std::vector<Shape> shapes = model.input_shapes();
  const std::vector<std::string> dtypes = model.input_dtypes();
  json inputs = json::array();
  for (size_t i = 0; i < names.size(); ++i)
    inputs.push_back({{"name", names[i]}, {"datatype", protocol_datatype(dtypes[i])}, {"shape", batch_shape(shapes[i])}});
  return json{{"name", served.name},
              {"versions", {"1"}},
              {"platform", "citadel"},
              {"inputs", inputs},
              {"outputs", output_metadata(served)},
              {"parameters", {{"output_policy", served.policy.text()}, {"signature", served.signature}}}}
      .dump(-1, ' ', false, json::error_handler_t::replace);
}

// A tensor model's inputs, each by the model's name, all with the same rows.
void decode_tensor_inputs(const json& inputs, const ServedModel& served, const RequestLimits& limits,
                          const BinaryInputs& binary, const ClaimedNumberLists& claimed, InferRequest& request) {
  const Model& model = served.model.model;
  const std::vector<std::string> names = model.input_names();
  const std::vector<Shape> shapes = model.input_shapes();
  const std::vector<std::string> dtypes = model.input_dtypes();
  const std::vector<int64_t> id_bounds = input_id_bounds(model);
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string& name = names[i];
    const json& input = find_input(inputs, name);
    check_datatype(input, name, false);
    const bool token_ids = dtypes[i] != "float32";
    if (token_ids && datatype_of(input) != "INT32" && datatype_of(input) != "INT64")
      bad_request("input '" + name + "' holds token ids (" + protocol_datatype(dtypes[i]) + "); send INT32 or INT64, not " +
                  datatype_of(input));
    std::vector<int64_t> shape;
    const int64_t elements = shape_product(input, name, shape, limits.max_elements);
    const std::vector<int64_t> expected = shapes[i].dims();
    if (shape.size() != expected.size() + 1 || !std::equal(expected.begin(), expected.end(), shape.begin() + 1))
      bad_request("input '" + name + "': shape " + input["shape"].dump() + " does not match the model's " +
                  batch_shape(shapes[i]).dump());
    if (shape[0] == 0) bad_request("input '" + name + "': shape " + input["shape"].dump() + ": a request needs at least one row");
    check_row_count(shape[0], served, limits);
    if (i > 0 && shape[0] != request.rows)
      bad_request("input '" + name + "' has " + std::to_string(shape[0]) + " rows, input '" + names[0] + "' " +
                  std::to_string(request.rows));
    request.rows = shape[0];
    const std::vector<double> values = numbers_of(input, name, elements, binary, claimed, limits);
    if (token_ids) check_token_ids(values, name, shapes[i].numel(), id_bounds[i]);
    Tensor tensor{Shape(shape)};
    for (size_t e = 0; e < values.size(); ++e) tensor[static_cast<int64_t>(e)] = static_cast<float>(values[e]);
    request.tensors.push_back(std::move(tensor));
  }
  for (const json& other : inputs)
    if (std::find(names.begin(), names.end(), name_of(other)) == names.end())
      bad_request("unknown input '" + name_of(other) + "'");
}

// A speech model's input: BYTES of whole WAV files, one a row, in binary data or in JSON as
// base64 strings the input marks with "parameters": {"content_type": "base64"} (MLServer's
// convention); each bounded by the model's clip before it is decoded or parsed.
void decode_audio_input(const json& inputs, const ServedModel& served, const RequestLimits& limits,
                        const BinaryInputs& binary, InferRequest& request) {
  const AudioPreprocessing& audio = *served.model.audio;
  const std::string name = kAudioInput;
  const json& input = find_input(inputs, name);
  check_datatype(input, name, true);
  std::vector<int64_t> shape;
  const int64_t elements = shape_product(input, name, shape, limits.max_elements);
  if (!(shape.size() == 1 || (shape.size() == 2 && shape[1] == 1)))
    bad_request("input '" + name + "': shape " + input["shape"].dump() + " must be [N] or [N, 1], one WAV file a row");
  if (shape[0] == 0) bad_request("input '" + name + "': shape " + input["shape"].dump() + ": a request needs at least one row");
  check_row_count(shape[0], served, limits);
  // Each row becomes a clip of clip_samples numbers whatever its file holds (a 44-byte file of
  // no samples is padded to a whole clip), so the clips count against the request's numbers:
  // else 10,000 empty files (440 kB) would ask for 10,000 one-second clips (640 MB).
  const int64_t clip = audio.options().clip_samples, max_files = std::max<int64_t>(1, limits.max_elements / clip);
  if (shape[0] > max_files)
    throw RequestError(413, "input '" + name + "': " + std::to_string(shape[0]) + " files; each is a clip of " +
                                std::to_string(clip) + " samples, and a request may hold " +
                                std::to_string(limits.max_elements) + " numbers: at most " +
                                std::to_string(max_files) + " files a request");
  request.rows = shape[0];
  for (const json& other : inputs)
    if (name_of(other) != name) bad_request("unknown input '" + name_of(other) + "'");
  const int64_t max_bytes = max_wav_bytes(audio);
  if (const auto found = binary.find(name); found != binary.end()) {
    request.clips = clips_from_wav_files(binary_wav_elements(found->second, elements, max_bytes, name), audio, name);
    return;
  }
  const bool base64 = input.contains("parameters") && input["parameters"].is_object() &&
                      input["parameters"].contains("content_type") && input["parameters"]["content_type"] == "base64";
  if (!base64)
    bad_request("input '" + name + "' holds WAV files, which JSON strings cannot carry: send them as binary data "
                "(Triton's binary tensor extension: \"parameters\": {\"binary_data_size\": N}), or in JSON as base64 "
                "strings with \"parameters\": {\"content_type\": \"base64\"} on the input");
  std::vector<const json*> values;
  flatten(data_of(input), values, limits.max_elements, name);
  expect_elements(values.size(), elements, input, name);
  std::vector<std::string> files;
  for (size_t r = 0; r < values.size(); ++r) {
    if (!values[r]->is_string())
      bad_request("input '" + name + "': row " + std::to_string(r) + " must be a string of base64");
    files.push_back(decode_base64_wav(values[r]->get_ref<const std::string&>(), max_bytes, name, int64_t(r)));
  }
  request.clips = clips_from_wav_files(std::vector<std::string_view>(files.begin(), files.end()), audio, name);
}

}  // namespace

std::string model_metadata_json(const ServedModel& served) {
  if (served.tensors) return tensor_metadata_json(served);
  const SavedModel& m = served.model;
  json inputs = json::array();
  if (m.images) {
    json shape = json::array({-1});
    for (int64_t d : m.model.input_shape().dims()) shape.push_back(d);
    inputs.push_back({{"name", kImage}, {"datatype", "FP32"}, {"shape", shape}});
  } else if (m.audio) {  // whole WAV files, one a row
    inputs.push_back({{"name", kAudioInput}, {"datatype", "BYTES"}, {"shape", {-1}}});
  } else {
    const auto numeric = numeric_columns(m.schema);
    if (!numeric.empty()) inputs.push_back({{"name", kFeatures}, {"datatype", "FP32"},
                                            {"shape", {-1, static_cast<int64_t>(numeric.size())}}});
    for (size_t c : categorical_columns(m.schema))
      inputs.push_back({{"name", m.schema.input_columns[c]}, {"datatype", "BYTES"}, {"shape", {-1}}});
    if (m.schema.text)  // raw text, one string a row, tokenized as in training
      inputs.push_back({{"name", m.schema.text_column}, {"datatype", "BYTES"}, {"shape", {-1}}});
  }
  json feature_columns = json::array();
  for (size_t c : numeric_columns(m.schema)) feature_columns.push_back(m.schema.input_columns[c]);
  json metadata{{"name", served.name},
                {"versions", {"1"}},
                {"platform", "citadel"},
                {"inputs", inputs},
                {"outputs", output_metadata(served)},
                {"parameters",
                 {{"feature_columns", feature_columns},
                  {"classes", m.schema.classes},
                  {"output_policy", served.policy.text()},
                  {"signature", served.signature}}}};
  if (m.audio) {  // what a file becomes, and how large one may be
    const AudioPreprocessingOptions& o = m.audio->options();
    metadata["parameters"]["audio"] = {{"sample_rate", o.sample_rate},
                                       {"clip_seconds", double(o.clip_samples) / double(o.sample_rate)},
                                       {"features", o.features},
                                       {"max_wav_bytes", max_wav_bytes(*m.audio)},
                                       {"max_wav_seconds", served_wav_limits(*m.audio).max_seconds}};
  }
  if (served.strip)  // that rows may be refused, and at what calibrated rate (never the threshold itself)
    metadata["parameters"]["strip"] = {{"n", served.strip->overlays},
                                       {"false_rejection_rate", served.strip->false_rejection_rate}};
  if (served.smoothing)  // what the answers are: the smoothed classifier's, at this level
    metadata["parameters"]["smoothing"] = {{"sigma", served.smoothing->sigma},
                                           {"n", served.smoothing->samples},
                                           {"alpha", served.smoothing->alpha}};
  // A model of several outputs: each output's label column and classes (no single "classes").
  if (m.several_outputs()) {
    json outputs = json::object();
    for (const OutputSchema& output : m.outputs)
      outputs[output.name] = {{"label", output.label.name},
                              {"label_type", output.label.type == LabelType::kClasses ? "classes" : "values"},
                              {"classes", output.label.classes}};
    metadata["parameters"].erase("classes");
    metadata["parameters"]["outputs"] = outputs;
  }
  // A model of several Inputs: which columns feed each (as `citadel info` lists them).
  if (m.model.input_count() > 1) {
    json groups = json::object();
    for (const FeatureGroup& group : feature_groups(m.schema, m.model.input_names())) groups[group.input] = group.columns;
    metadata["parameters"]["input_columns"] = groups;
  }
  return metadata.dump(-1, ' ', false, json::error_handler_t::replace);  // names from a CSV file need not be UTF-8
}

bool InferRequest::wants_binary(const std::string& output) const {
  if (std::find(binary_outputs.begin(), binary_outputs.end(), output) != binary_outputs.end()) return true;
  if (std::find(json_outputs.begin(), json_outputs.end(), output) != json_outputs.end()) return false;
  return binary_by_default;
}

InferRequest decode_infer_request(std::string_view json_body, const ServedModel& served, const RequestLimits& limits,
                                  std::string_view binary_tensors) {
  const ClaimedNumberLists claimed = limits.fast_number_lists ? claim_number_lists(json_body) : ClaimedNumberLists{};
  // The claimed lists' depth is the scanner's; the rest is counted in the (short) text left.
  const int depth = claimed.text.empty() ? json_nesting_depth(json_body)
                                         : std::max(json_nesting_depth(claimed.text), claimed.deepest);
  if (depth > limits.max_json_depth)
    bad_request("JSON nested deeper than " + std::to_string(limits.max_json_depth) + " levels");
  json root;
  try {
    root = json::parse(claimed.text.empty() ? json_body : std::string_view(claimed.text));  // NaN, Infinity: refused
  } catch (const json::exception& e) {
    if (!claimed.text.empty()) {  // the error as it stands in the text the client sent
      try {
        const json original_root = json::parse(json_body);
        static_cast<void>(original_root);
      } catch (const json::exception& original) {
        bad_request(std::string("not valid JSON: ") + original.what());
      }
    }
    bad_request(std::string("not valid JSON: ") + e.what());
  }
  if (!root.is_object() || !root.contains("inputs") || !root["inputs"].is_array())
    bad_request("expected an object with 'inputs', a list of tensors");
  const SavedModel& m = served.model;
  InferRequest request;
  if (root.contains("id")) {
    if (!root["id"].is_string() || root["id"].get<std::string>().size() > 256)
      bad_request("'id' must be a string of at most 256 bytes");
    request.id = root["id"].get<std::string>();
    request.has_id = true;
  }
  read_outputs(root, served, output_metadata(served), request);
  const json& inputs = root["inputs"];
  if (inputs.size() > 1024) bad_request("more than 1024 inputs");
  const BinaryInputs binary = claim_binary_inputs(inputs, binary_tensors);

  if (served.tensors) {
    decode_tensor_inputs(inputs, served, limits, binary, claimed, request);
    return request;
  }
  if (m.images) {
    const json& input = find_input(inputs, kImage);
    check_datatype(input, kImage, false);
    std::vector<int64_t> shape;
    const int64_t elements = shape_product(input, kImage, shape, limits.max_elements);
    const std::vector<int64_t> expected = m.model.input_shape().dims();
    if (shape.size() != expected.size() + 1 || !std::equal(expected.begin(), expected.end(), shape.begin() + 1))
      bad_request("input 'image': shape " + input["shape"].dump() + " does not match the model's [-1" +
                  [&] { std::string s; for (int64_t d : expected) s += ", " + std::to_string(d); return s; }() + "]");
    request.rows = shape[0];
    if (request.rows == 0) bad_request("input 'image': shape " + input["shape"].dump() + ": a request needs at least one row");
    check_row_count(request.rows, served, limits);
    const std::vector<double> values = numbers_of(input, kImage, elements, binary, claimed, limits);
    request.images = Tensor(Shape(shape));
    for (size_t i = 0; i < values.size(); ++i) request.images[static_cast<int64_t>(i)] = static_cast<float>(values[i]);
    for (const json& other : inputs)
      if (name_of(other) != kImage) bad_request("unknown input '" + name_of(other) + "'");
    return request;
  }

  if (m.audio) {
    decode_audio_input(inputs, served, limits, binary, request);
    return request;
  }

  // CSV models: the numeric columns from "features", each categorical column by name.
  const DataSchema& schema = m.schema;
  const auto numeric = numeric_columns(schema);
  const auto categorical = categorical_columns(schema);
  std::vector<std::vector<std::string>> cells(schema.input_columns.size());
  bool rows_known = false;
  // An empty batch is refused as Triton refuses a batch size below 1 (INVALID_ARG, a 400):
  // an answer of nothing would hide the client's mistake.
  auto set_rows = [&](int64_t rows, const std::string& name, const json& shape) {
    if (rows == 0) bad_request("input '" + name + "': shape " + shape.dump() + ": a request needs at least one row");
    check_row_count(rows, served, limits);
    if (rows_known && request.rows != rows)
      bad_request("input '" + name + "' has " + std::to_string(rows) + " rows, another input " +
                  std::to_string(request.rows));
    request.rows = rows;
    rows_known = true;
  };
  if (!numeric.empty()) {
    const json& input = find_input(inputs, kFeatures);
    check_datatype(input, kFeatures, false);
    std::vector<int64_t> shape;
    const int64_t elements = shape_product(input, kFeatures, shape, limits.max_elements);
    if (shape.size() != 2 || shape[1] != static_cast<int64_t>(numeric.size()))
      bad_request("input 'features': shape " + input["shape"].dump() + " does not match the model's [-1, " +
                  std::to_string(numeric.size()) + "]");
    set_rows(shape[0], kFeatures, input["shape"]);
    const std::vector<double> values =
        numbers_of(input, kFeatures, elements, binary, claimed, limits, m.preprocessor.imputes_missing());
    for (size_t i = 0; i < values.size(); ++i) cells[numeric[i % numeric.size()]].push_back(float_cell(values[i]));
    if (served.watermark) {  // the rows the watermark keys on, as parsed
      request.features = Tensor(Shape{shape[0], shape[1]});
      for (size_t i = 0; i < values.size(); ++i) request.features[static_cast<int64_t>(i)] = static_cast<float>(values[i]);
    }
  }
  // Each categorical column, and a text model's column of raw text, as BYTES of one string a row.
  auto read_strings = [&](const std::string& name) {
    const json& input = find_input(inputs, name);
    check_datatype(input, name, true);
    std::vector<int64_t> shape;
    const int64_t elements = shape_product(input, name, shape, limits.max_elements);
    if (!(shape.size() == 1 || (shape.size() == 2 && shape[1] == 1)))
      bad_request("input '" + name + "': shape " + input["shape"].dump() + " must be [N] or [N, 1]");
    set_rows(shape[0], name, input["shape"]);
    return strings_of(input, name, elements, binary, claimed, limits);
  };
  for (size_t c : categorical) cells[c] = read_strings(schema.input_columns[c]);
  if (schema.text) cells.push_back(read_strings(schema.text_column));  // tokenized by encode_request
  for (const json& input : inputs) {  // anything else is a mistake worth naming
    const std::string name = name_of(input);
    bool known = (name == kFeatures && !numeric.empty()) || (schema.text && name == schema.text_column);
    for (size_t c : categorical) known = known || name == schema.input_columns[c];
    if (!known) bad_request("unknown input '" + name + "'");
  }
  CsvTable& table = request.table;
  table.source = "request";
  table.columns = schema.input_columns;
  if (schema.text) table.columns.push_back(schema.text_column);
  for (size_t c = 0; c < table.columns.size(); ++c) table.column_by_name.emplace(table.columns[c], int64_t(c));
  table.rows = request.rows;
  for (int64_t r = 0; r < request.rows; ++r) {
    table.lines.push_back(r + 1);
    for (size_t c = 0; c < table.columns.size(); ++c) table.cells.push_back(cells[c][static_cast<size_t>(r)]);
  }
  return request;
}

Dataset encode_request(const InferRequest& request, const ServedModel& served) {
  const SavedModel& m = served.model;
  if (m.images) {
    Dataset rows;
    rows.x = request.images;
    m.preprocessor.apply(rows.x);
    for (int64_t r = 0; r < request.rows; ++r) rows.lines.push_back(r + 1);
    return rows;
  }
  if (m.audio) {  // the features `citadel predict` computes from the same files
    Dataset rows;
    rows.x = m.audio->features(request.clips);
    for (int64_t r = 0; r < request.rows; ++r) rows.lines.push_back(r + 1);
    return rows;
  }
  try {
    return m.encode(request.table, m.preprocessor.imputes_missing() ? MissingValues::kMean : MissingValues::kError);
  } catch (const ValueError& e) {  // a category or number the schema cannot read
    throw RequestError(400, e.what());
  }
}

RowPredictions predict_request(const Dataset& rows, const ServedModel& served) {
  if (served.smoothing) return predict_smoothed(rows, served);  // never the base model's probabilities
  return predict_encoded_rows(served.model.model, served.model.schema, rows, 32, served.model.label_outputs());
}

std::vector<int64_t> predicted_classes(const RowPredictions& predictions) {
  const int64_t rows = static_cast<int64_t>(predictions.lines.size());
  std::vector<int64_t> classes(static_cast<size_t>(rows), 0);
  if (!predictions.smoothed_classes.empty()) {  // an abstention is a class of its own to the monitor
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t c = predictions.smoothed_classes[size_t(r)];
      classes[size_t(r)] = c < 0 ? int64_t(predictions.class_names.size()) : c;
    }
    return classes;
  }
  // Several outputs: the first that classifies (in the model's output order).
  const Tensor* probabilities = &predictions.probabilities;
  for (auto output = predictions.outputs.rbegin(); output != predictions.outputs.rend(); ++output)
    if (output->probabilities.defined()) probabilities = &output->probabilities;
  if (probabilities->numel() == 0 || probabilities->shape().dims().size() != 2) return classes;
  const int64_t k = probabilities->shape(1);
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = probabilities->data() + r * k;
    classes[size_t(r)] = std::max_element(row, row + k) - row;
  }
  return classes;
}

InferResponse infer(const InferRequest& request, const ServedModel& served) {
  if (served.tensors) return encode_tensor_response(request, predict_tensors(request, served), served);
  return encode_infer_response(request, predict_request(encode_request(request, served), served), served);
}

}  // namespace citadel::serving
