// The spoken-digit study: corpus by engine and voice, the held-out split, waveform
// augmentation, the front end, a Conv1D network, and the scores on what training never heard.
#include "spoken_digit_study.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <random>

namespace citadel::spoken_digits {
namespace {

namespace fs = std::filesystem;

// Clips at the study's rate, each cut or padded to one length, with where they came from.
struct Clips {
  std::vector<std::vector<float>> waves;
  std::vector<int64_t> digits;
  std::vector<std::string> voices;  // espeak-ng: the accent; others: the voice
};

void append(Clips& to, const Clips& from) {
  to.waves.insert(to.waves.end(), from.waves.begin(), from.waves.end());
  to.digits.insert(to.digits.end(), from.digits.begin(), from.digits.end());
  to.voices.insert(to.voices.end(), from.voices.begin(), from.voices.end());
}

// DATA/ENGINE/<digit>/<voice>_....wav through the library's class-folder reader.
Clips load_engine(const StudySettings& s, const std::string& engine, int64_t clip) {
  const AudioDirectory set =
      load_audio_directory(s.data + "/" + engine, {.sampling_rate = s.sample_rate, .output_sequence_length = clip});
  CITADEL_CHECK(set.class_names.size() == 10, IoError, s.data, "/", engine, ": ", set.class_names.size(),
                " digit folders, expected 0 to 9");
  Clips clips;
  for (int64_t r = 0; r < set.y.numel(); ++r) {
    const float* wave = set.x.data() + r * clip;
    clips.waves.emplace_back(wave, wave + clip);
    clips.digits.push_back(std::stoll(set.class_names[size_t(set.y[r])]));
    const std::string stem = fs::path(set.paths[size_t(r)]).stem().string();
    clips.voices.push_back(stem.substr(0, stem.find('_')));
  }
  return clips;
}

Tensor waves_tensor(const std::vector<std::vector<float>>& waves) {
  const auto length = int64_t(waves.front().size());
  Tensor x(Shape{int64_t(waves.size()), length});
  for (size_t r = 0; r < waves.size(); ++r) std::copy(waves[r].begin(), waves[r].end(), x.data() + int64_t(r) * length);
  return x;
}

Tensor digit_tensor(const std::vector<int64_t>& digits) {
  Tensor y(Shape{int64_t(digits.size())});
  for (size_t r = 0; r < digits.size(); ++r) y[int64_t(r)] = float(digits[r]);
  return y;
}

Sequential digit_network(const StudySettings& s, const Shape& input) {
  Sequential model;
  model.add(Conv1D(s.filters, 5, {.input_shape = input.dims(), .padding = "same", .activation = "relu"}));
  model.add(MaxPooling1D(2));
  model.add(Conv1D(s.filters, 5, {.padding = "same", .activation = "relu"}));
  model.add(MaxPooling1D(2));
  model.add(Conv1D(2 * s.filters, 3, {.padding = "same", .activation = "relu"}));
  model.add(GlobalMaxPooling1D());
  model.add(Dropout(s.dropout));
  model.add(Dense(10, {.activation = "softmax"}));
  return model;
}

}  // namespace

StudyResult run_study(const StudySettings& s) {
  for (const char* engine : {"espeak-ng", "flite", "festival", "asterisk"})
    CITADEL_CHECK(fs::is_directory(s.data + "/" + engine), IoError, s.data, "/", engine,
                  ": absent; run scripts/setup_speech_data");
  const auto clip = std::llround(s.clip_seconds * double(s.sample_rate));
  StudyResult result;
  Clips train, unseen_accents;
  for (const std::string engine : {"espeak-ng", "flite", "festival"}) {
    if (engine == s.held_out_engine || std::count(s.unused_engines.begin(), s.unused_engines.end(), engine)) continue;
    result.training_engines.push_back(engine);
    Clips clips = load_engine(s, engine, clip);
    for (size_t i = 0; i < clips.waves.size(); ++i) {
      const bool held = engine == "espeak-ng" &&
                        std::count(s.held_out_accents.begin(), s.held_out_accents.end(), clips.voices[i]) > 0;
      Clips& to = held ? unseen_accents : train;
      to.waves.push_back(std::move(clips.waves[i]));
      to.digits.push_back(clips.digits[i]);
      to.voices.push_back(clips.voices[i]);
    }
  }
  const Clips unseen_engine = load_engine(s, s.held_out_engine, clip), asterisk = load_engine(s, "asterisk", clip);

  std::mt19937_64 random(s.seed);
  if (s.max_train_clips > 0 && int64_t(train.waves.size()) > s.max_train_clips) {  // a seeded subset
    std::vector<size_t> order(train.waves.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), random);
    Clips kept;
    for (size_t k = 0; k < size_t(s.max_train_clips); ++k) {
      kept.waves.push_back(train.waves[order[k]]);
      kept.digits.push_back(train.digits[order[k]]);
      kept.voices.push_back(train.voices[order[k]]);
    }
    train = std::move(kept);
  }
  result.training_clips = int64_t(train.waves.size());
  Clips augmented_train = train;
  if (s.augmented_copies > 0) {  // the library's augmentation: speed, shift, gain, noise
    const Tensor copies =
        augment_waveforms(waves_tensor(train.waves), s.sample_rate,
                          {.copies = s.augmented_copies, .noisy_share = s.noisy_share, .seed = s.seed});
    const int64_t length = copies.shape(1);
    for (int64_t r = 0; r < copies.shape(0); ++r) {
      augmented_train.waves.emplace_back(copies.data() + r * length, copies.data() + (r + 1) * length);
      augmented_train.digits.push_back(train.digits[size_t(r) % train.waves.size()]);
      augmented_train.voices.push_back(train.voices[size_t(r) % train.waves.size()]);
    }
  }

