// KServe v2 JSON: metadata, request decoding (bounded, strict: NaN and Infinity are not
// JSON, numbers beyond float's range and mismatched shapes are 400s), responses.
#include "citadel/serving/inference_protocol.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <limits>
#include <nlohmann/json.hpp>

#include "citadel/core/json_limits.hpp"

namespace citadel::serving {
namespace {

using nlohmann::json;

constexpr const char* kFeatures = "features";  // the numeric columns, as one FP32 input
constexpr const char* kImage = "image";

[[noreturn]] void bad_request(const std::string& message) { throw RequestError(400, message); }

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

// The element as a number float can hold, or a 400 naming it.
double checked_number(const json& value, const std::string& input, size_t index) {
  if (!value.is_number()) bad_request("input '" + input + "': element " + std::to_string(index) + " is not a number");
  const double number = value.get<double>();
  if (!std::isfinite(number) || std::abs(number) > double(std::numeric_limits<float>::max()))
    bad_request("input '" + input + "': element " + std::to_string(index) + " is beyond float's range");
  return number;
}

std::string float_cell(const json& value, const std::string& input, size_t index) {
  const double number = checked_number(value, input, index);
  char text[32];
  std::snprintf(text, sizeof text, "%.9g", number);  // float round-trips exactly at 9 digits
  return text;
}

// The input's "data" (an empty list when absent); a reference into the request.
const json& data_of(const json& input) {
  static const json empty = json::array();
  return input.contains("data") ? input["data"] : empty;
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

json output_metadata(const ServedModel& served) {
  json outputs = json::array();
  if (served.model.classification()) {
    if (served.policy.reveals_probabilities())
      outputs.push_back({{"name", "probabilities"}, {"datatype", "FP32"},
                         {"shape", {-1, served.model.schema.class_count()}}});
    outputs.push_back({{"name", "label"}, {"datatype", "BYTES"}, {"shape", {-1}}});
  } else {
    outputs.push_back({{"name", "value"}, {"datatype", "FP32"}, {"shape", {-1}}});
  }
  return outputs;
}

// A float as the shortest decimal that reads back as it (0.67, not 0.6700000166893005).
double shortest(float value) {
  char text[32];
  const auto end = std::to_chars(text, text + sizeof text, value).ptr;
  *end = '\0';
  return std::strtod(text, nullptr);
}

}  // namespace

std::string model_metadata_json(const ServedModel& served) {
  const SavedModel& m = served.model;
  json inputs = json::array();
  if (m.images) {
    json shape = json::array({-1});
    for (int64_t d : m.model.input_shape().dims()) shape.push_back(d);
    inputs.push_back({{"name", kImage}, {"datatype", "FP32"}, {"shape", shape}});
  } else {
    const auto numeric = numeric_columns(m.schema);
    if (!numeric.empty()) inputs.push_back({{"name", kFeatures}, {"datatype", "FP32"},
                                            {"shape", {-1, static_cast<int64_t>(numeric.size())}}});
    for (size_t c : categorical_columns(m.schema))
      inputs.push_back({{"name", m.schema.input_columns[c]}, {"datatype", "BYTES"}, {"shape", {-1}}});
  }
  json feature_columns = json::array();
  for (size_t c : numeric_columns(m.schema)) feature_columns.push_back(m.schema.input_columns[c]);
  return json{{"name", served.name},
              {"versions", {"1"}},
              {"platform", "citadel"},
              {"inputs", inputs},
              {"outputs", output_metadata(served)},
              {"parameters",
               {{"feature_columns", feature_columns},
                {"classes", m.schema.classes},
                {"output_policy", served.policy.text()},
                {"signature", served.signature}}}}
      .dump(-1, ' ', false, json::error_handler_t::replace);  // names from a CSV file need not be UTF-8
}

InferRequest decode_infer_request(std::string_view body, const ServedModel& served, const RequestLimits& limits) {
  if (json_nesting_depth(body) > limits.max_json_depth)
    bad_request("JSON nested deeper than " + std::to_string(limits.max_json_depth) + " levels");
  json root;
  try {
    root = json::parse(body);  // NaN and Infinity are not JSON: refused here
  } catch (const json::exception& e) {
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
  if (root.contains("outputs")) {
    if (!root["outputs"].is_array() || root["outputs"].size() > 16) bad_request("'outputs' must be a list of up to 16");
    const json known = output_metadata(served);
    for (const json& output : root["outputs"]) {
      if (!output.is_object() || !output.contains("name") || !output["name"].is_string())
        bad_request("each of 'outputs' needs a 'name'");
      const std::string name = output["name"].get<std::string>();
      bool found = false;
      for (const json& k : known) found = found || k["name"] == name;
      if (!found && name == "probabilities" && m.classification())
        throw RequestError(403, "output 'probabilities' is not allowed by this model's output policy (" +
                                    served.policy.text() + ")");
      if (!found) bad_request("unknown output '" + name + "'");
      request.outputs.push_back(name);
    }
  }
  const json& inputs = root["inputs"];
  if (inputs.size() > 1024) bad_request("more than 1024 inputs");

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
    if (request.rows > limits.max_rows)
      throw RequestError(413, "more than " + std::to_string(limits.max_rows) + " rows in one request");
    std::vector<const json*> values;
    flatten(data_of(input), values, limits.max_elements, kImage);
    if (static_cast<int64_t>(values.size()) != elements)
      bad_request("input 'image': " + std::to_string(values.size()) + " elements for shape " + input["shape"].dump());
    std::vector<int64_t> dims = shape;
    request.images = Tensor(Shape(dims));
    for (size_t i = 0; i < values.size(); ++i) request.images[static_cast<int64_t>(i)] = static_cast<float>(checked_number(*values[i], kImage, i));
    return request;
  }

  // CSV models: the numeric columns from "features", each categorical column by name.
  const DataSchema& schema = m.schema;
  const auto numeric = numeric_columns(schema);
  const auto categorical = categorical_columns(schema);
  std::vector<std::vector<std::string>> cells(schema.input_columns.size());
  bool rows_known = false;
  auto set_rows = [&](int64_t rows, const std::string& name) {
    if (rows > limits.max_rows)
      throw RequestError(413, "more than " + std::to_string(limits.max_rows) + " rows in one request");
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
    set_rows(shape[0], kFeatures);
    std::vector<const json*> values;
    flatten(data_of(input), values, limits.max_elements, kFeatures);
    if (static_cast<int64_t>(values.size()) != elements)
      bad_request("input 'features': " + std::to_string(values.size()) + " elements for shape " + input["shape"].dump());
    for (size_t i = 0; i < values.size(); ++i) cells[numeric[i % numeric.size()]].push_back(float_cell(*values[i], kFeatures, i));
  }
  for (size_t c : categorical) {
    const std::string& name = schema.input_columns[c];
    const json& input = find_input(inputs, name);
    check_datatype(input, name, true);
    std::vector<int64_t> shape;
    const int64_t elements = shape_product(input, name, shape, limits.max_elements);
    if (!(shape.size() == 1 || (shape.size() == 2 && shape[1] == 1)))
      bad_request("input '" + name + "': shape " + input["shape"].dump() + " must be [N] or [N, 1]");
    set_rows(shape[0], name);
    std::vector<const json*> values;
    flatten(data_of(input), values, limits.max_elements, name);
    if (static_cast<int64_t>(values.size()) != elements)
      bad_request("input '" + name + "': " + std::to_string(values.size()) + " elements for shape " + input["shape"].dump());
    for (size_t i = 0; i < values.size(); ++i) {
      if (!values[i]->is_string() || values[i]->get<std::string>().size() > limits.max_string_bytes)
        bad_request("input '" + name + "': element " + std::to_string(i) + " must be a string of at most " +
                    std::to_string(limits.max_string_bytes) + " bytes");
      cells[c].push_back(values[i]->get<std::string>());
    }
  }
  for (const json& input : inputs) {  // anything else is a mistake worth naming
    const std::string name = input.is_object() && input.contains("name") && input["name"].is_string()
                                 ? input["name"].get<std::string>() : "";
    bool known = name == kFeatures && !numeric.empty();
    for (size_t c : categorical) known = known || name == schema.input_columns[c];
    if (!known) bad_request("unknown input '" + name + "'");
  }
  CsvTable& table = request.table;
  table.source = "request";
  table.columns = schema.input_columns;
  for (size_t c = 0; c < table.columns.size(); ++c) table.column_by_name.emplace(table.columns[c], int64_t(c));
  table.rows = request.rows;
  for (int64_t r = 0; r < request.rows; ++r) {
    table.lines.push_back(r + 1);
    for (size_t c = 0; c < table.columns.size(); ++c) table.cells.push_back(cells[c][static_cast<size_t>(r)]);
  }
  return request;
}

std::string infer_response_json(const InferRequest& request, const ServedModel& served) {
  const SavedModel& m = served.model;
  RowPredictions predictions;
  if (m.images) {
    Dataset rows;
    rows.x = request.images;
    m.preprocessor.apply(rows.x);
    for (int64_t r = 0; r < request.rows; ++r) rows.lines.push_back(r + 1);
    predictions = predict_encoded_rows(m.model, m.schema, rows);
  } else {
    try {
      predictions = m.predict_rows(request.table);
    } catch (const ValueError& e) {  // a category or number the schema cannot read
      throw RequestError(400, e.what());
    }
  }
  auto wanted = [&](const char* name) {
    if (request.outputs.empty()) return true;
    return std::find(request.outputs.begin(), request.outputs.end(), name) != request.outputs.end();
  };
  json outputs = json::array();
  const int64_t rows = request.rows;
  if (m.classification()) {
    const int64_t classes = m.schema.class_count();
    if (served.policy.reveals_probabilities() && wanted("probabilities")) {
      std::vector<float> data(predictions.probabilities.data(), predictions.probabilities.data() + rows * classes);
      for (int64_t r = 0; r < rows; ++r) served.policy.apply(data.data() + r * classes, classes);
      json values = json::array();
      for (float v : data) values.push_back(shortest(v));
      outputs.push_back({{"name", "probabilities"}, {"datatype", "FP32"}, {"shape", {rows, classes}}, {"data", values}});
    }
    if (wanted("label")) outputs.push_back({{"name", "label"}, {"datatype", "BYTES"}, {"shape", {rows}},
                                            {"data", predictions.labels}});
  } else if (wanted("value")) {
    json values = json::array();
    for (int64_t r = 0; r < rows; ++r) {
      float v = predictions.values[r];
      served.policy.apply(&v, 1);
      values.push_back(shortest(v));
    }
    outputs.push_back({{"name", "value"}, {"datatype", "FP32"}, {"shape", {rows}}, {"data", values}});
  }
  json response{{"model_name", served.name}, {"model_version", "1"}, {"outputs", outputs}};
  if (request.has_id) response["id"] = request.id;
  return response.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace citadel::serving
