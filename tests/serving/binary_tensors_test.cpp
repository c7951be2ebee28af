// Triton's binary tensor extension: the layout read and written byte by byte against
// bytes built here independently, binary requests that must predict exactly what the same
// request in JSON predicts, and hostile lengths that must be 400s.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "citadel/serving/binary_tensors.hpp"
#include "citadel/serving/inference_protocol.hpp"
#include "colour_model.hpp"

namespace binary_tensors_test {

using namespace citadel;
using namespace citadel::serving;
using nlohmann::json;

namespace {

template <typename T>
std::string bytes_of(std::initializer_list<T> values) {
  std::string out;
  for (T v : values) {
    char raw[sizeof(T)];
    std::memcpy(raw, &v, sizeof v);
    out.append(raw, sizeof raw);
  }
  return out;
}

std::string length_prefixed(const std::string& s) {
  const uint32_t n = static_cast<uint32_t>(s.size());
  const unsigned char le[4] = {static_cast<unsigned char>(n), static_cast<unsigned char>(n >> 8),
                               static_cast<unsigned char>(n >> 16), static_cast<unsigned char>(n >> 24)};
  return std::string(reinterpret_cast<const char*>(le), 4) + s;
}

int status_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const RequestError& e) {
    return e.status();
  }
  return 200;
}

ServedModel served_colours(const std::string& policy = "full", bool impute = false) {
  return colour_model("colours", policy, impute);
}

}  // namespace

TEST(BinaryTensors, SplitsTheBodyAtTheHeaderLength) {
  const BinaryBody body = split_binary_body("{\"inputs\":[]}ABCD", "13");
  EXPECT_EQ(body.json, "{\"inputs\":[]}");
  EXPECT_EQ(body.tensors, "ABCD");
  EXPECT_EQ(split_binary_body("{}", "2").tensors, "");
  for (const char* bad : {"", "14x", "-1", "18", "99999999999999999999999", " 2"})
    EXPECT_EQ(status_of([&] { split_binary_body("{\"inputs\":[]}ABCD", bad); }), 400) << bad;
}

TEST(BinaryTensors, NumbersOfEveryAcceptedTypeAreReadLittleEndian) {
  EXPECT_EQ(decode_binary_numbers(bytes_of<float>({1.5f, -2.0f}), "FP32", 2, "x"), (std::vector<double>{1.5, -2.0}));
  EXPECT_EQ(decode_binary_numbers(bytes_of<double>({0.25}), "FP64", 1, "x"), (std::vector<double>{0.25}));
  EXPECT_EQ(decode_binary_numbers(bytes_of<int32_t>({-7, 9}), "INT32", 2, "x"), (std::vector<double>{-7, 9}));
  EXPECT_EQ(decode_binary_numbers(bytes_of<int64_t>({1LL << 40}), "INT64", 1, "x"),
            (std::vector<double>{double(1LL << 40)}));
  // An independent look at the byte order: 1.0f is 0x3F800000.
  EXPECT_EQ(decode_binary_numbers(std::string("\x00\x00\x80\x3f", 4), "FP32", 1, "x"), (std::vector<double>{1.0}));
}

TEST(BinaryTensors, BadNumbersAndSizesAreRefused) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(status_of([&] { decode_binary_numbers(bytes_of<float>({1, nan}), "FP32", 2, "x"); }), 400);
  EXPECT_EQ(status_of([&] { decode_binary_numbers(bytes_of<float>({inf}), "FP32", 1, "x"); }), 400);
  EXPECT_EQ(status_of([&] { decode_binary_numbers(bytes_of<double>({1e300}), "FP64", 1, "x"); }), 400);
  EXPECT_EQ(status_of([&] { decode_binary_numbers(bytes_of<float>({1, 2}), "FP32", 3, "x"); }), 400);
  EXPECT_EQ(status_of([&] { decode_binary_numbers(bytes_of<float>({1, 2}) + "z", "FP32", 2, "x"); }), 400);
  EXPECT_EQ(status_of([&] { decode_binary_numbers(bytes_of<float>({1}), "FP16", 2, "x"); }), 400);
  EXPECT_EQ(status_of([&] { decode_binary_numbers("", "FP32", -1, "x"); }), 400);
}

