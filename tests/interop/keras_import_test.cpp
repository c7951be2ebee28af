// Keras files in: files written by tests/interop/keras_files.py (h5py and zipfile, in
// Keras 3's and Keras 2's layouts, never by citadel) must predict what a numpy forward
// pass over their own arrays computes, and every hostile one (bombs, files that crash or
// hang libhdf5, models not imported yet) must be refused with the error it names, by the
// library and by `citadel import`, in bounded memory, and the calling process lives on.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "../cli/cli_runner.hpp"
#include "citadel/core/error.hpp"
#include "citadel/interop/keras_import.hpp"
#include "scratch_folder.hpp"

namespace citadel {
namespace keras_import_test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The generator runs once per test process, into a directory of its own.
const fs::path& keras_files() {
  static const fs::path directory = [] {
    const fs::path dir = citadel::testing::scratch_folder() / "keras_files";
    const std::string command = std::string(CITADEL_PYTHON3) + " " + CITADEL_TEST_SOURCE_DIR +
                                "/interop/keras_files.py " + dir.string();
    if (std::system(command.c_str()) != 0) throw std::runtime_error("keras_files.py failed: " + command);
    return dir;
  }();
  return directory;
}

json manifest() {
  std::ifstream file(keras_files() / "manifest.json");
  return json::parse(file);
}

KerasImportOptions options_for(const json& entry) {
  KerasImportOptions options;
  if (entry.contains("config")) options.config_path = (keras_files() / entry["config"].get<std::string>()).string();
  if (entry.contains("classes")) options.class_names = entry["classes"].get<std::vector<std::string>>();
  return options;
}

Tensor as_tensor(const json& rows, const Shape& row_shape) {
  std::vector<int64_t> dims{static_cast<int64_t>(rows.size())};
  for (int64_t d : row_shape.dims()) dims.push_back(d);
  Tensor x{Shape(dims)};
  int64_t at = 0;
  std::function<void(const json&)> fill = [&](const json& value) {
    if (value.is_array()) {
      for (const json& item : value) fill(item);
    } else {
      x[at++] = value.get<float>();
    }
  };
  fill(rows);
  EXPECT_EQ(at, x.numel());
  return x;
}

TEST(KerasImport, FilesWrittenByH5pyPredictWhatNumpyComputesFromTheirArrays) {
  const json good = manifest()["good"];
  ASSERT_GE(good.size(), 12u);  // functional.keras; chunked.keras and chunked.weights.h5: citadel's own filter code
  for (const json& entry : good) {
    const std::string file = entry["file"];
    SCOPED_TRACE(file);
    SavedModel saved = import_keras_model((keras_files() / file).string(), options_for(entry));
    const Tensor x = as_tensor(entry["x"], saved.model.input_shape());
    const Tensor y = saved.model.predict(x);
    const json& expected = entry["y"];
    ASSERT_EQ(y.shape()[0], static_cast<int64_t>(expected.size()));
    const int64_t width = y.numel() / y.shape()[0];
    double worst = 0;
    for (int64_t n = 0; n < y.shape()[0]; ++n)
      for (int64_t k = 0; k < width; ++k)
        worst = std::max(worst, std::abs(double(y[n * width + k]) - expected[n][k].get<double>()));
    EXPECT_LE(worst, 1e-5) << file;
    // What Keras does not record is made up, and said: numeric columns or images, classes.
    EXPECT_TRUE(saved.metadata.count("imported_from"));
    if (!entry["classes"].empty()) {
      EXPECT_EQ(saved.schema.classes, entry["classes"].get<std::vector<std::string>>());
    }
  }
}

TEST(KerasImport, TheImportedModelIsASavedModelThatLoadsAgain) {
  SavedModel saved = import_keras_model((keras_files() / "dense.keras").string(), options_for(manifest()["good"][0]));
  const fs::path path = keras_files() / "imported.safetensors";
  save_saved_model(saved.model, saved.metadata, path.string());
  SavedModel loaded = load_saved_model(path.string());
  EXPECT_EQ(loaded.schema.input_columns, (std::vector<std::string>{"x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7"}));
  EXPECT_EQ(loaded.schema.classes, (std::vector<std::string>{"no", "yes"}));
  EXPECT_EQ(loaded.loss, "binary_crossentropy");
  EXPECT_EQ(loaded.model.get_weights().size(), saved.model.get_weights().size());
}

TEST(KerasImport, HostileFilesAreRefusedWithTheirError) {
  const json hostile = manifest()["hostile"];
  ASSERT_GE(hostile.size(), 44u);  // functional.keras is a good file since graphs import
  for (const json& entry : hostile) {
    const std::string file = entry["file"], expected = entry["error"];
    SCOPED_TRACE(file);
    try {
      import_keras_model((keras_files() / file).string(), options_for(entry));
      ADD_FAILURE() << file << " was imported";
    } catch (const Error& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find(expected), std::string::npos) << message;
      EXPECT_NE(message.find(file), std::string::npos) << "the error names the file: " << message;
    }
  }
}

