// The steps of one infer request, timed in process (no network): decoding the body (with
// and without the number-list scanner), encoding the rows, predicting, answering. It says
// where a request's time goes when bench/serve's rates are bound by the server.
//
//     build/bench/serve_steps MODEL.safetensors BODY.json [REPEATS]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>

#include "citadel/core/error.hpp"
#include "citadel/io/saved_model.hpp"
#include "citadel/serving/inference_protocol.hpp"

using namespace citadel;
using namespace citadel::serving;

namespace {

// The median of five runs of `repeats` calls, in µs per call.
double micros_per_call(int repeats, const std::function<void()>& step) {
  std::vector<double> runs;
  for (int run = 0; run < 5; ++run) {
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < repeats; ++i) step();
    runs.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count() /
                   repeats);
  }
  std::sort(runs.begin(), runs.end());
  return runs[2];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: serve_steps MODEL.safetensors BODY.json [REPEATS]\n");
    return 2;
  }
  try {
    const int repeats = argc > 3 ? std::stoi(argv[3]) : 2000;
    std::ifstream in(argv[2], std::ios::binary);
    if (!in) throw IoError(std::string(argv[2]) + ": cannot read the request body");
    std::stringstream text;
    text << in.rdbuf();
    const std::string body = text.str();
    const ServedModel served{"m", argv[1], load_saved_model(argv[1]), OutputPolicy::parse("full", "serve_steps")};
    RequestLimits general;
    general.fast_number_lists = false;
    const InferRequest request = decode_infer_request(body, served, {});
    const Dataset rows = encode_request(request, served);
    const RowPredictions predictions = predict_request(rows, served);
    const double fast = micros_per_call(repeats, [&] { decode_infer_request(body, served, {}); });
    const double slow = micros_per_call(repeats, [&] { decode_infer_request(body, served, general); });
    const double encode = micros_per_call(repeats, [&] { encode_request(request, served); });
    const double predict = micros_per_call(repeats, [&] { predict_request(rows, served); });
    const double answer = micros_per_call(repeats, [&] { encode_infer_response(request, predictions, served); });
    std::printf("{\"body_bytes\": %zu, \"decode_us\": %.2f, \"decode_general_parser_us\": %.2f, "
                "\"encode_us\": %.2f, \"predict_us\": %.2f, \"answer_us\": %.2f}\n",
                body.size(), fast, slow, encode, predict, answer);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "serve_steps: %s\n", e.what());
    return 1;
  }
}
