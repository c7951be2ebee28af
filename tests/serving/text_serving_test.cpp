// A raw-text model's requests in process: the BYTES strings (JSON or binary) are tokenized by
// the saved vocabulary and predicted as Model::predict predicts the vectorizer's ids, and
// text that is not UTF-8 is a 400 naming the row.
#include <gtest/gtest.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "citadel/serving/inference_protocol.hpp"
#include "text_served_model.hpp"

namespace text_serving_test {

using namespace citadel;
using namespace citadel::serving;
using nlohmann::json;

namespace {

// The binary form of one BYTES input: each string's 4-byte little-endian length, then it.
std::string binary_strings(const std::vector<std::string>& strings) {
  std::string bytes;
  for (const std::string& s : strings) {
    const uint32_t length = uint32_t(s.size());
    char prefix[4];
    std::memcpy(prefix, &length, 4);
    bytes.append(prefix, 4).append(s);
  }
  return bytes;
}

}  // namespace

TEST(TextServing, StringsArePredictedAsTheirTokenIds) {
  ServedModel served = text_served_model("text", "full");
  const std::vector<std::string> texts = {"FREE lunch", "notes, team!", "never seen", ""};
  const json body{{"inputs", {{{"name", "message"}, {"datatype", "BYTES"}, {"shape", {4}}, {"data", texts}}}}};
  const InferRequest request = decode_infer_request(body.dump(), served, RequestLimits{});
  ASSERT_EQ(request.rows, 4);
  const json answer = json::parse(infer(request, served).body);

  const Tensor ids = served.model.schema.text->transform(texts);
  EXPECT_EQ(ids[0], float(served.model.schema.text->index("free")));  // lowercased
  const Tensor expected = served.model.model.predict(ids);
  json probabilities;
  for (const json& output : answer["outputs"])
    if (output["name"] == "probabilities") probabilities = output["data"];
  ASSERT_EQ(probabilities.size(), 8u) << answer.dump();
  for (int64_t i = 0; i < 8; ++i) EXPECT_NEAR(probabilities[size_t(i)].get<double>(), expected[i], 1e-6) << i;

  // The same strings in binary give the same rows.
  const std::string tensors = binary_strings(texts);
  const json binary_body{{"inputs",
                          {{{"name", "message"},
                            {"datatype", "BYTES"},
                            {"shape", {4}},
                            {"parameters", {{"binary_data_size", tensors.size()}}}}}}};
  const InferRequest from_binary = decode_infer_request(binary_body.dump(), served, RequestLimits{}, tensors);
  for (int64_t r = 0; r < 4; ++r) EXPECT_EQ(from_binary.table.cell(r, 0), request.table.cell(r, 0));
}

TEST(TextServing, TextThatIsNotUtf8IsA400NamingTheRow) {
  const ServedModel served = text_served_model("text", "full");
  const std::string tensors = binary_strings({"fine", "bad \xff\xfe bytes"});
  const json body{{"inputs",
                   {{{"name", "message"},
                     {"datatype", "BYTES"},
                     {"shape", {2}},
                     {"parameters", {{"binary_data_size", tensors.size()}}}}}}};
  const InferRequest request = decode_infer_request(body.dump(), served, RequestLimits{}, tensors);
  try {
    infer(request, served);
    ADD_FAILURE() << "invalid UTF-8 was predicted";
  } catch (const RequestError& e) {
    EXPECT_EQ(e.status(), 400);
    EXPECT_NE(std::string(e.what()).find("row 1"), std::string::npos) << e.what();
  }
}

}  // namespace text_serving_test
