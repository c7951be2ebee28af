// Hostile model files and checkpoints against the commands that load them: each is refused
// with a clear error, in under a second and within a bounded memory, before any of its
// promises is trusted.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>

#include <cstring>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli_runner.hpp"
#include "fifo_once.hpp"

namespace hostile_files_test {

using namespace citadel::testkit;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const std::string kPima = CITADEL_SOURCE_DATA;

std::string with_header(const json& header, const std::string& data) {
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  std::string file(8, '\0');
  const uint64_t length = text.size();
  std::memcpy(file.data(), &length, 8);
  return file + text + data;
}

// A model file's header and tensor data, to rewrite its metadata.
struct ModelFile {
  json header;
  std::string data;
  static ModelFile read(const fs::path& path) {
    const std::string bytes = read_file(path);
    uint64_t length = 0;
    std::memcpy(&length, bytes.data(), 8);
    return {json::parse(bytes.substr(8, length)), bytes.substr(8 + length)};
  }
  json record(const char* key) const { return json::parse(header["__metadata__"][key].get<std::string>()); }
  void set_record(const char* key, const json& value) { header["__metadata__"][key] = value.dump(); }
  fs::path write(const std::string& name) const { return write_scratch_file(name, with_header(header, data)); }
};

// An architecture of one layer with no tensors: a few hundred bytes that promise gigabytes.
fs::path tiny_file_declaring(const std::string& name, const json& input_shape, const json& layer) {
  json input_config{{"batch_shape", json::array({nullptr})}};
  for (const auto& dim : input_shape) input_config["batch_shape"].push_back(dim);
  const json architecture{
      {"class_name", "Sequential"},
      {"config", {{"layers", json::array({{{"class_name", "InputLayer"}, {"config", input_config}}, layer})}}}};
  const json header{{"__metadata__",
                     {{"format", "citadel-model"}, {"format_version", "1"}, {"architecture", architecture.dump()}}}};
  return write_scratch_file(name, with_header(header, ""));
}

const fs::path& pima_model() {
  static const fs::path model = [] {
    const fs::path path = scratch_directory() / "hostile_base.safetensors";
    const CliResult trained = run_cli("train --verbose 0 --epochs 2 --save " + path.string());
    EXPECT_EQ(trained.exit_code, 0) << trained.err;
    return path;
  }();
  return model;
}

void expect_refused_quickly(const std::string& arguments, const std::string& message) {
  const MeasuredResult run = run_cli_measured(arguments);
  EXPECT_EQ(run.result.exit_code, 1) << arguments << "\n" << run.result.out;
  EXPECT_NE(run.result.err.find(message), std::string::npos) << arguments << "\n" << run.result.err;
  // CPU time, not wall time: on a shared machine another process may hold the cores; the
  // wall-clock bound only catches a hang.
  EXPECT_LT(run.cpu_seconds, cpu_bound_seconds(1.0)) << arguments;
  EXPECT_LT(run.seconds, 10.0) << arguments;
  EXPECT_LT(run.peak_mb, CITADEL_TEST_PEAK_MB) << arguments;
}

}  // namespace

TEST(HostileFiles, SmallFilesDeclaringHugeLayersAreRefusedBeforeAllocating) {
  const fs::path dense = tiny_file_declaring("huge_dense.safetensors", {32},
                                             {{"class_name", "Dense"}, {"config", {{"units", 16777216}, {"name", "dense"}}}});
  const fs::path conv = tiny_file_declaring(
      "huge_conv.safetensors", {8, 8, 1},
      {{"class_name", "Conv2D"}, {"config", {{"filters", 16777216}, {"kernel_size", {1, 1}}, {"name", "conv2d"}}}});
  ASSERT_LT(fs::file_size(dense), 400u);
  const fs::path input = write_scratch_file("hostile_rows.csv", "1,2\n");
  for (const fs::path& file : {dense, conv}) {
    expect_refused_quickly("info " + file.string(), "that the file does not hold");
    expect_refused_quickly("predict --verbose 0 --model " + file.string() + " --input " + input.string() +
                               " --output " + (scratch_directory() / "never.csv").string(),
                           "that the file does not hold");
  }
  EXPECT_FALSE(fs::exists(scratch_directory() / "never.csv"));
}

