// A saved speech model: its audio_preprocessing record round trips, the loader checks the
// front end's feature shape against the model's input, and hostile records are refused.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"
#include "citadel/data/audio_preprocessing.hpp"
#include "citadel/io/saved_model.hpp"
#include "citadel/layers/conv1d.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/layers/global_pooling1d.hpp"

namespace saved_audio_model_test {

using namespace citadel;

namespace {

struct AudioModel {
  Sequential model;
  Metadata records;
  AudioPreprocessing front;
};

AudioModel audio_model() {
  AudioModel made;
  made.front = AudioPreprocessing({.features = "log_mel", .sample_rate = 8000, .clip_samples = 2000, .mel_bins = 8});
  Tensor waves(Shape{2, 2000});
  for (int64_t i = 0; i < waves.numel(); ++i) waves[i] = float(std::sin(0.05 * double(i)));
  made.front.adapt(waves);
  DataSchema schema;
  schema.label = "class";
  schema.classes = {"no", "yes"};
  random::set_seed(3);
  const Shape input = made.front.feature_shape();  // (23, 8)
  made.model.add(Conv1D(4, 3, {.input_shape = input.dims(), .activation = "relu"}));
  made.model.add(GlobalMaxPooling1D());
  made.model.add(Dense(2, {.activation = "softmax"}));
  made.model.build(input);
  made.records =
      saved_model_records(schema, false, "sparse_categorical_crossentropy", Preprocessor({.scaling = "none"}), "words/",
                          {{kAudioPreprocessingRecord, made.front.to_json()}});
  return made;
}

SavedModel reload(AudioModel& made) {
  return saved_model_from_bytes(model_file_bytes(made.model, made.records), "words.safetensors");
}

void expect_refused(AudioModel& made, const std::string& expected) {
  try {
    reload(made);
    ADD_FAILURE() << "loaded; expected an error with: " << expected;
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
  }
}

}  // namespace

TEST(SavedAudioModel, TheFrontEndRoundTripsAndCsvRowsAreRefused) {
  AudioModel made = audio_model();
  const SavedModel saved = reload(made);
  ASSERT_TRUE(saved.audio);
  EXPECT_EQ(saved.audio->to_json(), made.front.to_json());
  EXPECT_EQ(saved.audio->feature_shape(), saved.model.input_shape());
  try {
    saved.predict_rows(parse_csv("a,b\n1,2\n", "rows.csv"));
    ADD_FAILURE() << "predicted CSV rows with a speech model";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("rows.csv: the model reads WAV files"), std::string::npos) << e.what();
  }
}

TEST(SavedAudioModel, HostileRecordsAreRefused) {
  {
    AudioModel made = audio_model();  // another clip length: 13 frames, not the model's 23
    made.records[kAudioPreprocessingRecord] =
        AudioPreprocessing({.features = "log_mel", .sample_rate = 8000, .clip_samples = 1200, .mel_bins = 8}).to_json();
    expect_refused(made, "makes features of shape (13, 8) but the model's input has shape (23, 8)");
  }
  {
    AudioModel made = audio_model();
    made.records[kAudioPreprocessingRecord] = "{\"features\": ";
    expect_refused(made, "words.safetensors: the audio preprocessing record is not JSON");
  }
  {
    AudioModel made = audio_model();
    auto record = nlohmann::json::parse(made.records[kAudioPreprocessingRecord]);
    record["std"][0] = -1;
    made.records[kAudioPreprocessingRecord] = record.dump();
    expect_refused(made, "'std' holds -1");
  }
}

}  // namespace saved_audio_model_test
