// A small served speech model, loaded through the model-file path as `citadel serve` loads
// one: clips of 0.1 s at 8 kHz (eight 25 ms frames), 4 MFCCs of 8 mel bands standardized
// on two tones, mean-pooled, softmax over two classes. The audio serving tests and the
// audio-request fuzz target predict with it, so each request costs a few small FFTs.
#pragma once

#include <cmath>
#include <string>

#include "citadel/core/random.hpp"
#include "citadel/data/audio_preprocessing.hpp"
#include "citadel/io/model_file.hpp"
#include "citadel/io/saved_model.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/layers/global_pooling1d.hpp"
#include "citadel/serving/inference_protocol.hpp"

inline citadel::serving::ServedModel speech_served_model(const std::string& name, const std::string& policy) {
  using namespace citadel;
  AudioPreprocessing front({.features = "mfcc", .sample_rate = 8000, .clip_samples = 800, .mel_bins = 8,
                            .mfcc_count = 4});
  Tensor tones(Shape{2, 800});
  for (int64_t i = 0; i < 800; ++i) {
    tones[i] = float(0.3 * std::sin(2 * 3.141592653589793 * 300.0 * double(i) / 8000.0));
    tones[800 + i] = float(0.3 * std::sin(2 * 3.141592653589793 * 2500.0 * double(i) / 8000.0));
  }
  front.adapt(tones);
  DataSchema schema;
  schema.label = "class";
  schema.label_type = LabelType::kClasses;
  schema.classes = {"low", "high"};
  random::set_seed(5);
  Sequential model;
  model.add(GlobalAveragePooling1D({.input_shape = front.feature_shape().dims()}));
  model.add(Dense(2, {.activation = "softmax"}));
  model.build(front.feature_shape());
  const Metadata records = saved_model_records(schema, false, "sparse_categorical_crossentropy",
                                               Preprocessor({.scaling = "none"}), "tones/",
                                               {{kAudioPreprocessingRecord, front.to_json()}});
  SavedModel saved = saved_model_from_bytes(model_file_bytes(model, records), name + ".safetensors");
  return {name, name, std::move(saved), serving::OutputPolicy::parse(policy, "test")};
}