TEST(HostileFiles, SchemasThatDisagreeWithTheWeightsAreRefusedByEveryCommand) {
  ModelFile file = ModelFile::read(pima_model());
  const json schema = file.record("schema");
  const fs::path rows = write_scratch_file(
      "schema_rows.csv", "NumTimesPrg,PlGlcConc,BloodP,SkinThick,TwoHourSerIns,BMI,DiPedFunc,Age\n6,148,72,35,0,33.6,0.627,50\n");
  struct Case {
    const char* name;
    json schema;
    const char* message;
  };
  std::vector<Case> cases;
  json fewer = schema;  // one class for a sigmoid output: predictions read past the list
  fewer["classes"] = {"0"};
  cases.push_back({"fewer_classes", fewer, "classes but the model has 1 outputs"});
  json more = schema;  // ten classes for one output: probabilities read past the output
  more["classes"] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
  cases.push_back({"more_classes", more, "classes but the model has 1 outputs"});
  json categories = schema;  // 200,000 categories for one column of an 8-input model
  std::vector<std::string> many;
  for (int i = 0; i < 200000; ++i) many.push_back(std::to_string(i));
  categories["categories"][0] = many;
  cases.push_back({"many_categories", categories, "more than the model's 8 inputs"});
  json columns = schema;
  columns["input_columns"].push_back("extra");
  cases.push_back({"extra_column", columns, "categories for"});
  for (const Case& c : cases) {
    ModelFile hostile = file;
    hostile.set_record("schema", c.schema);
    const fs::path path = hostile.write(std::string(c.name) + ".safetensors");
    for (const std::string& command :
         {"info " + path.string(), "predict --verbose 0 --model " + path.string() + " --input " + rows.string() +
                                       " --output " + (scratch_directory() / "schema_out.csv").string(),
          "evaluate --verbose 0 --model " + path.string() + " --test " + kPima,
          "attack --model " + path.string() + " --data " + kPima + " --eps 0.1"})
      expect_refused_quickly(command, c.message);
  }
  ModelFile preprocessing = file;  // scaling statistics for 3 of the 8 features
  json record = file.record("preprocessing");
  record["mean"] = {0.0, 0.0, 0.0};
  record["scale"] = {1.0, 1.0, 1.0};
  preprocessing.set_record("preprocessing", record);
  expect_refused_quickly("info " + preprocessing.write("short_scaling.safetensors").string(),
                         "covers 3 features but the model takes 8");
}

TEST(HostileFiles, ControlBytesInMetadataAreEscapedByInfo) {
  ModelFile file = ModelFile::read(pima_model());
  file.header["__metadata__"]["trained_on"] = "\x1b]0;pwned\x07\x1b[2J";
  file.header["__metadata__"]["\x1b[31mred"] = "x";
  const CliResult info = run_cli("info " + file.write("escapes.safetensors").string());
  ASSERT_EQ(info.exit_code, 0) << info.err;
  EXPECT_EQ(info.out.find('\x1b'), std::string::npos);
  EXPECT_EQ(info.out.find('\x07'), std::string::npos);
  EXPECT_NE(info.out.find("\\x1B[31mred"), std::string::npos) << info.out;
}

