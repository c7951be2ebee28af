// The model file of a model of several outputs: each output's name, label, loss and weight
// recorded; files of one output as before; a corrupt or inconsistent record refused naming
// the file and the field; readers of an older version refused by the file's version.
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <nlohmann/json.hpp>

#include "cli_runner.hpp"
#include "several_outputs_data.hpp"

namespace several_outputs_file_test {

using namespace citadel::testkit;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// A safetensors file read here, independently of the library: header JSON and data bytes.
struct SafetensorsFile {
  json header;
  std::string data;
};

SafetensorsFile parse_file(const std::string& bytes) {
  uint64_t length = 0;
  std::memcpy(&length, bytes.data(), 8);  // little-endian, as the test machines are
  return {json::parse(bytes.substr(8, length)), bytes.substr(8 + length)};
}

std::string file_bytes(const SafetensorsFile& file) {
  std::string header = file.header.dump();
  while (header.size() % 8) header += ' ';
  const uint64_t length = header.size();
  std::string bytes(8, '\0');
  std::memcpy(bytes.data(), &length, 8);
  return bytes + header + file.data;
}

json schema_of(const SafetensorsFile& file) { return json::parse(file.header["__metadata__"]["schema"].get<std::string>()); }

const fs::path& two_outputs_model() {
  static const fs::path model = [] {
    const fs::path data = write_scratch_file("file_two_labels.csv", two_labels_csv());
    const fs::path config = write_scratch_file("file_two_outputs.json", two_outputs_config());
    const fs::path path = scratch_directory() / "file_two_outputs.safetensors";
    const CliResult trained = run_cli("train --verbose 0 --epochs 2 --data " + data.string() + " --model-config " +
                                      config.string() + " --label kind_out=kind --label amount_out=amount --loss "
                                      "amount_out=mse --loss-weights amount_out=0.25 --save " + path.string());
    EXPECT_EQ(trained.exit_code, 0) << trained.err;
    return path;
  }();
  return model;
}

}  // namespace

TEST(CliSeveralOutputsFile, RecordsEveryOutputAndIsVersion3) {
  const SafetensorsFile file = parse_file(read_file(two_outputs_model()));
  EXPECT_EQ(file.header["__metadata__"]["format_version"], "3");
  const json schema = schema_of(file);
  ASSERT_TRUE(schema.contains("outputs"));
  const json& outputs = schema["outputs"];
  ASSERT_EQ(outputs.size(), 2u);
  EXPECT_EQ(outputs[0]["name"], "kind_out");
  EXPECT_EQ(outputs[0]["label"], "kind");
  EXPECT_EQ(outputs[0]["label_type"], "classes");
  EXPECT_EQ(outputs[0]["classes"].size(), 2u);
  EXPECT_EQ(outputs[0]["loss"], "binary_crossentropy");
  EXPECT_EQ(outputs[0]["loss_weight"], 1.0);
  EXPECT_EQ(outputs[1]["name"], "amount_out");
  EXPECT_EQ(outputs[1]["label"], "amount");
  EXPECT_EQ(outputs[1]["label_type"], "values");
  EXPECT_EQ(outputs[1]["classes"], json::array());
  EXPECT_EQ(outputs[1]["loss"], "mse");
  EXPECT_EQ(outputs[1]["loss_weight"], 0.25);
  // The schema's own label is the first output's, as readers of one label read it.
  EXPECT_EQ(schema["label"], "kind");
  EXPECT_EQ(schema["loss"], "binary_crossentropy");
  EXPECT_EQ(schema["input_columns"], json({"x1", "x2", "x3"}));
}

// A model of one output is written as before: version 1 (a Sequential chain) and the same
// seven schema fields, nothing more, so older builds read it.
TEST(CliSeveralOutputsFile, FilesOfOneOutputAreWrittenAsBefore) {
  const fs::path model = scratch_directory() / "one_output.safetensors";
  ASSERT_EQ(run_cli("train --verbose 0 --epochs 1 --save " + model.string()).exit_code, 0);
  const SafetensorsFile file = parse_file(read_file(model));
  EXPECT_EQ(file.header["__metadata__"]["format_version"], "1");
  std::vector<std::string> keys;
  const json schema = schema_of(file);
  for (const auto& [key, value] : schema.items()) keys.push_back(key);
  EXPECT_EQ(keys, (std::vector<std::string>{"categories", "classes", "images", "input_columns", "label",
                                            "label_type", "loss"}));
}

