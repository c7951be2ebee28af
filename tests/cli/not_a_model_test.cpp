// Files users mistake for a model file (CSV data, a report, a Keras archive, ONNX, ...) given
// to `citadel info` and `citadel predict --model`: the error says the file is not a citadel
// model file, what it looks like, and what the user probably meant.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "cli_runner.hpp"

namespace not_a_model_test {

using namespace citadel::testkit;

namespace {

struct Mistaken {
  const char* name;
  std::string bytes;  // the first bytes of such a file, as the format writes them
  const char* hint;   // what the error must point at
};

std::vector<Mistaken> mistaken_files() {
  return {
      {"pima.csv", read_file(CITADEL_SOURCE_DATA), "looks like CSV data"},
      {"semicolons.csv", "a;b;label\n1;2;0\n", "looks like CSV data"},
      {"run.html", "<!DOCTYPE html>\n<html lang=\"en\">\n<head><title>citadel train</title></head></html>\n",
       "looks like an HTML page"},
      {"report.json", "{\n  \"accuracy\": 0.75,\n  \"loss\": 0.5\n}\n", "looks like JSON"},
      {"model.keras", std::string("PK\x03\x04\x14\x00\x00\x00\x08\x00", 10) + "config.json", "citadel import"},
      {"model.h5", std::string("\x89HDF\r\n\x1a\n\x00\x00\x00\x00\x00\x08\x08\x00", 16), "citadel import"},
      {"model.onnx", std::string("\x08\x07\x12\x07" "citadel\x1a\x05" "0.1.0", 18), "ONNX"},
      {"data.csv.gz", std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", 10), "gzip"},
      {"citadel.pub", "citadel-ed25519-public\nAAAA\n", "key or signature"},
  };
}

void expect_recognized(const CliResult& result, const std::string& path, const Mistaken& file,
                       const std::string& command) {
  EXPECT_EQ(result.exit_code, 1) << command << ": " << result.err;
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;  // one line
  EXPECT_NE(result.err.find(path + " is not a citadel model file (it does not start like a safetensors file)"),
            std::string::npos)
      << command << " gave: " << result.err;
  EXPECT_NE(result.err.find(file.hint), std::string::npos) << command << " gave: " << result.err;
  EXPECT_EQ(result.err.find("header length"), std::string::npos) << result.err;  // the old, baffling message
}

}  // namespace

TEST(NotAModel, InfoSaysWhatTheFileIs) {
  for (const Mistaken& file : mistaken_files()) {
    const std::string path = write_scratch_file(file.name, file.bytes).string();
    expect_recognized(run_cli("info " + path), path, file, std::string("info ") + file.name);
  }
}

TEST(NotAModel, PredictSaysWhatTheModelFileIs) {
  const std::string output = (scratch_directory() / "predictions.csv").string();
  for (const Mistaken& file : mistaken_files()) {
    const std::string path = write_scratch_file(file.name, file.bytes).string();
    expect_recognized(run_cli("predict --verbose 0 --model " + path + " --input " + CITADEL_SOURCE_DATA +
                              " --output " + output),
                      path, file, std::string("predict --model ") + file.name);
  }
}

TEST(NotAModel, ACsvFileAsTheModelPointsAtTheDataOptions) {
  const std::string path = write_scratch_file("new.csv", read_file(CITADEL_SOURCE_DATA)).string();
  const CliResult result = run_cli("info " + path);
  EXPECT_NE(result.err.find("did you mean to give it as data"), std::string::npos) << result.err;
}

TEST(NotAModel, AShortOrUnknownFileIsStillNamed) {
  const std::string tiny = write_scratch_file("tiny.bin", "abc").string();
  const CliResult short_file = run_cli("info " + tiny);
  EXPECT_EQ(short_file.exit_code, 1);
  EXPECT_NE(short_file.err.find(tiny + " is not a citadel model file"), std::string::npos) << short_file.err;
  EXPECT_NE(short_file.err.find("too short"), std::string::npos) << short_file.err;
  const std::string noise = write_scratch_file("noise.bin", std::string("\x01\x02\x03\xff\xfe\x00\x10\x20\x30\x40", 10)).string();
  const CliResult unknown = run_cli("info " + noise);
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find(noise + " is not a citadel model file (it does not start like a safetensors file)"),
            std::string::npos)
      << unknown.err;
}

}  // namespace not_a_model_test