TEST(HostileFiles, CheckpointsAreSignedEncryptedAndRangeChecked) {
  const fs::path dir = scratch_directory();
  const fs::path pub = dir / "ck.pub", key = dir / "ck.key", enc = dir / "ck.enc", checkpoint = dir / "run.ckpt";
  fs::remove(pub), fs::remove(key), fs::remove(enc);
  ASSERT_EQ(run_cli("keygen --public " + pub.string() + " --secret " + key.string()).exit_code, 0);
  ASSERT_EQ(run_cli("keygen --encryption-key " + enc.string()).exit_code, 0);
  const std::string train = "train --verbose 0 --epochs 3 --no-save --checkpoint " + checkpoint.string();
  ASSERT_EQ(run_cli(train + " --sign-key " + key.string() + " --key-file " + enc.string()).exit_code, 0);
  EXPECT_EQ(read_file(checkpoint).substr(0, 8), "CTDLENC1");
  const std::string resume = "train --verbose 0 --epochs 4 --no-save --resume " + checkpoint.string();
  EXPECT_EQ(run_cli(resume + " --pubkey " + pub.string() + " --key-file " + enc.string()).exit_code, 0);
  const CliResult no_key = run_cli(resume + " --pubkey " + pub.string());
  EXPECT_EQ(no_key.exit_code, 1);
  EXPECT_NE(no_key.err.find("encrypted"), std::string::npos) << no_key.err;
  // A checkpoint signature does not pass for a model, nor the reverse.
  const CliResult as_model = run_cli("info " + checkpoint.string() + " --pubkey " + pub.string() + " --key-file " +
                                     enc.string());
  EXPECT_EQ(as_model.exit_code, 1);
  EXPECT_NE(as_model.err.find("vouches for a checkpoint, not a model"), std::string::npos) << as_model.err;
  // An unsigned (laundering) checkpoint is refused when a public key is given.
  const fs::path plain = dir / "plain.ckpt";
  ASSERT_EQ(run_cli("train --verbose 0 --epochs 3 --no-save --checkpoint " + plain.string()).exit_code, 0);
  const CliResult unsigned_run = run_cli("train --verbose 0 --epochs 4 --no-save --resume " + plain.string() +
                                         " --pubkey " + pub.string());
  EXPECT_EQ(unsigned_run.exit_code, 1);
  EXPECT_NE(unsigned_run.err.find("refusing an unsigned checkpoint"), std::string::npos) << unsigned_run.err;

  // Records out of range: each refused naming the field, none trains on NaN weights.
  const ModelFile base = ModelFile::read(plain);
  const json training = base.record("training");
  const std::vector<std::pair<const char*, json>> fields{
      {"iterations", -1}, {"epoch", 2000000000}, {"learning_rate", 1e30}, {"epoch", -3}, {"learning_rate", -1},
      // Found by checkpoint_fuzz: a float where a count belongs was cast unchecked (undefined).
      {"epoch", 4.88e21}, {"iterations", 1e30}, {"shuffle_rng", {1.5, -2}}};
  for (const auto& [field, value] : fields) {
    ModelFile hostile = base;
    json record = training;
    record[field] = value;
    hostile.set_record("training", record);
    const fs::path path = hostile.write("hostile.ckpt");
    expect_refused_quickly("train --verbose 0 --epochs 4 --no-save --resume " + path.string(),
                           std::string("training record '") + field + "'");
  }
}

// The bytes whose signature is checked must be the bytes decrypted and parsed: served
// through a named pipe, the file can be read exactly once, so a loader that opens it again
// (to decrypt or to look at it) would hang, and a swapped file would go unverified.
TEST(HostileFiles, ASignedEncryptedModelIsReadOnce) {
  const fs::path dir = scratch_directory(), staging = dir / "staging";
  fs::create_directories(staging);
  const fs::path pub = dir / "once.pub", key = dir / "once.key", enc = dir / "once.enc";
  fs::remove(pub), fs::remove(key), fs::remove(enc);
  ASSERT_EQ(run_cli("keygen --public " + pub.string() + " --secret " + key.string()).exit_code, 0);
  ASSERT_EQ(run_cli("keygen --encryption-key " + enc.string()).exit_code, 0);
  const fs::path sealed = staging / "pipe.enc";
  ASSERT_EQ(run_cli("encrypt " + pima_model().string() + " --key-file " + enc.string() + " --output " +
                    sealed.string()).exit_code, 0);
  ASSERT_EQ(run_cli("sign " + sealed.string() + " --key " + key.string()).exit_code, 0);
  const std::string bytes = read_file(sealed);
  const fs::path pipe = dir / "pipe.enc";
  fs::remove(pipe);
  ASSERT_EQ(::mkfifo(pipe.c_str(), 0600), 0);
  fs::copy_file(sealed.string() + ".sig", pipe.string() + ".sig", fs::copy_options::overwrite_existing);
  std::thread writer = testkit::serve_bytes_once(pipe.string(), bytes);
  const CliResult info = run_cli("info " + pipe.string() + " --pubkey " + pub.string() + " --key-file " +
                                 enc.string() + " & pid=$!; (sleep 15; kill $pid) >/dev/null 2>&1 & wait $pid");
  writer.join();
  EXPECT_EQ(info.exit_code, 0) << info.err;
  EXPECT_NE(info.out.find("Signature: valid"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("Encryption: XChaCha20-Poly1305"), std::string::npos) << info.out;
  fs::remove(pipe);
}

}  // namespace hostile_files_test