TEST(BinaryTensors, StringsAreLengthPrefixedAndBounded) {
  const std::string two = length_prefixed("red") + length_prefixed("");
  EXPECT_EQ(decode_binary_strings(two, 2, 16, "c"), (std::vector<std::string>{"red", ""}));
  std::string written;
  append_binary_strings(written, {"red", ""});
  EXPECT_EQ(written, two);
  EXPECT_EQ(status_of([&] { decode_binary_strings(two, 3, 16, "c"); }), 400);         // ends early
  EXPECT_EQ(status_of([&] { decode_binary_strings(two + "x", 2, 16, "c"); }), 400);   // bytes left
  EXPECT_EQ(status_of([&] { decode_binary_strings(two, 2, 2, "c"); }), 400);          // longer than allowed
  EXPECT_EQ(status_of([&] { decode_binary_strings(std::string("\xff\xff\xff\xff", 4) + "abc", 1, 1 << 30, "c"); }),
            400);  // a length past the data
  EXPECT_EQ(status_of([&] { decode_binary_strings(std::string("\x0a\x00\x00\x00" "abc", 7), 1, 16, "c"); }),
            400);  // a length within the limit, past the data
  EXPECT_EQ(status_of([&] { decode_binary_strings("ab", 1, 16, "c"); }), 400);  // a length cut short
}

TEST(BinaryTensors, ABinaryRequestPredictsWhatTheSameJsonRequestPredicts) {
  const ServedModel served = served_colours();
  const json as_json{{"inputs",
                      {{{"name", "features"}, {"datatype", "FP32"}, {"shape", {2, 2}}, {"data", {1.5, 2, 3, -4}}},
                       {{"name", "colour"}, {"datatype", "BYTES"}, {"shape", {2}}, {"data", {"blue", "red"}}}}}};
  const InferResponse expected = infer(decode_infer_request(as_json.dump(), served, {}), served);
  ASSERT_FALSE(expected.binary);
  const std::string features = bytes_of<float>({1.5f, 2, 3, -4});
  const std::string colours = length_prefixed("blue") + length_prefixed("red");
  // The categorical input first in the JSON: its bytes come first.
  const json header{{"inputs",
                     {{{"name", "colour"}, {"datatype", "BYTES"}, {"shape", {2}},
                       {"parameters", {{"binary_data_size", colours.size()}}}},
                      {{"name", "features"}, {"datatype", "FP32"}, {"shape", {2, 2}},
                       {"parameters", {{"binary_data_size", features.size()}}}}}}};
  const InferRequest request = decode_infer_request(header.dump(), served, {}, colours + features);
  const InferResponse json_out = infer(request, served);
  EXPECT_EQ(json_out.body, expected.body);

  // Binary outputs: the JSON names each size, the bytes follow in the outputs' order.
  json binary_header = header;
  binary_header["parameters"] = {{"binary_data_output", true}};
  const InferResponse binary_out =
      infer(decode_infer_request(binary_header.dump(), served, {}, colours + features), served);
  ASSERT_TRUE(binary_out.binary);
  const json head = json::parse(binary_out.body.substr(0, binary_out.json_bytes));
  const json reference = json::parse(expected.body);
  ASSERT_EQ(head["outputs"].size(), 2u);
  EXPECT_EQ(head["outputs"][0]["parameters"]["binary_data_size"], 16);  // 2 × 2 floats
  EXPECT_FALSE(head["outputs"][0].contains("data"));
  const std::string tensors = binary_out.body.substr(binary_out.json_bytes);
  ASSERT_EQ(tensors.size(), 16 + head["outputs"][1]["parameters"]["binary_data_size"].get<size_t>());
  const std::vector<double> probabilities = decode_binary_numbers(tensors.substr(0, 16), "FP32", 4, "p");
  for (int i = 0; i < 4; ++i)
    EXPECT_FLOAT_EQ(float(probabilities[size_t(i)]), reference["outputs"][0]["data"][i].get<float>()) << i;
  EXPECT_EQ(decode_binary_strings(tensors.substr(16), 2, 64, "label"),
            reference["outputs"][1]["data"].get<std::vector<std::string>>());

  // "binary_data" on one output overrides the request's default.
  binary_header["outputs"] = {{{"name", "label"}, {"parameters", {{"binary_data", false}}}}};
  const InferResponse label_only =
      infer(decode_infer_request(binary_header.dump(), served, {}, colours + features), served);
  EXPECT_FALSE(label_only.binary);
  EXPECT_EQ(json::parse(label_only.body)["outputs"][0]["data"], reference["outputs"][1]["data"]);
}