TEST(KerasImport, TheCliRefusesEachHostileFileInBoundedMemoryAndWritesNothing) {
  const json files = manifest();  // kept: a range over a temporary's member would dangle
  json hostile = files["hostile"];
  ASSERT_GE(hostile.size(), 44u);  // functional.keras is a good file since graphs import
  // The spinning file too, at the default CPU limit (10 s).
  ASSERT_EQ(files["spinning"].size(), 1u);
  for (const json& entry : files["spinning"]) hostile.push_back(entry);
  for (const json& entry : hostile) {
    const std::string file = entry["file"];
    SCOPED_TRACE(file);
    const fs::path output = keras_files() / (file + ".safetensors");
    std::string arguments = "import " + (keras_files() / file).string() + " --output " + output.string();
    if (entry.contains("config")) arguments += " --config " + (keras_files() / entry["config"].get<std::string>()).string();
    const testkit::MeasuredResult run = testkit::run_cli_measured(arguments);
    EXPECT_NE(run.result.exit_code, 0);
    EXPECT_NE(run.result.err.find(entry["error"].get<std::string>()), std::string::npos) << run.result.err;
    EXPECT_FALSE(fs::exists(output));
    // 10 GB declared, a 40 GB dataset declared, a 64 MiB deflate bomb, a 1 GiB chunk, a
    // 512 MiB weights entry: none is allocated. The peak is the CLI's or its sandboxed
    // reader's, whichever is larger (wait4 counts the children a process reaped).
    EXPECT_LT(run.peak_mb, CITADEL_TEST_PEAK_MB) << file;
  }
}

TEST(KerasImport, AFileThatKeepsLibhdf5BusyIsStoppedAtItsCpuLimit) {
  // The old importer spun at 100 % CPU for minutes; here the reader gets one second.
  const json files = manifest();
  ASSERT_EQ(files["spinning"].size(), 1u);
  for (const json& entry : files["spinning"]) {
    KerasImportOptions options = options_for(entry);
    options.limits.hdf5_cpu_seconds = 1;
    const std::string file = entry["file"];
    try {
      import_keras_model((keras_files() / file).string(), options);
      ADD_FAILURE() << file << " was imported";
    } catch (const IoError& e) {
      EXPECT_NE(std::string(e.what()).find("used more than 1 s of CPU time and was stopped"), std::string::npos)
          << e.what();
    }
  }
}

TEST(KerasImport, TheReadersWallClockDeadlineStopsItToo) {
  // A reader that never finishes within the deadline (here: the CPU limit above it) is
  // killed and the file refused, naming the deadline.
  KerasImportOptions options;
  options.limits.hdf5_cpu_seconds = 60;
  options.limits.hdf5_wall_seconds = 1;
  try {
    import_keras_model((keras_files() / "legacy_heap_spin.h5").string(), options);
    ADD_FAILURE() << "imported";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("legacy_heap_spin.h5: the HDF5 reader took more than 1 s and was stopped"),
              std::string::npos)
        << e.what();
  }
}

TEST(KerasImport, TheWeightsOfAFileThatCrashesTheReaderAreLeftAlone) {
  // load_keras_weights on a file that crashes libhdf5: the model keeps its weights.
  SavedModel saved = import_keras_model((keras_files() / "dense.weights.h5").string(), [] {
    KerasImportOptions options;
    options.config_path = (keras_files() / "dense.json").string();
    return options;
  }());
  const std::vector<float> before(saved.model.parameters().values().begin(), saved.model.parameters().values().end());
  EXPECT_THROW(load_keras_weights(saved.model, (keras_files() / "weights_heap_memcpy.weights.h5").string()), IoError);
  const auto after = saved.model.parameters().values();
  EXPECT_TRUE(std::equal(before.begin(), before.end(), after.begin()));
}

TEST(KerasImport, WeightsOnlyFilesNeedTheirConfigAndArchivesRefuseOne) {
  EXPECT_THROW(import_keras_model((keras_files() / "dense.weights.h5").string()), ValueError);
  KerasImportOptions options;
  options.config_path = (keras_files() / "dense.json").string();
  EXPECT_THROW(import_keras_model((keras_files() / "dense.keras").string(), options), ValueError);
  options.class_names = {"only-one"};
  options.config_path.clear();
  EXPECT_THROW(import_keras_model((keras_files() / "softmax.keras").string(), options), ValueError);
}

TEST(KerasImport, FilesAreSizedBeforeTheyAreRead) {
  KerasImportOptions options;
  options.limits.max_file_bytes = 1000;  // dense.keras is larger
  EXPECT_THROW(import_keras_model((keras_files() / "dense.keras").string(), options), IoError);
  EXPECT_THROW(import_keras_model("/dev/zero"), IoError);  // not a regular file: never read
  EXPECT_THROW(import_keras_model((keras_files() / "no-such.keras").string()), IoError);
}

TEST(KerasImport, NeitherZipNorHdf5IsRefused) {
  EXPECT_THROW(import_keras_bytes("just some text", "text.keras"), IoError);
  EXPECT_THROW(import_keras_bytes("", "empty.keras"), IoError);
  EXPECT_THROW(keras_archive_architecture("PK\x03\x04 truncated", "short.keras"), IoError);
  // Found by keras_archive_fuzz: a class_name that is not a string was the JSON library's
  // exception, not an error naming the file.
  EXPECT_THROW(keras_architecture(R"({"module": "keras", "class_name": [null, 7], "name": "x"})", "x.json"), IoError);
}

}  // namespace
}  // namespace keras_import_test
}  // namespace citadel