// A reader refuses a version beyond its own, naming it and the writer: what a build that
// reads versions 1 to 2 does with the version-3 file of a model of several outputs.
TEST(CliSeveralOutputsFile, AReaderOfAnOlderVersionRefusesItByItsVersion) {
  SafetensorsFile file = parse_file(read_file(two_outputs_model()));
  file.header["__metadata__"]["format_version"] = "4";
  const fs::path later = write_scratch_file("later_version.safetensors", file_bytes(file));
  const CliResult refused = run_cli("info " + later.string());
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find(later.string() + ": model file version 4, this build reads versions 1 to 3: load it "
                             "with the citadel that wrote it"), std::string::npos) << refused.err;
}

TEST(CliSeveralOutputsFile, CorruptOrInconsistentRecordsAreRefusedNamingTheField) {
  const std::string original = read_file(two_outputs_model());
  int case_number = 0;
  auto expect_refused = [&](const std::function<void(json&)>& corrupt, const std::string& message) {
    SafetensorsFile file = parse_file(original);
    json schema = schema_of(file);
    corrupt(schema);
    file.header["__metadata__"]["schema"] = schema.dump();
    const fs::path path = write_scratch_file("corrupt_two_outputs_" + std::to_string(++case_number) + ".safetensors",
                                             file_bytes(file));
    for (const std::string& command : {"info " + path.string(), "predict --verbose 0 --model " + path.string() +
                                                                   " --input " + path.string() + " --output " +
                                                                   (scratch_directory() / "never.csv").string()}) {
      const CliResult result = run_cli(command);
      EXPECT_NE(result.exit_code, 0) << message;
      EXPECT_NE(result.err.find(path.string() + ": "), std::string::npos) << result.err;
      EXPECT_NE(result.err.find(message), std::string::npos) << command << "\n" << result.err;
    }
    EXPECT_FALSE(fs::exists(scratch_directory() / "never.csv"));
  };
  expect_refused([](json& s) { s["outputs"][1]["label_type"] = "bananas"; },
                 "the schema's outputs[1].label_type must be classes or values, got 'bananas'");
  expect_refused([](json& s) { s["outputs"][1]["name"] = "nope"; },
                 "the schema's outputs[1].name 'nope' is not an output of the model (its outputs: 'kind_out', "
                 "'amount_out')");
  expect_refused([](json& s) { s["outputs"][1].erase("loss"); }, "the schema's outputs[1] has no 'loss'");
  expect_refused([](json& s) { s["outputs"][1]["loss"] = 7; }, "the schema's outputs[1].loss has the wrong type");
  expect_refused([](json& s) { s["outputs"][1]["loss"] = "nonsense"; }, "the schema's outputs[1].loss: ");
  expect_refused([](json& s) { s["outputs"][1]["loss"] = "binary_crossentropy"; },
                 "the schema's outputs[1].loss 'binary_crossentropy' does not fit its label_type 'values'");
  expect_refused([](json& s) { s["outputs"][1]["loss_weight"] = -1; },
                 "the schema's outputs[1].loss_weight must be a number >= 0, got -1");
  expect_refused([](json& s) { s["outputs"][0]["label"] = "x9"; },
                 "the schema's outputs[0] (label 'x9', loss 'binary_crossentropy') differs from its label 'kind'");
  expect_refused([](json& s) { s["outputs"][1]["label"] = "x1"; }, "the schema's outputs[1].label 'x1' is an input "
                                                                   "column");
  expect_refused([](json& s) { s["outputs"][1]["label"] = "kind"; },
                 "the schema's outputs[1].label 'kind' is the label of 'kind_out' too");
  expect_refused([](json& s) { s["outputs"][1]["name"] = "kind_out"; },
                 "the schema's outputs[1].name 'kind_out' names an output listed before");
  expect_refused([](json& s) { s["outputs"][1]["classes"] = {"a", "b"}; },
                 "the schema's outputs[1] ('amount_out'): a regression output is one number and has no classes");
  expect_refused([](json& s) { s["outputs"][0]["classes"] = s["classes"] = {"a", "b", "c"}; },
                 "the schema's outputs[0] ('kind_out'): the schema names 3 classes but the model has 1 outputs");
  expect_refused([](json& s) { s["outputs"] = json::array({s["outputs"][0]}); },
                 "the schema's 'outputs' must list two or more outputs");
  expect_refused([](json& s) { s["outputs"] = "everything"; }, "the schema's 'outputs' must list two or more outputs");
  expect_refused([](json& s) { s["outputs"][1] = 3; }, "the schema's outputs[1] is not an object");
  // A record of one label on a model of two outputs.
  expect_refused([](json& s) { s.erase("outputs"); },
                 "the model has 2 outputs ('kind_out', 'amount_out') but its schema record names one label and no "
                 "'outputs'");
}

}  // namespace several_outputs_file_test
