// The scanner that reads infer requests' number lists, and the proof that it changes no
// answer: the same requests decoded with and without it give the same rows or the same
// error, over hand-picked edge cases and thousands of generated and mutated requests.
#include "../../src/serving/json_number_lists.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <random>

#include "citadel/layers/dense.hpp"
#include "citadel/layers/flatten.hpp"
#include "citadel/serving/inference_protocol.hpp"
#include "colour_model.hpp"

namespace json_number_lists_test {

using namespace citadel;
using namespace citadel::serving;

namespace {

// A model on 2x2x1 images, so that the image path is compared too.
ServedModel image_model() {
  SavedModel saved;
  saved.images = true;
  Sequential model;
  model.add(Flatten());
  model.add(Dense(2, {.activation = "softmax"}));
  model.build(Shape{2, 2, 1});
  saved.model = std::move(model);
  return {"pictures", "pictures", std::move(saved), OutputPolicy::parse("full", "test")};
}

// What decoding gave: the rows (cells or image bits) or the error's status and message.
std::string outcome(const std::string& body, const ServedModel& served, bool fast) {
  RequestLimits limits;
  limits.fast_number_lists = fast;
  limits.max_elements = 64;
  try {
    const InferRequest request = decode_infer_request(body, served, limits);
    std::string out = "rows " + std::to_string(request.rows) + ":";
    for (int64_t r = 0; r < request.table.rows; ++r)
      for (size_t c = 0; c < request.table.columns.size(); ++c) out += " " + std::string(request.table.cell(r, int64_t(c)));
    for (int64_t i = 0; request.images.defined() && i < request.images.numel(); ++i) {
      uint32_t bits = 0;
      const float value = request.images[i];
      std::memcpy(&bits, &value, sizeof bits);  // -0 and 0 differ here
      out += " " + std::to_string(bits);
    }
    return out;
  } catch (const RequestError& e) {
    return "error " + std::to_string(e.status()) + ": " + e.what();
  }
}

}  // namespace

TEST(JsonNumberLists, ClaimsEachInputsDataListAndLeavesTheRest) {
  const ClaimedNumberLists claimed = claim_number_lists(
      R"({"id": "data", "inputs": [{"name": "a", "shape": [2, 2], "data": [[1, 2.5], [-0, 3e2]]},)"
      R"( {"name": "b", "data" : [ ]}], "parameters": {"data": [7]}})");
  ASSERT_EQ(claimed.lists.size(), 2u);
  EXPECT_EQ(claimed.lists[0], (std::vector<double>{1, 2.5, 0, 300}));
  EXPECT_FALSE(std::signbit(claimed.lists[0][2]));  // the integer -0 is 0, as the JSON parser reads it
  EXPECT_TRUE(claimed.lists[1].empty());
  const nlohmann::json rest = nlohmann::json::parse(claimed.text);
  EXPECT_EQ(rest["id"], "data");
  EXPECT_EQ(rest["inputs"][0]["shape"], nlohmann::json::parse("[2, 2]"));
  EXPECT_EQ(rest["parameters"]["data"], nlohmann::json::parse("[7]"));  // not an input's: left alone
  ASSERT_NE(claimed_list(claimed, rest["inputs"][0]["data"].get<std::string>()), nullptr);
  EXPECT_EQ(*claimed_list(claimed, rest["inputs"][1]["data"].get<std::string>()), claimed.lists[1]);
  EXPECT_EQ(claimed_list(claimed, "data"), nullptr);
  EXPECT_EQ(claimed_list(claimed, std::string("\0" "9", 2)), nullptr);  // past the lists
}

TEST(JsonNumberLists, AnythingButPlainNumbersIsLeftToTheJsonParser) {
  for (const char* data : {"[1, null]", "[1, \"2\"]", "[1,]", "[,1]", "[1 2]", "[[1][2]]", "[01]", "[.5]", "[1.]",
                           "[-]", "[1e]", "[+1]", "[1e400]", "[1e-400]", "[NaN]", "[Infinity]", "[0x10]", "[1, 2",
                           "[true]", "[{}]", "[[1], [2,]]"}) {
    const std::string body = std::string(R"({"inputs": [{"name": "a", "data": )") + data + "}]}";
    EXPECT_TRUE(claim_number_lists(body).lists.empty()) << data;
  }
  // Not an input's data: at the top, inside parameters, a "data" string value, an escaped key.
  for (const char* body : {R"({"data": [1]})", R"({"inputs": [{"parameters": {"data": [1]}}]})",
                           R"({"inputs": [{"name": "data", "x": [1]}]})", R"({"inputs": [{"d\u0061ta": [1]}]})",
                           R"({"outputs": [{"data": [1]}]})", R"([{"inputs": [{"data": [1]}]}])"})
    EXPECT_TRUE(claim_number_lists(body).lists.empty()) << body;
}

TEST(JsonNumberLists, AMarkerCannotBeForged) {
  // A client that writes the marker itself: the scanner stands down, and its "data" is the
  // string it is, refused as before.
  const std::string forged = R"({"inputs": [{"name": "features", "datatype": "FP32", "shape": [1, 2],)"
                             R"( "data": "\u00000"}, {"name": "x", "data": [1, 2]}]})";
  EXPECT_TRUE(claim_number_lists(forged).lists.empty());
  const ServedModel served = colour_model("colours", "full");
  EXPECT_EQ(outcome(forged, served, true), outcome(forged, served, false));
  EXPECT_NE(outcome(forged, served, true).find("error 400"), std::string::npos);
}

TEST(JsonNumberLists, DecodingWithTheScannerGivesTheSameAnswerAsWithout) {
  const ServedModel colours = colour_model("colours", "full"), imputing = colour_model("colours", "full", true);
  const ServedModel pictures = image_model();
  std::mt19937 rng(7);
  const std::vector<std::string> numbers = {"0", "-0", "1", "-2", "0.5", "-0.0", "1e3", "2.5E-3", "3.4e38", "3.5e38",
                                            "1e-45", "123456789012345678901", "9007199254740993", "0.001", "-123.456", "1.5e-7",
                                            "0.1e23", "12345678901234567890.5", "2.2250738585072014e-308",
                                            "4.9e-324", "1.7976931348623157e308", "null", "\"red\"",
                                            "1e400", "01", "true", "[]", "[1]"};
  auto number = [&] { return numbers[rng() % (rng() % 10 ? 21 : numbers.size())]; };  // mostly valid
  auto list = [&](int n, bool nested) {
    std::string s = "[";
    for (int i = 0; i < n; ++i) {
      if (i) s += rng() % 20 ? ", " : " ";
      s += nested && rng() % 2 ? "[" + number() + "]" : number();
    }
    return s + (rng() % 25 ? "]" : ",]");
  };
  int compared = 0, decoded = 0, scanned = 0;
  for (int round = 0; round < 3000; ++round) {
    const int rows = 1 + static_cast<int>(rng() % 3);
    std::string body;
    const ServedModel* served = nullptr;
    if (round % 2) {
      served = &pictures;
      body = R"({"inputs": [{"name": "image", "datatype": "FP32", "shape": [)" + std::to_string(rows) +
             R"(, 2, 2, 1], "data": )" + list(rows * 4 + (rng() % 8 == 0), rng() % 3 == 0) + "}]}";
    } else {
      served = rng() % 2 ? &colours : &imputing;
      body = R"({"id": "r", "inputs": [{"name": "features", "datatype": "FP32", "shape": [)" + std::to_string(rows) +
             R"(, 2], "data": )" + list(rows * 2 + (rng() % 8 == 0), rng() % 3 == 0) +
             R"(}, {"name": "colour", "datatype": "BYTES", "shape": [)" + std::to_string(rows) + R"(], "data": )" +
             (rng() % 6 ? std::string(rows == 1 ? R"(["red"])" : rows == 2 ? R"(["red", "blue"])" : R"(["red", "blue", "red"])")
                        : list(rows, false)) + "}]}";
    }
    if (rng() % 4 == 0) {  // and a share mutated: a byte changed, dropped or doubled
      const size_t at = rng() % body.size();
      const int how = static_cast<int>(rng() % 3);
      if (how == 0) body[at] = "[]{},:\"0-e. "[rng() % 13];
      else if (how == 1) body.erase(at, 1);
      else body.insert(at, 1, body[at]);
    }
    const std::string with = outcome(body, *served, true), without = outcome(body, *served, false);
    ASSERT_EQ(with, without) << body;
    ++compared;
    decoded += with.rfind("rows", 0) == 0;
    scanned += !claim_number_lists(body).lists.empty();
  }
  EXPECT_EQ(compared, 3000);
  EXPECT_GT(decoded, 600);   // enough of them decode for the rows to be compared, not only errors
  EXPECT_GT(scanned, 1500);  // and the scanner took most
}

// The scanner's own number reading (a fast path for short mantissas and small exponents,
// std::from_chars for the rest) against glibc's strtod, bit for bit, over numbers of every
// form JSON allows: many digits or few, fractions, exponents near and past double's range.
TEST(JsonNumberLists, NumbersReadAsStrtodReadsThem) {
  std::mt19937 rng(11);
  auto digits = [&](int n, bool leading_zero_allowed) {
    std::string s;
    for (int i = 0; i < n; ++i) s += char('0' + (i == 0 && !leading_zero_allowed ? 1 + rng() % 9 : rng() % 10));
    return s;
  };
  int claimed_count = 0, fast_shaped = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string text = rng() % 2 ? "-" : "";
    const int whole = static_cast<int>(rng() % 22);  // 0: "0", else that many digits
    text += whole == 0 ? "0" : digits(whole, false);
    const int fraction = rng() % 2 ? static_cast<int>(rng() % 22) : 0;
    if (fraction > 0) text += "." + digits(fraction, true);
    int exponent = 0;
    if (rng() % 3 == 0) {
      exponent = static_cast<int>(rng() % 2 ? rng() % 30 : rng() % 700) * (rng() % 2 ? -1 : 1);
      text += std::string(rng() % 2 ? "e" : "E") + (exponent < 0 ? "-" : rng() % 2 ? "+" : "") + std::to_string(std::abs(exponent));
    }
    fast_shaped += whole + fraction <= 15 && std::abs(exponent - fraction) <= 22;
    const ClaimedNumberLists claimed = claim_number_lists(R"({"inputs": [{"data": [)" + text + "]}]}");
    errno = 0;
    const double expected = std::strtod(text.c_str(), nullptr);
    const bool in_range = errno != ERANGE;
    if (claimed.lists.empty()) {  // left to the general parser: only numbers double cannot hold
      EXPECT_FALSE(in_range) << text;
      continue;
    }
    ASSERT_EQ(claimed.lists[0].size(), 1u) << text;
    const double got = claimed.lists[0][0];
    const bool integer_zero = whole == 0 && fraction == 0 && exponent == 0 && !text.empty();
    uint64_t got_bits = 0, expected_bits = 0;
    const double want = integer_zero && expected == 0 ? 0.0 : expected;  // "-0" is the integer 0
    std::memcpy(&got_bits, &got, sizeof got);
    std::memcpy(&expected_bits, &want, sizeof want);
    ASSERT_EQ(got_bits, expected_bits) << text;
    ++claimed_count;
  }
  EXPECT_GT(claimed_count, 15000);
  EXPECT_GT(fast_shaped, 3000);  // the fast path's shapes are well represented
}

// The depth limit holds inside the lists the scanner claims as it does for the general
// parser: the same answer either way, refused one level past the limit.
TEST(JsonNumberLists, TheDepthLimitHoldsInsideClaimedLists) {
  const ServedModel pictures = image_model();
  for (int levels : {1, 12, 13, 14, 40}) {
    std::string data = std::string(size_t(levels), '[') + "1" + std::string(size_t(levels), ']');
    const std::string body = R"({"inputs": [{"name": "image", "datatype": "FP32", "shape": [1, 2, 2, 1], "data": )" +
                             data + "}]}";
    EXPECT_FALSE(claim_number_lists(body).lists.empty());
    const std::string fast = outcome(body, pictures, true), general = outcome(body, pictures, false);
    EXPECT_EQ(fast, general) << levels;
    // root, "inputs", the input object, then the list's own levels: 16 allowed
    EXPECT_EQ(fast.find("nested deeper") != std::string::npos, 3 + levels > 16) << levels << ": " << fast;
  }
}

}  // namespace json_number_lists_test
