// The suspect's side of `citadel watermark verify`: the recorded rows as KServe
// v2 requests, answered by a saved model in process or by an HTTP endpoint
// (Boost.Beast's synchronous client).
#include "citadel/serving/watermark_suspect.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <nlohmann/json.hpp>

#include "citadel/core/error.hpp"
#include "citadel/serving/inference_protocol.hpp"

namespace citadel::serving {
namespace {

using nlohmann::json;

// One request for the records (all of one input name and shape), asking for the
// label only.
std::string request_body(const std::vector<WatermarkRecord>& records) {
  const WatermarkRecord& first = records.front();
  json shape = json::array({static_cast<int64_t>(records.size())});
  for (int64_t d : first.shape) shape.push_back(d);
  json data = json::array();
  for (const WatermarkRecord& r : records) {
    CITADEL_CHECK(r.input == first.input && r.shape == first.shape, ValueError, "the watermark log mixes inputs ('",
                  first.input, "' and '", r.input, "', or two shapes); test one model's records at a time");
    for (float v : r.row) data.push_back(v);
  }
  const json body{
      {"inputs", json::array({{{"name", first.input}, {"datatype", "FP32"}, {"shape", shape}, {"data", data}}})},
      {"outputs", json::array({{{"name", "label"}}})}};
  return body.dump();
}

std::vector<std::string> labels_of(const std::string& body, size_t rows, const std::string& source) {
  json root;
  try {
    root = json::parse(body);
  } catch (const json::exception& e) {
    throw IoError(source + ": the answer is not JSON: " + e.what());
  }
  if (root.is_object() && root.contains("outputs") && root["outputs"].is_array())
    for (const json& output : root["outputs"])
      if (output.is_object() && output.value("name", "") == "label" && output.contains("data") &&
          output["data"].is_array() && output["data"].size() == rows) {
        std::vector<std::string> labels;
        for (const json& label : output["data"]) {
          CITADEL_CHECK(label.is_string(), IoError, source, ": a label in the answer is not a string");
          labels.push_back(label.get<std::string>());
        }
        return labels;
      }
  throw IoError(source + ": the answer has no 'label' output of " + std::to_string(rows) + " rows");
}

struct Url {
  std::string host, port, target;
};

Url parse_url(const std::string& url) {
  CITADEL_CHECK(url.rfind("http://", 0) == 0, ValueError, "--suspect ", url,
                ": a URL must start with http:// (HTTPS suspects are not "
                "supported yet; a model file is)");
  const std::string rest = url.substr(7);
  const size_t slash = rest.find('/');
  CITADEL_CHECK(slash != std::string::npos && slash > 0, ValueError, "--suspect ", url,
                ": expected http://HOST[:PORT]/v2/models/NAME");
  Url parsed;
  const std::string authority = rest.substr(0, slash);
  const size_t colon = authority.rfind(':');
  parsed.host = colon == std::string::npos ? authority : authority.substr(0, colon);
  parsed.port = colon == std::string::npos ? "80" : authority.substr(colon + 1);
  parsed.target = rest.substr(slash);
  CITADEL_CHECK(parsed.target.rfind("/v2/models/", 0) == 0 && parsed.target.size() > 11, ValueError, "--suspect ", url,
                ": expected http://HOST[:PORT]/v2/models/NAME (a KServe v2 model)");
  if (parsed.target.size() < 6 || parsed.target.substr(parsed.target.size() - 6) != "/infer") parsed.target += "/infer";
  return parsed;
}

}  // namespace

SuspectAnswers suspect_model_answers(std::shared_ptr<const ServedModel> suspect) {
  return [suspect](const std::vector<WatermarkRecord>& records) {
    RequestLimits limits;
    limits.max_rows = int64_t(records.size());
    try {
      const InferRequest request = decode_infer_request(request_body(records), *suspect, limits);
      return labels_of(infer(request, *suspect).body, records.size(), suspect->path);
    } catch (const RequestError& e) {  // the suspect cannot read the recorded rows
      throw ValueError("--suspect " + suspect->path + ": cannot answer the recorded rows: " + e.what());
    }
  };
}

SuspectAnswers suspect_url_answers(const std::string& url, const std::string& token) {
  const Url parsed = parse_url(url);
  return [parsed, url, token](const std::vector<WatermarkRecord>& records) {
    namespace beast = boost::beast;
    namespace http = beast::http;
    try {
      boost::asio::io_context io;
      boost::asio::ip::tcp::resolver resolver(io);
      beast::tcp_stream stream(io);
      stream.expires_after(std::chrono::seconds(60));
      stream.connect(resolver.resolve(parsed.host, parsed.port));
      http::request<http::string_body> request{http::verb::post, parsed.target, 11};
      request.set(http::field::host, parsed.host);
      request.set(http::field::content_type, "application/json");
      if (!token.empty()) request.set(http::field::authorization, "Bearer " + token);
      request.body() = request_body(records);
      request.prepare_payload();
      http::write(stream, request);
      beast::flat_buffer buffer;
      http::response_parser<http::string_body> parser;
      parser.body_limit(std::uint64_t{256} << 20);
      http::read(stream, buffer, parser);
      const http::response<http::string_body>& response = parser.get();
      beast::error_code ignored;
      stream.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
      CITADEL_CHECK(response.result_int() == 200, IoError, url, ": answered ", response.result_int(), ": ",
                    response.body().substr(0, 300));
      return labels_of(response.body(), records.size(), url);
    } catch (const boost::system::system_error& e) {
      throw IoError(url + ": " + e.what());
    }
  };
}

}  // namespace citadel::serving
