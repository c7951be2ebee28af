// --data FOLDER for speech: class folders of WAV files → MFCC or log-mel rows.
#include "audio_data.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "citadel/core/error.hpp"
#include "citadel/data/audio_augmentation.hpp"
#include "citadel/data/audio_directory.hpp"
#include "citadel/data/split.hpp"
#include "terminal_text.hpp"

namespace citadel::cli {
namespace {

namespace fs = std::filesystem;

// --data FOLDER's front end: what the flags ask for, not yet adapted.
AudioPreprocessing front_end(const DataFlags& s) {
  try {
    return AudioPreprocessing({.features = s.audio_features,
                               .sample_rate = s.sample_rate,
                               .clip_samples = std::llround(s.clip_seconds * double(s.sample_rate)),
                               .mel_bins = s.mel_bins,
                               .mfcc_count = s.mfcc_count});
  } catch (const ValueError& e) {
    throw ValueError(std::string("--data ") + s.data + ": " + e.what());
  }
}

// A class folder without a WAV file would be a class the model can never learn.
void check_every_class_has_files(const AudioDirectory& set, const std::string& folder) {
  std::vector<int64_t> counts(set.class_names.size(), 0);
  for (int64_t r = 0; r < set.y.numel(); ++r) ++counts[size_t(set.y[r])];
  for (size_t c = 0; c < counts.size(); ++c)
    CITADEL_CHECK(counts[c] > 0, IoError, (fs::path(folder) / set.class_names[c]).string(),
                  ": a class folder without .wav files");
}

// Rows of several tensors one after another, as (rows, values a row).
Tensor stacked(const std::vector<Tensor>& parts) {
  int64_t rows = 0, width = 0;
  for (const Tensor& part : parts)
    if (part.shape(0) > 0) rows += part.shape(0), width = part.numel() / part.shape(0);
  Tensor out(Shape{rows, std::max<int64_t>(width, 1)});
  int64_t at = 0;
  for (const Tensor& part : parts) {
    std::copy_n(part.data(), part.numel(), out.data() + at);
    at += part.numel();
  }
  return out;
}

}  // namespace

bool is_audio_folder(const std::string& data) {
  std::error_code error;
  return !data.empty() && fs::is_directory(data, error);
}

AudioClips load_audio_clips(const DataFlags& s, const ModelFlags& model) {
  CITADEL_CHECK(s.text.empty() && s.categorical.empty() && s.schema.empty() && s.labels.empty(), ValueError, "--data ",
                s.data, " is a folder of WAV files: ",
                !s.text.empty()          ? "--text"
                : !s.categorical.empty() ? "--categorical"
                : !s.schema.empty()      ? "--schema"
                                         : "--label",
                " is for CSV data (the classes are the folder's subfolders)");
  CITADEL_CHECK(s.scale.empty() || s.scale == "none", ValueError, "--scale ", s.scale, ": --data ", s.data,
                " gives audio features, each coefficient standardized by the front end; leave --scale out");
  std::string loss = model.losses.empty() ? "" : model.losses[0];
  CITADEL_CHECK(model.losses.size() <= 1 && loss.find('=') == std::string::npos && !is_regression_loss(loss),
                ValueError, "--loss ", loss, ": the labels of --data ", s.data,
                " are classes (its subfolders); use a cross-entropy loss");
  const AudioPreprocessing audio = front_end(s);
  AudioDirectory set = load_audio_directory(
      s.data, {.sampling_rate = audio.options().sample_rate, .output_sequence_length = audio.options().clip_samples});
  CITADEL_CHECK(set.class_names.size() >= 2, IoError, s.data, ": one class folder ('", set.class_names[0],
                "'); a classifier needs two or more (", s.data, "/CLASS/*.wav)");
  check_every_class_has_files(set, s.data);

  AudioClips clips;
  PreparedData& data = clips.data;
  data.source = s.data;
  data.schema.label = "class";
  data.schema.label_type = LabelType::kClasses;
  data.schema.classes = set.class_names;
  const int64_t classes = int64_t(set.class_names.size());
  data.loss = !loss.empty() ? loss : classes == 2 ? "binary_crossentropy" : "sparse_categorical_crossentropy";
  data.y_train = Tensor::from(set.y);
  data.y_train.reshape(Shape{set.y.numel(), 1});
  data.x_train = std::move(set.x);
  data.audio = std::make_shared<const AudioPreprocessing>(audio);
  clips.paths = std::move(set.paths);
  return clips;
}

PreparedData load_audio_data(const DataFlags& s, const ModelFlags& model, const TrainingFlags& training,
                             bool hold_out_test) {
  AudioClips clips = load_audio_clips(s, model);
  PreparedData data = std::move(clips.data);
  AudioPreprocessing audio = *data.audio;
  const Tensor waves = std::move(data.x_train), labels = std::move(data.y_train);

  std::vector<int64_t> train(size_t(labels.shape(0))), test;
  for (size_t i = 0; i < train.size(); ++i) train[i] = int64_t(i);
  if (hold_out_test) {
    SplitIndices split = train_test_split(labels, s.test_split, training.seed, true);
    CITADEL_CHECK(!split.train.empty() && !split.test.empty(), ValueError, s.data, ": --test-split ", s.test_split,
                  " of ", labels.shape(0), " files leaves an empty split");
    train = std::move(split.train);
    test = std::move(split.test);
  }
  // The statistics come from the rows fit trains on (with their augmented copies): not the
  // held-out rows, nor the last rows fit validates on (Model::fit's validation_split).
  const double validation = validation_split_for(training, false);
  // fit validates on the last rows of x_train, which with copies appended would hold copies
  // of clips it trains on.
  CITADEL_CHECK(s.audio_augment == 0 || validation == 0, ValueError, "--audio-augment ", s.audio_augment,
                ": fit would validate on copies of the clips it trains on; leave out --validation-split, "
                "--early-stopping and --reduce-lr (the held-out --test-split files are never augmented)");
  size_t fitted = train.size();
  if (validation > 0) fitted = size_t(std::max<double>(1.0, double(train.size()) * (1.0 - validation)));
  const std::vector<int64_t> fit(train.begin(), train.begin() + std::ptrdiff_t(fitted));
  const std::vector<int64_t> validating(train.begin() + std::ptrdiff_t(fitted), train.end());
  std::vector<Tensor> parts = {take_rows(waves, fit)}, part_labels = {take_rows(labels, fit)};
  for (int64_t copy = 0; copy < s.audio_augment; ++copy) part_labels.push_back(part_labels[0]);
  if (s.audio_augment > 0)
    parts.push_back(
        augment_waveforms(parts[0], audio.options().sample_rate, {.copies = s.audio_augment, .seed = training.seed}));
  audio.adapt(stacked(parts));
  if (!validating.empty()) {
    parts.push_back(take_rows(waves, validating));
    part_labels.push_back(take_rows(labels, validating));
  }
  data.x_train = audio.features(stacked(parts));
  data.y_train = stacked(part_labels);
  if (hold_out_test) {
    data.x_test = audio.features(take_rows(waves, test));
    data.y_test = take_rows(labels, test);
  }
  data.audio = std::make_shared<const AudioPreprocessing>(std::move(audio));
  return data;
}

AudioRows labelled_audio_rows(const AudioPreprocessing& audio, const std::vector<std::string>& classes,
                              const std::string& folder) {
  const AudioDirectory set = load_audio_directory(
      folder, {.sampling_rate = audio.options().sample_rate, .output_sequence_length = audio.options().clip_samples});
  std::vector<float> to_model;  // the folder's class index → the model's
  for (const std::string& name : set.class_names) {
    const auto found = std::find(classes.begin(), classes.end(), name);
    std::string known;
    for (const std::string& c : classes) known += (known.empty() ? "'" : ", '") + terminal_safe(c) + "'";
    CITADEL_CHECK(found != classes.end(), ValueError, (fs::path(folder) / name).string(),
                  ": not a class the model knows (", known, ")");
    to_model.push_back(float(found - classes.begin()));
  }
  AudioRows rows{audio.features(set.x), Tensor(Shape{set.y.numel(), 1}), set.paths};
  for (int64_t r = 0; r < set.y.numel(); ++r) rows.y[r] = to_model[size_t(set.y[r])];
  return rows;
}

AudioRows unlabelled_audio_rows(const AudioPreprocessing& audio, const std::string& path) {
  std::vector<std::string> files;
  std::error_code error;
  if (fs::is_directory(path, error)) {
    for (const fs::directory_entry& entry : fs::recursive_directory_iterator(path)) {
      std::string extension = entry.path().extension().string();
      std::transform(extension.begin(), extension.end(), extension.begin(),
                     [](unsigned char c) { return char(std::tolower(c)); });
      if (entry.is_regular_file() && !entry.is_symlink() && extension == ".wav") files.push_back(entry.path().string());
      CITADEL_CHECK(files.size() <= 100'000, IoError, path, ": more than 100000 WAV files");
    }
    std::sort(files.begin(), files.end());
    CITADEL_CHECK(!files.empty(), IoError, path, ": no .wav files below this folder");
  } else {
    files.push_back(path);
  }
  const Shape shape = audio.feature_shape();
  AudioRows rows{Tensor(Shape{int64_t(files.size()), shape[0], shape[1]}), {}, files};
  for (size_t i = 0; i < files.size(); ++i) {
    const Tensor one = audio.file_features(files[i]);
    std::copy_n(one.data(), one.numel(), rows.x.data() + int64_t(i) * one.numel());
  }
  return rows;
}

}  // namespace citadel::cli
