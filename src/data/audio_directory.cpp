// Walks the class folders, then reads, resamples and places each file. The rows' memory is
// checked (files × length against max_total_samples) before the tensor is allocated.
#include "citadel/data/audio_directory.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <filesystem>

#include "citadel/core/error.hpp"

namespace citadel {
namespace {

namespace fs = std::filesystem;

bool is_wav(const fs::path& path) {
  std::string extension = path.extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return char(std::tolower(c)); });
  return extension == ".wav";
}

}  // namespace

AudioDirectory load_audio_directory(const std::string& directory, const AudioDirectoryOptions& options) {
  CITADEL_CHECK(options.sampling_rate >= 1 && options.output_sequence_length >= 0, ValueError,
                "load_audio_directory: sampling_rate must be positive and output_sequence_length not negative, got ",
                options.sampling_rate, " and ", options.output_sequence_length);
  std::error_code error;
  CITADEL_CHECK(fs::is_directory(directory, error), IoError, directory, ": not a folder");
  AudioDirectory set;
  for (const fs::directory_entry& entry : fs::directory_iterator(directory)) {
    if (entry.is_directory() && (options.follow_links || !entry.is_symlink()))
      set.class_names.push_back(entry.path().filename().string());
  }
  std::sort(set.class_names.begin(), set.class_names.end());
  CITADEL_CHECK(!set.class_names.empty(), IoError, directory, ": no class folders (expected ", directory,
                "/CLASS/*.wav)");
  std::vector<int64_t> labels;
  const auto walk_options =
      options.follow_links ? fs::directory_options::follow_directory_symlink : fs::directory_options::none;
  for (size_t c = 0; c < set.class_names.size(); ++c) {
    std::vector<std::string> files;
    for (const fs::directory_entry& entry :
         fs::recursive_directory_iterator(fs::path(directory) / set.class_names[c], walk_options)) {
      if (!entry.is_regular_file() || !is_wav(entry.path())) continue;
      if (!options.follow_links && entry.is_symlink()) continue;
      files.push_back(entry.path().string());
      CITADEL_CHECK(int64_t(set.paths.size() + files.size()) <= options.max_files, IoError, directory,
                    ": more than ", options.max_files, " WAV files");
    }
    std::sort(files.begin(), files.end());
    for (std::string& file : files) {
      set.paths.push_back(std::move(file));
      labels.push_back(int64_t(c));
    }
  }
  CITADEL_CHECK(!set.paths.empty(), IoError, directory, ": no .wav files in its class folders");
  std::vector<std::vector<float>> waves;
  int64_t length = options.output_sequence_length, held = 0;
  for (const std::string& path : set.paths) {
    const Audio audio = load_wav(path, options.limits);
    waves.push_back(options.output_sequence_length > 0
                        ? resample_head(audio.samples, audio.sample_rate, options.sampling_rate, length)
                        : resample(audio.samples, audio.sample_rate, options.sampling_rate));
    held += std::min<int64_t>(int64_t(waves.back().size()), length > 0 ? length : INT64_MAX);
    CITADEL_CHECK(held <= options.max_total_samples, IoError, path, ": the files read so far hold more than ",
                  options.max_total_samples, " samples at ", options.sampling_rate, " Hz");
    if (options.output_sequence_length == 0) length = std::max<int64_t>(length, int64_t(waves.back().size()));
    if (options.output_sequence_length > 0) waves.back().resize(size_t(length), 0.0f);  // keep memory to one row each
  }
  const auto rows = int64_t(waves.size());
  CITADEL_CHECK(length >= 1 && length <= options.max_total_samples / rows, IoError, directory, ": ", rows,
                " files of ", length, " samples exceed the limit of ", options.max_total_samples, " samples");
  set.x = Tensor(Shape{rows, length, 1});
  set.y = Tensor(Shape{rows});
  for (int64_t r = 0; r < rows; ++r) {
    const std::vector<float>& wave = waves[size_t(r)];
    std::copy_n(wave.begin(), std::min<int64_t>(length, int64_t(wave.size())), set.x.data() + r * length);
    set.y[r] = float(labels[size_t(r)]);
  }
  return set;
}

}  // namespace citadel
