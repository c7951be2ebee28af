// Infer responses as the v2 protocol lays them out, written without a JSON library: read
// back with nlohmann, every float is the float predicted (bit for bit), NaN is null,
// strings that need escaping or are not valid UTF-8 come back as nlohmann writes them,
// and binary outputs hold exactly the bytes of the data their header names.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "citadel/serving/binary_tensors.hpp"
#include "citadel/serving/inference_protocol.hpp"
#include "colour_model.hpp"

namespace infer_response_test {

using namespace citadel;
using namespace citadel::serving;
using nlohmann::json;

namespace {

uint32_t bits(float value) {
  uint32_t b = 0;
  std::memcpy(&b, &value, sizeof b);
  return b;
}

// Three rows' predictions for the colour model's two classes, with awkward numbers.
RowPredictions awkward_predictions() {
  RowPredictions p;
  p.lines = {1, 2, 3};
  p.class_names = {"no", "yes"};
  p.labels = {"no", "yes", "no"};
  p.probabilities = Tensor(Shape{3, 2});
  const float values[] = {0.1f, 0.9f, 1.0f, 0.0f, 1e-7f, std::numeric_limits<float>::quiet_NaN()};
  std::copy(std::begin(values), std::end(values), p.probabilities.data());
  return p;
}

}  // namespace

TEST(InferResponse, JsonOutputsReadBackAsThePredictedFloatsAndLabels) {
  const ServedModel served = colour_model("colours", "full");
  InferRequest request;
  request.rows = 3;
  request.id = std::string("a \"quoted\" id \xc3\xa9 and a bad byte \xff");
  request.has_id = true;
  const RowPredictions predictions = awkward_predictions();
  const InferResponse response = encode_infer_response(request, predictions, served);
  EXPECT_FALSE(response.binary);
  EXPECT_EQ(response.json_bytes, response.body.size());
  const json body = json::parse(response.body);
  EXPECT_EQ(body["id"], "a \"quoted\" id \xc3\xa9 and a bad byte \xef\xbf\xbd");  // U+FFFD, as nlohmann replaces
  EXPECT_EQ(body["model_name"], "colours");
  EXPECT_EQ(body["model_version"], "1");
  ASSERT_EQ(body["outputs"].size(), 2u);
  const json& probabilities = body["outputs"][0];
  EXPECT_EQ(probabilities["name"], "probabilities");
  EXPECT_EQ(probabilities["datatype"], "FP32");
  EXPECT_EQ(probabilities["shape"], json::parse("[3, 2]"));
  ASSERT_EQ(probabilities["data"].size(), 6u);
  for (size_t i = 0; i < 5; ++i) {
    ASSERT_TRUE(probabilities["data"][i].is_number_float()) << i;  // 1.0 and 0.0, not 1 and 0
    EXPECT_EQ(bits(probabilities["data"][i].get<float>()), bits(predictions.probabilities[int64_t(i)])) << i;
  }
  EXPECT_TRUE(probabilities["data"][5].is_null());  // NaN is not JSON
  const json& labels = body["outputs"][1];
  EXPECT_EQ(labels["name"], "label");
  EXPECT_EQ(labels["datatype"], "BYTES");
  EXPECT_EQ(labels["shape"], json::parse("[3]"));
  EXPECT_EQ(labels["data"], json::parse(R"(["no", "yes", "no"])"));
  // Shortest forms: 0.1f is written 0.1, not 0.10000000149011612.
  EXPECT_NE(response.body.find("[0.1,0.9,1.0,0.0,1e-07,null]"), std::string::npos) << response.body;
}

TEST(InferResponse, ClassNamesThatNeedEscapingAreEscaped) {
  const ServedModel served = colour_model("colours", "full");
  InferRequest request;
  request.rows = 2;
  request.outputs = {"label"};
  RowPredictions predictions = awkward_predictions();
  predictions.labels = {"tab\there \"x\"", "back\\slash\n"};
  const json body = json::parse(encode_infer_response(request, predictions, served).body);
  ASSERT_EQ(body["outputs"].size(), 1u);  // only the output asked for
  EXPECT_EQ(body["outputs"][0]["data"][0], "tab\there \"x\"");
  EXPECT_EQ(body["outputs"][0]["data"][1], "back\\slash\n");
  EXPECT_FALSE(body.contains("id"));
}

TEST(InferResponse, BinaryOutputsFollowTheJsonHeaderByteForByte) {
  const ServedModel served = colour_model("colours", "full");
  InferRequest request;
  request.rows = 3;
  request.binary_by_default = true;
  request.json_outputs = {"label"};  // this one stays JSON
  const RowPredictions predictions = awkward_predictions();
  const InferResponse response = encode_infer_response(request, predictions, served);
  EXPECT_TRUE(response.binary);
  ASSERT_LT(response.json_bytes, response.body.size());
  const json header = json::parse(response.body.substr(0, response.json_bytes));
  const json& probabilities = header["outputs"][0];
  EXPECT_FALSE(probabilities.contains("data"));
  std::string expected;
  append_binary_floats(expected, predictions.probabilities.data(), 6);
  EXPECT_EQ(probabilities["parameters"]["binary_data_size"], expected.size());
  EXPECT_EQ(response.body.substr(response.json_bytes), expected);
  EXPECT_EQ(header["outputs"][1]["data"], json::parse(R"(["no", "yes", "no"])"));
}

TEST(InferResponse, OutputPoliciesApplyBeforeWriting) {
  const ServedModel rounded = colour_model("colours", "round:1");
  InferRequest request;
  request.rows = 3;
  const RowPredictions predictions = awkward_predictions();
  const json body = json::parse(encode_infer_response(request, predictions, rounded).body);
  const json& data = body["outputs"][0]["data"];
  EXPECT_EQ(bits(data[0].get<float>()), bits(0.1f));
  EXPECT_EQ(data[4].get<double>(), 0.0);  // 1e-7 rounded to one decimal
  const ServedModel labels_only = colour_model("colours", "label");
  const json coarse = json::parse(encode_infer_response(request, predictions, labels_only).body);
  ASSERT_EQ(coarse["outputs"].size(), 1u);
  EXPECT_EQ(coarse["outputs"][0]["name"], "label");
}

}  // namespace infer_response_test