  AudioPreprocessing front_end({.features = s.features,
                                .sample_rate = s.sample_rate,
                                .clip_samples = clip,
                                .mel_bins = s.mel_bins,
                                .mfcc_count = s.mfcc_count});
  const Tensor train_waves = waves_tensor(augmented_train.waves);
  front_end.adapt(train_waves);
  const Tensor x_train = front_end.features(train_waves), y_train = digit_tensor(augmented_train.digits);

  const auto started = std::chrono::steady_clock::now();
  Sequential model = digit_network(s, front_end.feature_shape());
  model.compile({.loss = "sparse_categorical_crossentropy",
                 .optimizer = Adam{.learning_rate = s.learning_rate},
                 .metrics = {"accuracy"}});
  // No validation split: a training engine's clips saturate (they prove nothing), and the
  // unseen engine's must not choose the epoch. A fixed budget with cosine decay instead.
  result.history = model.fit(x_train, y_train,
                             {.epochs = s.epochs,
                              .batch_size = s.batch_size,
                              .verbose = s.verbose,
                              .seed = s.seed,
                              .callbacks = {LearningRateScheduler(cosine_decay(s.learning_rate, s.epochs))}});
  result.train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  result.parameters = model.count_params();

  const std::vector<std::string> names = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
  auto score = [&](const std::string& name, const Clips& clips, ClassificationReport* report = nullptr) {
    if (clips.waves.empty()) return;
    const Tensor p = model.predict(front_end.features(waves_tensor(clips.waves)), {.batch_size = 256});
    const ClassificationReport r = classification_report(p, digit_tensor(clips.digits), names);
    result.scores.push_back({name, int64_t(clips.waves.size()), r.accuracy});
    if (!report) return;
    *report = r;
    std::vector<std::string> voices = clips.voices;
    std::sort(voices.begin(), voices.end());
    voices.erase(std::unique(voices.begin(), voices.end()), voices.end());
    for (const std::string& voice : voices) {
      int64_t count = 0, right = 0;
      for (size_t i = 0; i < clips.voices.size(); ++i) {
        if (clips.voices[i] != voice) continue;
        int64_t best = 0;
        for (int64_t c = 1; c < 10; ++c) best = p.at(int64_t(i), c) > p.at(int64_t(i), best) ? c : best;
        ++count;
        right += best == clips.digits[i];
      }
      result.unseen_voices.push_back({voice, count, double(right) / double(count)});
    }
  };
  score("unseen engine (" + s.held_out_engine + "), clean", unseen_engine, &result.unseen_engine);
  for (const double snr : {20.0, 10.0, 5.0}) {
    Clips noisy = unseen_engine;
    std::mt19937_64 noise_random(s.seed + uint64_t(snr));
    for (auto& wave : noisy.waves) add_white_noise(wave, snr, noise_random);
    char name[96];
    std::snprintf(name, sizeof name, "unseen engine (%s), white noise %.0f dB SNR", s.held_out_engine.c_str(), snr);
    score(name, noisy);
  }
  score("unseen espeak-ng accents", unseen_accents);
  score("Asterisk's recorded digits (Allison)", asterisk);
  result.report_json = report::run_report_json(result.history, &result.unseen_engine, &model);
  return result;
}

}  // namespace citadel::spoken_digits