TEST(BinaryTensors, HostileBinaryRequestsAre400s) {
  const ServedModel served = served_colours();
  const std::string features = bytes_of<float>({1, 2});
  const std::string colour = length_prefixed("red");
  auto request = [&](int64_t feature_size, int64_t colour_size, const std::string& tensors, bool with_data = false) {
    json features_input{{"name", "features"}, {"datatype", "FP32"}, {"shape", {1, 2}},
                        {"parameters", {{"binary_data_size", feature_size}}}};
    if (with_data) features_input["data"] = {1, 2};
    const json header{{"inputs", {features_input,
                                  {{"name", "colour"}, {"datatype", "BYTES"}, {"shape", {1}},
                                   {"parameters", {{"binary_data_size", colour_size}}}}}}};
    return status_of([&] { infer(decode_infer_request(header.dump(), served, {}, tensors), served); });
  };
  const int64_t f = int64_t(features.size()), c = int64_t(colour.size());
  EXPECT_EQ(request(f, c, features + colour), 200);
  EXPECT_EQ(request(f, c, features), 400);                       // a size past the body
  EXPECT_EQ(request(f, c, features + colour + "extra"), 400);    // bytes nobody claimed
  EXPECT_EQ(request(f + 4, c - 4, features + colour), 400);      // sizes that do not fit the shapes
  EXPECT_EQ(request(-1, c, features + colour), 400);             // a negative size
  EXPECT_EQ(request(f, c, features + colour, true), 400);        // both data and binary
  EXPECT_EQ(request(int64_t(1) << 62, c, features + colour), 400);
  EXPECT_EQ(request(f, c, bytes_of<float>({1, std::nanf("")}) + colour), 400);
}

// A model trained to impute reads JSON null (and binary NaN) as a missing cell, filled with
// the training rows' mean (a: (1 + 3 + 5) / 3 = 3), exactly as a CSV file's empty cell; a
// model that does not impute says so.
TEST(BinaryTensors, MissingValuesAreImputedWhereTheModelImputes) {
  const ServedModel imputing = served_colours("full", true), strict = served_colours();
  auto request = [](const json& features) {
    return json{{"inputs", {{{"name", "features"}, {"datatype", "FP32"}, {"shape", {1, 2}}, {"data", features}},
                            {{"name", "colour"}, {"datatype", "BYTES"}, {"shape", {1}}, {"data", {"red"}}}}}}
        .dump();
  };
  const std::string filled = infer(decode_infer_request(request({3, 2.5}), imputing, {}), imputing).body;
  EXPECT_EQ(infer(decode_infer_request(request({nullptr, 2.5}), imputing, {}), imputing).body, filled);
  EXPECT_NE(infer(decode_infer_request(request({0, 2.5}), imputing, {}), imputing).body, filled);
  const json header{{"inputs", {{{"name", "features"}, {"datatype", "FP32"}, {"shape", {1, 2}},
                                 {"parameters", {{"binary_data_size", 8}}}},
                                {{"name", "colour"}, {"datatype", "BYTES"}, {"shape", {1}}, {"data", {"red"}}}}}};
  const std::string nan_row = bytes_of<float>({std::nanf(""), 2.5f});
  EXPECT_EQ(infer(decode_infer_request(header.dump(), imputing, {}, nan_row), imputing).body, filled);
  try {
    decode_infer_request(request({nullptr, 2.5}), strict, {});
    ADD_FAILURE() << "a null was accepted by a model that does not impute";
  } catch (const RequestError& e) {
    EXPECT_EQ(e.status(), 400);
    EXPECT_NE(std::string(e.what()).find("--missing mean"), std::string::npos) << e.what();
  }
  EXPECT_EQ(status_of([&] { decode_infer_request(header.dump(), strict, {}, nan_row); }), 400);
}

}  // namespace binary_tensors_test
